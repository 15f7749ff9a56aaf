"""``specfm predict`` and ``specfm info`` from the command line."""

import json
import os

import pytest

from specfm.cli import SUBCOMMANDS, main
from specfm.inference import files as files_module
from specfm.inference import load
from specfm.inference.output import read_table


def test_subcommands_are_registered():
    assert {"predict", "info"} <= set(SUBCOMMANDS)


def test_predict_writes_output_and_summary(tiny_model, fits_files, tmp_path, capsys):
    out = tmp_path / "labels.ecsv"
    pattern = str(fits_files[0].parent / "toy*.fits")
    assert main(["predict", pattern, "--model", str(tiny_model), "-o", str(out),
                 "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "5 files done (5 spectra), 0 skipped" in err and "0 failed" in err
    assert len(read_table(out)) == 5
    # The same command again resumes: nothing to do, nothing duplicated.
    assert main(["predict", pattern, "--model", str(tiny_model), "-o", str(out),
                 "--no-progress"]) == 0
    assert "0 files done (0 spectra), 5 skipped" in capsys.readouterr().err
    assert len(read_table(out)) == 5


def test_precision_option_reaches_the_output(tiny_model, fits_files, tmp_path):
    out = tmp_path / "labels.ecsv"
    assert main(["predict", *map(str, fits_files[:2]), "--model", str(tiny_model), "-o",
                 str(out), "--precision", "bfloat16", "--no-progress"]) == 0
    table = read_table(out)
    assert len(table) == 2 and table.meta["precision"] == "bfloat16"


def test_bad_file_is_skipped_and_strict_fails(tiny_model, fits_files, tmp_path, capsys):
    bad = tmp_path / "broken.fits"
    bad.write_text("not a FITS file")
    args = ["predict", str(fits_files[0]), str(bad), "--model", str(tiny_model),
            "--no-progress"]
    assert main([*args, "-o", str(tmp_path / "a.ecsv")]) == 0
    err = capsys.readouterr().err
    assert "1 failed" in err and f"failed: {bad}:" in err
    assert main([*args, "-o", str(tmp_path / "b.ecsv"), "--strict"]) == 1
    assert len(read_table(tmp_path / "b.ecsv")) == 1  # the good file is written anyway


def test_without_output_the_table_is_printed(tiny_model, fits_files, capsys):
    assert main(["predict", str(fits_files[0]), "--model", str(tiny_model),
                 "--labels", "teff", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "teff_err" in out and "logg" not in out and os.path.abspath(fits_files[0]) in out


def test_other_model_needs_overwrite(tiny_model, other_model, fits_files, tmp_path, capsys):
    out = str(tmp_path / "labels.fits")
    base = ["predict", *map(str, fits_files), "-o", out, "--no-progress"]
    assert main([*base, "--model", str(tiny_model)]) == 0
    assert main([*base, "--model", str(other_model)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert main([*base, "--model", str(other_model), "--overwrite"]) == 0
    assert read_table(out).meta["model_sha256"] == load(other_model).sha256


def test_ctrl_c_exits_130_with_valid_output(tiny_model, fits_files, tmp_path, monkeypatch,
                                           capsys):
    real = files_module.predict_file
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(files_module, "predict_file", interrupted)
    out = tmp_path / "labels.parquet"
    status = main(["predict", *map(str, fits_files), "--model", str(tiny_model), "-o",
                   str(out), "--no-progress"])
    assert status == 130
    assert "run the same command again to resume" in capsys.readouterr().err
    assert len(read_table(out)) == 2


def test_unknown_model_is_an_error(fits_files, capsys):
    assert main(["predict", str(fits_files[0]), "--model", "no-such-model"]) == 1
    assert "neither a shipped model" in capsys.readouterr().err


def test_info_describes_a_model(tiny_model, capsys):
    assert main(["info", str(tiny_model)]) == 0
    text = capsys.readouterr().out
    model = load(tiny_model)
    assert text.splitlines()[0] == "tiny-any"
    assert model.sha256 in text
    assert "teff, logg" in text and "teff 3000 .. 7000 K" in text
    assert "any wavelength" in text


def test_info_json(tiny_model, capsys):
    assert main(["info", str(tiny_model), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["labels"] == ["teff", "logg"]
    assert info["sha256"] == load(tiny_model).sha256
    assert info["label_ranges"]["teff"] == [3000.0, 7000.0]


def test_info_lists_models_of_a_registry(tiny_model, capsys):
    assert main(["info", "--registry", str(tiny_model.parent)]) == 0
    assert "tiny-any" in capsys.readouterr().out
    assert main(["info", "--registry", str(tiny_model.parent), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == ["tiny-any"]


def test_info_unknown_model(capsys):
    assert main(["info", "no-such-model"]) == 1
    assert "neither a shipped model" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["predict", "info"])
def test_help_mentions_the_command(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert f"specfm {command}" in capsys.readouterr().out
