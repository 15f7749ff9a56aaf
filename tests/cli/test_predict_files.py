"""predict_files: many files into one table, resumable, atomic, in three output formats."""

import os

import astropy.units as u
import numpy as np
import pytest

import specfm
from specfm import exceptions
from specfm._compat import SpectrumClass
from specfm.exceptions import OutputConflictError, SpecfmInputError
from specfm.inference import files as files_module
from specfm.inference import load, predict_files
from specfm.inference.output import read_table, write_table_atomic
from specfm.inference.reading import expand_paths

from .conftest import save_tiny_model, write_toy_fits

LABEL_COLUMNS = ["teff", "teff_err", "logg", "logg_err"]


def _leftovers(folder):
    return [p for p in os.listdir(folder) if p.endswith(".part")]


def test_predict_files_is_exported():
    assert specfm.predict_files is predict_files
    assert "predict_files" in specfm.__all__


def test_one_row_per_spectrum_with_file_and_index(tiny_model, fits_files, xp_files):
    table = predict_files([*fits_files, *xp_files], model=tiny_model)
    assert len(table) == 5 + 6
    assert table.colnames[:3] == ["file", "index", "source_id"]
    assert table.colnames[3:] == [*LABEL_COLUMNS, "n_tokens", "flag"]
    assert list(table["file"][:5]) == [os.path.abspath(p) for p in fits_files]
    assert list(table["index"]) == [0] * 5 + [0, 1, 2] * 2
    assert list(table["source_id"][5:]) == [0, 1, 2, 100, 101, 102]
    assert table["source_id"].mask[:5].all()
    assert table["teff"].unit == u.K
    assert table.meta["model_sha256"] == load(tiny_model).sha256
    assert table.meta["summary"] == {"done": 7, "skipped": 0, "failed": {}, "rows": 11}


def test_rows_match_model_predict(tiny_model, xp_files):
    model = load(tiny_model)
    table = predict_files(xp_files[1], model=model, format="Gaia XP sampled")
    direct = model.predict(SpectrumClass.read(xp_files[1], format="Gaia XP sampled"))
    assert np.allclose(table["teff"].unmasked.value, direct["teff"].unmasked.value, rtol=1e-6)


def test_bad_files_are_skipped_and_reported(tiny_model, fits_files, tmp_path):
    bad = tmp_path / "broken.fits"
    bad.write_text("not a FITS file")
    table = predict_files([fits_files[0], bad, tmp_path / "nothing*.fits", fits_files[1]],
                          model=tiny_model)
    assert len(table) == 2
    failed = table.meta["summary"]["failed"]
    assert set(failed) == {str(bad), str(tmp_path / "nothing*.fits")}
    assert failed[str(tmp_path / "nothing*.fits")] == "no file matches this pattern"
    assert failed[str(bad)]  # the reason from specutils


def test_expand_paths_sorts_globs_and_drops_duplicates(fits_files, tmp_path):
    folder = fits_files[0].parent
    files, unmatched = expand_paths([str(folder / "toy*.fits"), fits_files[0], folder,
                                     tmp_path / "missing.fits"])
    assert files == [os.path.abspath(p) for p in sorted(fits_files)]
    assert unmatched[str(folder)].startswith("is a folder")
    assert unmatched[str(tmp_path / "missing.fits")] == "no such file"


