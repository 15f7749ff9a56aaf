"""``specfm predict`` catches the mistakes a person makes, up front and in plain words."""

import astropy.units as u
import numpy as np
from astropy.table import QTable

from specfm.cli import main
from specfm.inference import predict_files
from specfm.inference.inputs_table import file_inputs, read_inputs_table
from specfm.inference.output import read_table
from specfm.tokens import DEFAULT_VOCABULARY


def test_a_misspelt_format_stops_before_any_file(tiny_model, fits_files, capsys):
    code = main(["predict", str(fits_files[0]), "--format", "APOGEE apstar", "--model",
                 str(tiny_model), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "No specutils reader is called 'APOGEE apstar'" in err
    assert "Did you mean 'APOGEE apStar'" in err
    assert len(err.splitlines()) == 1  # one line, not the readers' lists per file


def test_when_every_file_fails_nothing_is_printed_and_the_exit_is_nonzero(tiny_model, tmp_path,
                                                                           capsys):
    bad = tmp_path / "broken.fits"
    bad.write_text("not a FITS file")
    assert main(["predict", str(bad), "--model", str(tiny_model), "--no-progress"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "no file could be predicted" in err
    assert main(["predict", str(tmp_path / "nothing-*.fits"), "--model", str(tiny_model),
                 "--no-progress"]) == 1


def test_a_truncated_file_is_named_as_such(tiny_model, fits_files, tmp_path):
    data = fits_files[0].read_bytes()
    cut = tmp_path / "cut.fits"
    cut.write_bytes(data[: len(data) // 2 + 100])
    table = predict_files([fits_files[1], cut], model=str(tiny_model), progress=False)
    reason = table.meta["summary"]["failed"][str(cut)]
    assert "truncated or corrupt file" in reason and str(cut) in reason
    assert len(table) == 1


def test_radial_velocity_on_the_command_line(tiny_model, fits_files, tmp_path, capsys):
    out = tmp_path / "labels.ecsv"
    assert main(["predict", str(fits_files[0]), "--model", str(tiny_model), "-o", str(out),
                 "--radial-velocity", "-12.5", "--no-progress"]) == 0
    table = read_table(out)
    assert table["radial_velocity"].unit == u.km / u.s
    assert table["radial_velocity"][0].value == -12.5
    assert table.meta["frame"].startswith("rest frame")


def test_inputs_table_matched_by_file_and_index(tmp_path):
    table = QTable({"file": ["a.fits", "a.fits", "b.fits"], "index": [1, 0, 0],
                    "bp_rp": [1.1, 0.9, 1.5] * u.mag, "ignored": [1, 2, 3]})
    checked = read_inputs_table(table, DEFAULT_VOCABULARY)
    assert checked.colnames == ["file", "index", "bp_rp"]
    a = file_inputs(checked, str(tmp_path / "a.fits"), None, 2)
    assert a["bp_rp"].unmasked.to_value(u.mag).tolist() == [0.9, 1.1]
    c = file_inputs(checked, str(tmp_path / "a.fits"), None, 3)  # a third spectrum: no row
    assert c["bp_rp"].mask.tolist() == [False, False, True]
    assert file_inputs(checked, str(tmp_path / "other.fits"), None, 1) is None


def test_inputs_table_matched_by_source_id(tmp_path):
    class Read:  # what a Gaia XP reader returns, as far as matching goes
        meta = {"source_id": np.array([7, 5])}

    table = read_inputs_table(QTable({"source_id": [5, 6, 7], "g_rp": [0.5, 0.6, 0.7] * u.mag}),
                              DEFAULT_VOCABULARY)
    got = file_inputs(table, str(tmp_path / "xp.csv"), Read(), 2)
    assert got["g_rp"].unmasked.to_value(u.mag).tolist() == [0.7, 0.5]


def test_inputs_table_errors(tmp_path):
    import pytest

    from specfm.exceptions import SpecfmInputError

    with pytest.raises(SpecfmInputError, match=r"source_id column.*or a file"):
        read_inputs_table(QTable({"bp_rp": [1.0]}), DEFAULT_VOCABULARY)
    with pytest.raises(SpecfmInputError, match="No column of the inputs table"):
        read_inputs_table(QTable({"file": ["a"], "colour": [1.0]}), DEFAULT_VOCABULARY)
    with pytest.raises(SpecfmInputError, match="Cannot read the inputs table"):
        read_inputs_table(tmp_path / "missing.ecsv", DEFAULT_VOCABULARY)
    two = read_inputs_table(QTable({"file": ["a.fits", "a.fits"], "bp_rp": [1.0, 2.0]}),
                            DEFAULT_VOCABULARY)
    with pytest.raises(SpecfmInputError, match="add an index column"):
        file_inputs(two, str(tmp_path / "a.fits"), None, 3)


def test_inputs_on_the_command_line_change_the_prediction(tiny_model, fits_files, tmp_path):
    colours = tmp_path / "colours.ecsv"
    QTable({"file": [fits_files[0].name], "bp_rp": [2.5] * u.mag}).write(colours)
    a, b = tmp_path / "a.ecsv", tmp_path / "b.ecsv"
    assert main(["predict", str(fits_files[0]), "--model", str(tiny_model), "-o", str(a),
                 "--no-progress"]) == 0
    assert main(["predict", str(fits_files[0]), "--model", str(tiny_model), "-o", str(b),
                 "--inputs", str(colours), "--no-progress"]) == 0
    assert read_table(a)["teff"][0] != read_table(b)["teff"][0]