@pytest.mark.parametrize("suffix", [".ecsv", ".fits", ".parquet"])
def test_output_round_trips(tiny_model, fits_files, tmp_path, suffix):
    empty = write_toy_fits(tmp_path / "empty.fits", seed=9)
    from astropy.io import fits

    with fits.open(empty, mode="update") as hdul:  # no usable pixel: a masked row
        hdul[1].data["flux"][:] = np.nan
    out = tmp_path / f"labels{suffix}"
    table = predict_files([*fits_files[:2], empty], model=tiny_model, output=out)
    back = read_table(out)
    assert back.colnames == table.colnames
    assert list(back["file"]) == list(table["file"])
    assert back["flag"][2] & 2
    for name in LABEL_COLUMNS:
        assert back[name].unit == table[name].unit
        assert np.array_equal(np.asarray(back[name].mask), [False, False, True])
        assert np.allclose(back[name].unmasked.value[:2], table[name].unmasked.value[:2])
    for key in ("model", "model_sha256", "labels", "method", "tokenizer"):
        assert back.meta[key] == table.meta[key]
    assert "summary" not in back.meta
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", [".ecsv", ".parquet", ".fits"])
def test_rerun_resumes_without_duplicates(tiny_model, fits_files, tmp_path, suffix):
    out = tmp_path / f"labels{suffix}"
    first = predict_files(fits_files[:3], model=tiny_model, output=out)
    again = predict_files(fits_files, model=tiny_model, output=out)
    assert again.meta["summary"]["skipped"] == 3
    assert again.meta["summary"]["done"] == 2
    back = read_table(out)
    assert len(back) == 5 and len(set(back["file"])) == 5
    assert list(back["file"]) == [os.path.abspath(p) for p in fits_files]
    assert np.allclose(back["teff"].unmasked.value[:3], first["teff"].unmasked.value)
    before = os.stat(out).st_mtime_ns
    third = predict_files(fits_files, model=tiny_model, output=out)
    assert third.meta["summary"]["done"] == 0 and len(third) == 5
    assert os.stat(out).st_mtime_ns == before  # nothing new: not rewritten


def test_resume_without_model_uses_the_outputs_model(tiny_model, fits_files, tmp_path,
                                                     monkeypatch):
    out = tmp_path / "labels.ecsv"
    predict_files(fits_files[:2], model=tiny_model, output=out)
    monkeypatch.setenv("SPECFM_MODEL_DIR", str(tiny_model.parent))
    again = predict_files(fits_files, output=out)
    assert again.meta["summary"] == {"done": 3, "skipped": 2, "failed": {}, "rows": 3}


def test_output_of_another_model_is_never_mixed(tiny_model, other_model, fits_files, tmp_path):
    out = tmp_path / "labels.ecsv"
    predict_files(fits_files[:2], model=tiny_model, output=out)
    with pytest.raises(OutputConflictError, match="overwrite"):
        predict_files(fits_files, model=other_model, output=out)
    assert len(read_table(out)) == 2
    with pytest.raises(OutputConflictError, match="labels"):
        predict_files(fits_files, model=tiny_model, output=out, labels=["teff"])
    with pytest.raises(OutputConflictError, match=r"made in float32.*--precision float32"):
        predict_files(fits_files, model=tiny_model, output=out, precision="bfloat16")
    assert len(read_table(out)) == 2
    table = predict_files(fits_files, model=other_model, output=out, overwrite=True)
    assert len(read_table(out)) == 5
    assert read_table(out).meta["model_sha256"] == table.meta["model_sha256"]


def test_unreadable_output_is_not_overwritten(tiny_model, fits_files, tmp_path):
    out = tmp_path / "labels.ecsv"
    out.write_text("something else\n")
    with pytest.raises(OutputConflictError, match="cannot be read"):
        predict_files(fits_files, model=tiny_model, output=out)
    assert out.read_text() == "something else\n"


def test_unknown_output_extension(tiny_model, fits_files, tmp_path):
    with pytest.raises(SpecfmInputError, match=r"\.ecsv, \.fits, \.parquet"):
        predict_files(fits_files, model=tiny_model, output=tmp_path / "labels.txt")


def test_interrupt_leaves_a_valid_output_and_resumes(tiny_model, fits_files, tmp_path,
                                                     monkeypatch):
    out = tmp_path / "labels.ecsv"
    real = files_module.predict_file
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(files_module, "predict_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        predict_files(fits_files, model=tiny_model, output=out, flush_every=100)
    done = read_table(out)
    assert list(done["file"]) == [os.path.abspath(p) for p in fits_files[:3]]
    assert _leftovers(tmp_path) == []
    monkeypatch.setattr(files_module, "predict_file", real)
    table = predict_files(fits_files, model=tiny_model, output=out)
    assert table.meta["summary"]["skipped"] == 3 and len(read_table(out)) == 5


@pytest.mark.parametrize("suffix", [".fits", ".ecsv"])
def test_interrupt_while_writing_keeps_the_previous_output(tiny_model, fits_files, tmp_path,
                                                           monkeypatch, suffix):
    """FITS is rewritten (interrupted before the rename), ECSV appended (before the sync)."""
    out = tmp_path / f"labels{suffix}"
    predict_files(fits_files[:2], model=tiny_model, output=out)
    before = out.read_bytes()

    def interrupt(*args):
        raise KeyboardInterrupt

    where = "os.replace" if suffix == ".fits" else "os.fsync"
    monkeypatch.setattr(f"specfm.inference.output.{where}", interrupt)
    with pytest.raises(KeyboardInterrupt):
        predict_files(fits_files, model=tiny_model, output=out)
    assert out.read_bytes() == before
    assert _leftovers(tmp_path) == []


def test_output_is_flushed_every_few_files(tiny_model, fits_files, tmp_path, monkeypatch):
    writes = []

    def counting(table, path, **kwargs):
        writes.append(len(table))
        write_table_atomic(table, path, **kwargs)

    monkeypatch.setattr(files_module, "write_table_atomic", counting)
    monkeypatch.setattr(files_module._WriteClock, "WRITING_SHARE", 1.0)  # writes cost nothing
    predict_files(fits_files, model=tiny_model, output=tmp_path / "labels.fits", flush_every=2)
    assert writes == [2, 4, 5]


def test_an_ecsv_output_grows_by_appends(tiny_model, fits_files, tmp_path, monkeypatch):
    from specfm.inference.output import append_table

    writes, appends = [], []

    def whole(table, path, **kwargs):
        writes.append(len(table))
        write_table_atomic(table, path, **kwargs)

    def appending(table, path):
        appends.append(len(table))
        return append_table(table, path)

    monkeypatch.setattr(files_module, "write_table_atomic", whole)
    monkeypatch.setattr(files_module, "append_table", appending)
    monkeypatch.setattr(files_module._WriteClock, "WRITING_SHARE", 1.0)
    out = tmp_path / "labels.ecsv"
    table = predict_files(fits_files, model=tiny_model, output=out, flush_every=2)
    assert writes == [2] and appends == [2, 1]  # never rewritten, nor written twice
    reference = predict_files(fits_files, model=tiny_model)
    back = read_table(out)
    assert list(back["file"]) == list(reference["file"]) == list(table["file"])
    assert np.allclose(back["teff"].unmasked.value, reference["teff"].unmasked.value)
    assert back.meta["model_sha256"] == reference.meta["model_sha256"]
    assert out.read_text().count("# specfm: complete write of") == 3
    # resumed with more files: appended after the rows already there
    more = [write_toy_fits(tmp_path / "spectra" / f"more{i}.fits", seed=10 + i)
            for i in range(2)]
    writes.clear()
    appends.clear()
    predict_files([*fits_files, *more], model=tiny_model, output=out)
    assert writes == [] and appends == [2]
    assert len(read_table(out)) == 7


def test_keep_rows_false_lets_go_of_the_rows(tiny_model, fits_files, tmp_path):
    out = tmp_path / "labels.ecsv"
    table = predict_files(fits_files, model=tiny_model, output=out, keep_rows=False,
                          flush_every=2)
    assert len(table) == 0 and table.meta["summary"]["rows"] == 5
    assert table.meta["model_sha256"]
    assert len(read_table(out)) == 5


def test_slow_writes_are_spaced_out_to_a_small_share_of_the_run(tiny_model, fits_files,
                                                                tmp_path, monkeypatch):
    """Each write rewrites the whole table: when one takes long, the next waits 19 times as long."""
    import types

    clock, writes, real_predict_file = [0.0], [], files_module.predict_file

    def slow(table, path, **kwargs):  # a write that takes one second of the run's clock
        clock[0] += 1.0
        writes.append(len(table))
        write_table_atomic(table, path, **kwargs)

    def predicting(*args, **kwargs):  # each file takes 10 seconds
        clock[0] += 10.0
        return real_predict_file(*args, **kwargs)

    monkeypatch.setattr(files_module, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(files_module, "write_table_atomic", slow)
    monkeypatch.setattr(files_module, "predict_file", predicting)
    out = tmp_path / "labels.fits"  # rewritten whole at each write (ECSV is appended to)
    predict_files(fits_files, model=tiny_model, output=out, flush_every=1)
    # Written at 10 s (until 11 s), then not before 30 s (19 s later), nor at 40 s; the
    # write at 50 s holds every file, so the end of the run writes nothing more.
    assert writes == [1, 3, 5]
    assert len(read_table(out)) == 5


def test_progress_bar_goes_to_stderr(tiny_model, fits_files, capsys):
    predict_files(fits_files[:2], model=tiny_model, progress=True)
    captured = capsys.readouterr()
    assert "specfm predict" in captured.err and "file" in captured.err
    assert captured.out == ""


def test_reader_warnings_are_logged_once(tiny_model, fits_files, monkeypatch):
    from astropy import log

    from specfm.inference import reading as reading_module

    real = reading_module.read_spectra

    def noisy(path, format=None):
        import warnings

        warnings.warn("odd header keyword", UserWarning)
        return real(path, format)

    monkeypatch.setattr(reading_module, "read_spectra", noisy)
    with log.log_to_list() as messages:
        table = predict_files(fits_files, model=tiny_model)
    assert len(table) == 5
    logged = [m.getMessage() for m in messages if "odd header keyword" in m.getMessage()]
    assert len(logged) == 1 and "UserWarning" in logged[0]


def test_coverage_is_flagged_and_warned_once(fits_files, tmp_path):
    narrow = save_tiny_model(tmp_path / "narrow", coverage=[(15150.0, 15200.0)])
    with pytest.warns(exceptions.CoverageWarning, match="5 files") as record:
        table = predict_files(fits_files, model=narrow)
    assert len(record) == 1
    assert (table["flag"] & 1).all()


def test_formats_registered_for_lists_only_are_read_as_lists(tiny_model, fits_files):
    from astropy.io import registry
    from specutils import SpectrumList

    def two_spectra(path, **kwargs):
        one = SpectrumClass.read(path, format="tabular-fits")
        return SpectrumList([one, one])

    registry.register_reader("specfm-test list", SpectrumList, two_spectra)
    try:
        table = predict_files(fits_files[:2], model=tiny_model, format="specfm-test list")
    finally:
        registry.unregister_reader("specfm-test list", SpectrumList)
    assert list(table["index"]) == [0, 1, 0, 1]
    assert np.allclose(table["teff"].unmasked.value[0], table["teff"].unmasked.value[1])


def test_options_travel_typed_and_unknown_ones_are_refused(tiny_model, fits_files):
    import astropy.units as u

    from specfm.exceptions import SpecfmInputError
    from specfm.inference.one_file import FileOptions

    options = FileOptions(labels=["teff"], radial_velocity=5 * u.km / u.s)
    assert set(options.predict_arguments()) >= {"labels", "radial_velocity", "max_tokens"}
    table = predict_files(fits_files[:1], model=tiny_model, radial_velocity=5 * u.km / u.s)
    assert table["radial_velocity"][0] == 5 * u.km / u.s
    with pytest.raises(SpecfmInputError, match="does not take 'colour_table'"):
        predict_files(fits_files[:1], model=tiny_model, colour_table=None)


def _fail_the_second_write(monkeypatch, error):
    """Let the first table write through, then raise ``error`` as the disk would."""
    from astropy.table import Table

    import specfm.inference.output as output_module

    unified, calls = Table.__dict__["write"], []  # the descriptor behind ``table.write``

    def write(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise error
        return unified.__get__(self, type(self))(*args, **kwargs)

    monkeypatch.setattr(output_module.QTable, "write", write)


def _fill_the_disk_while_appending(monkeypatch, error):
    """Let an append write a few bytes, then raise ``error`` as a full disk would."""
    import specfm.inference.output as output_module

    real = output_module.os.write

    def write(fd, data):
        real(fd, bytes(data[:7]))
        raise error

    monkeypatch.setattr(output_module.os, "write", write)


@pytest.mark.parametrize("suffix", [".fits", ".ecsv"])
def test_a_full_disk_stops_with_a_clear_error_and_keeps_the_earlier_rows(
        tiny_model, fits_files, tmp_path, monkeypatch, suffix):
    import errno

    from specfm.exceptions import OutputWriteError

    out = tmp_path / f"labels{suffix}"
    full = OSError(errno.ENOSPC, "No space left on device")
    if suffix == ".fits":
        _fail_the_second_write(monkeypatch, full)
    else:
        _fill_the_disk_while_appending(monkeypatch, full)
    with pytest.raises(OutputWriteError, match=r"No space left on device.*ENOSPC") as caught:
        predict_files(fits_files, model=tiny_model, output=out, flush_every=2)
    assert "rows it already holds are intact" in str(caught.value)
    assert "run the same command again" in str(caught.value)
    assert len(read_table(out)) == 2  # the first flush, whole and readable
    assert _leftovers(tmp_path) == []
    monkeypatch.undo()
    table = predict_files(fits_files, model=tiny_model, output=out)  # space again: resume
    assert table.meta["summary"]["skipped"] == 2 and len(read_table(out)) == len(fits_files)


@pytest.mark.parametrize("suffix", [".fits", ".ecsv"])
def test_a_read_only_folder_is_a_clear_error(tiny_model, fits_files, tmp_path, monkeypatch,
                                             suffix):
    import errno

    from specfm.cli import main
    from specfm.exceptions import OutputWriteError

    out = tmp_path / f"labels{suffix}"
    predict_files(fits_files[:1], model=tiny_model, output=out)
    before = out.read_bytes()

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    # FITS is rewritten through a temporary file; ECSV is opened to append to
    where = "tempfile.mkstemp" if suffix == ".fits" else "os.open"
    monkeypatch.setattr(f"specfm.inference.output.{where}", read_only)
    with pytest.raises(OutputWriteError, match=r"Read-only file system.*EROFS"):
        predict_files(fits_files, model=tiny_model, output=out)
    assert out.read_bytes() == before
    assert main(["predict", *map(str, fits_files), "--model", str(tiny_model), "-o", str(out),
                 "--no-progress"]) == 1
    assert out.read_bytes() == before


def test_an_append_cut_short_by_a_crash_is_removed_on_resume(tiny_model, fits_files,
                                                             tmp_path, monkeypatch):
    from astropy import log

    monkeypatch.setattr(files_module._WriteClock, "WRITING_SHARE", 1.0)  # a write a file
    out = tmp_path / "labels.ecsv"
    predict_files(fits_files[:3], model=tiny_model, output=out, flush_every=1)
    whole = out.read_bytes()
    marks = [i for i in range(len(whole)) if whole.startswith(b"\n# specfm: complete", i)]
    cut = whole[:marks[-1] - 5]  # the third file's append, killed before its end
    out.write_bytes(cut)
    with log.log_to_list() as messages:
        table = predict_files(fits_files, model=tiny_model, output=out)
    assert any("were removed" in m.getMessage() for m in messages)
    assert table.meta["summary"]["skipped"] == 2 and table.meta["summary"]["done"] == 3
    back = read_table(out)
    assert list(back["file"]) == [os.path.abspath(p) for p in fits_files]  # once each


def test_many_files_without_a_format_log_the_format_to_pass(tiny_model, fits_files,
                                                            monkeypatch):
    from astropy import log

    monkeypatch.setattr(files_module, "FORMAT_HINT_FILES", 5)
    with log.log_to_list() as messages:
        predict_files(fits_files, model=tiny_model)
    hints = [m.getMessage() for m in messages if "no format was given" in m.getMessage()]
    assert len(hints) == 1
    assert "format='tabular-fits'" in hints[0] and "5 files" in hints[0]
    with log.log_to_list() as messages:  # a format given, or fewer files: no hint
        predict_files(fits_files, model=tiny_model, format="tabular-fits")
        predict_files(fits_files[:4], model=tiny_model)
    assert not [m for m in messages if "no format was given" in m.getMessage()]
