"""Survey scale: a 2-D batch of many XP-size spectra is tokenised batch by batch.

Memory must be bounded by the batch size, not the input: each tokenizer call sees at most
``batch_size`` spectra, and allocates far less than the input holds (specutils' own slicing
of a 2-D spectrum copied the whole input for every batch).
"""

import tracemalloc

import astropy.units as u
import numpy as np
from astropy.nddata import StdDevUncertainty

import specfm.inference.model as model_module
from specfm._compat import make_spectrum
from specfm.inference import load
from specfm.inference.batching import split_pieces
from specfm.io import GAIA_XP_SAMPLING


def _xp_batch(n):
    rng = np.random.default_rng(0)
    flux = (1.0 + 0.1 * rng.random((n, GAIA_XP_SAMPLING.size))).astype(np.float32)
    return make_spectrum(flux=flux * u.one, spectral_axis=GAIA_XP_SAMPLING,
                         uncertainty=StdDevUncertainty(np.full(flux.shape, 0.01, np.float32)))


def test_many_spectra_are_tokenised_batch_by_batch(tiny_model, monkeypatch):
    n, batch_size = 10_000, 256
    spectra = _xp_batch(n)
    input_bytes = spectra.flux.nbytes + spectra.uncertainty.array.nbytes
    calls = []
    real = model_module.tokenize_batch

    def spy(config, batch, *args, **kwargs):
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        tokens = real(config, batch, *args, **kwargs)
        calls.append((sum(p.n_spectra for p in batch), tracemalloc.get_traced_memory()[1]
                      - before))
        return tokens

    monkeypatch.setattr(model_module, "tokenize_batch", spy)
    tracemalloc.start()
    try:
        table = load(tiny_model).predict(spectra, batch_size=batch_size, progress=False)
    finally:
        tracemalloc.stop()
    sizes = [size for size, _ in calls]
    assert len(table) == n and sum(sizes) == n
    assert max(sizes) <= batch_size and len(calls) == -(-n // batch_size)
    peak = max(allocated for _, allocated in calls)
    assert peak < 0.5 * input_bytes, (peak, input_bytes)  # a copy of the input: > 1


def test_batches_of_a_2d_spectrum_are_views(tiny_model):
    from specfm.inference.batching import batch_spectra, make_batches

    spectra = _xp_batch(10)
    batches = list(make_batches(split_pieces(spectra), 4))
    part = batch_spectra(batches[1])
    assert part.flux.shape == (4, GAIA_XP_SAMPLING.size)
    assert np.shares_memory(part.flux.value, spectra.flux.value)
    assert np.array_equal(part.flux.value, spectra.flux.value[4:8])
    assert np.array_equal(part.uncertainty.array, spectra.uncertainty.array[4:8])


def test_a_gaia_xp_fits_table_is_read_and_predicted_in_slices(tiny_model, tmp_path,
                                                               monkeypatch):
    """A table of many XP spectra is read ``rows_per_read`` at a time, with the same rows.

    The colours of the inputs table are matched by file and index (in reverse order), so
    a slice that forgot where it starts in the file would get another star's colour.
    """
    import astropy.units as u
    from astropy.table import QTable

    from specfm.inference import one_file, predict_files

    from ..io.xp_files import write_xp_fits

    path = write_xp_fits(tmp_path / "xp.fits", n=25)
    colours = QTable({"file": ["xp.fits"] * 25, "index": np.arange(25)[::-1],
                      "bp_rp": np.linspace(0.5, 2.5, 25)[::-1] * u.mag})
    sizes, real = [], one_file.iter_spectra

    def spy(*args, **kwargs):
        for piece in real(*args, **kwargs):
            sizes.append((piece.meta["first_index"], len(piece.flux)))
            yield piece

    whole = predict_files([path], model=tiny_model, inputs=colours, rows_per_read=1000)
    plain = predict_files([path], model=tiny_model, rows_per_read=1000)
    assert not np.allclose(whole["teff"].value, plain["teff"].value)  # the colours count
    monkeypatch.setattr(one_file, "iter_spectra", spy)
    sliced = predict_files([path], model=tiny_model, inputs=colours, rows_per_read=7)
    assert sizes == [(0, 7), (7, 7), (14, 7), (21, 4)]
    assert list(sliced["index"]) == list(range(25))
    assert list(sliced["source_id"]) == list(whole["source_id"])
    for name in ("teff", "teff_err", "logg", "logg_err"):
        assert np.allclose(sliced[name].value, whole[name].value, rtol=1e-6), name


def _sliced_table(tmp_path, n=25):
    from ..io.xp_files import write_xp_fits

    return write_xp_fits(tmp_path / "xp.fits", n=n)


def _small_table(tmp_path):
    """A table of 1 spectrum (one piece), with the same columns as `_sliced_table`'s."""
    from ..io.xp_files import write_xp_fits

    return write_xp_fits(tmp_path / "a_small.fits", n=1, seed=3)


def test_a_table_read_in_pieces_is_appended_piece_by_piece(tiny_model, tmp_path,
                                                           monkeypatch):
    """With an ECSV output, the pieces of one big table go to disk as they are predicted:
    the run never holds the table's rows, and the output is that of reading it whole."""
    from specfm.inference import files as files_module
    from specfm.inference import one_file, predict_files
    from specfm.inference.output import WRITE_MARK, read_table

    path = _sliced_table(tmp_path)
    before = _small_table(tmp_path)  # a file before the table
    reference = predict_files([before, path], model=tiny_model, rows_per_read=1000)
    appended, real_append = [], files_module.append_table

    def spy(table, output, **kwargs):
        appended.append((len(table), kwargs.get("mark", True)))
        return real_append(table, output, **kwargs)

    monkeypatch.setattr(files_module, "append_table", spy)
    outcomes, real_predict = [], one_file.predict_file

    def keep(*args, **kwargs):
        outcomes.append(real_predict(*args, **kwargs))
        return outcomes[-1]

    monkeypatch.setattr(files_module, "predict_file", keep)
    out = tmp_path / "labels.ecsv"
    table = predict_files([before, path], model=tiny_model, rows_per_read=7, output=out,
                          keep_rows=False)
    assert appended == [(7, False), (7, False), (7, False), (4, False)]
    assert outcomes[1].table is None and outcomes[1].streamed and outcomes[1].rows == 25
    assert table.meta["summary"]["rows"] == 26 and len(table) == 0
    back = read_table(out)
    assert list(back["file"]) == list(reference["file"])
    assert list(back["index"]) == list(reference["index"])
    for name in ("teff", "teff_err", "logg", "logg_err"):
        assert np.allclose(back[name].value, reference[name].value, rtol=1e-6), name
    text = out.read_text()
    # the small file's write, then one mark closing the table's 25 rows, none between pieces
    assert [line for line in text.splitlines() if line.startswith(WRITE_MARK)] == [
        f"{WRITE_MARK}1 rows", f"{WRITE_MARK}25 rows"]
    # kept rows: the same table comes back
    again = predict_files([before, path], model=tiny_model, rows_per_read=7,
                          output=tmp_path / "kept.ecsv")
    assert list(again["index"]) == list(reference["index"])


def test_a_table_that_fails_half_way_leaves_none_of_its_rows(tiny_model, tmp_path,
                                                             monkeypatch):
    from specfm.inference import one_file, predict_files
    from specfm.inference.output import read_table

    path = _sliced_table(tmp_path)
    before = _small_table(tmp_path)
    real = one_file.iter_spectra

    def broken(*args, **kwargs):
        for i, piece in enumerate(real(*args, **kwargs)):
            if i == 2 and str(args[0]).endswith("xp.fits"):
                raise OSError("the disk holding the table went away")
            yield piece

    monkeypatch.setattr(one_file, "iter_spectra", broken)
    out = tmp_path / "labels.ecsv"
    table = predict_files([before, path], model=tiny_model, rows_per_read=7, output=out)
    assert list(table.meta["summary"]["failed"]) == [str(path)]
    assert "went away" in table.meta["summary"]["failed"][str(path)]
    back = read_table(out)
    assert list(back["file"]) == [str(before)]  # the two pieces written were cut off
    # resumed, the table is predicted again, whole
    monkeypatch.setattr(one_file, "iter_spectra", real)
    predict_files([before, path], model=tiny_model, rows_per_read=7, output=out)
    assert list(read_table(out)["index"]) == [0, *range(25)]


def test_a_table_whose_columns_differ_from_the_outputs_is_written_whole(tiny_model,
                                                                         tmp_path):
    """A file without source_id before the table: its pieces cannot be appended under the
    output's header, so the table is held and the output rewritten once, at its end."""
    from specfm.inference import predict_files
    from specfm.inference.output import read_table

    from .conftest import write_toy_fits

    path = _sliced_table(tmp_path)
    before = write_toy_fits(tmp_path / "a_toy.fits", seed=3)
    out = tmp_path / "labels.ecsv"
    predict_files([before, path], model=tiny_model, rows_per_read=7, output=out)
    back = read_table(out)
    assert list(back["index"]) == [0, *range(25)]
    assert back["source_id"].mask[0] and not back["source_id"].mask[1:].any()


def test_ctrl_c_inside_a_table_leaves_none_of_its_rows(tiny_model, tmp_path, monkeypatch):
    import pytest

    import specfm.inference.model as model_module
    from specfm.inference import predict_files
    from specfm.inference.output import read_table

    path = _sliced_table(tmp_path)
    out = tmp_path / "labels.ecsv"
    calls, real = [], model_module.Model.predict

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(model_module.Model, "predict", interrupted)
    with pytest.raises(KeyboardInterrupt):
        predict_files([path], model=tiny_model, rows_per_read=7, output=out)
    assert len(read_table(out)) == 0  # the header alone: a complete write of no rows
    monkeypatch.setattr(model_module.Model, "predict", real)
    predict_files([path], model=tiny_model, rows_per_read=7, output=out)
    assert list(read_table(out)["index"]) == list(range(25))


def test_a_kill_inside_a_table_is_cut_off_on_resume(tiny_model, tmp_path, monkeypatch):
    """As SIGKILL would: the pieces already appended stay, with no mark after them; the
    resume cuts them off and predicts the table again, with no row lost or doubled."""
    import pytest

    import specfm.inference.model as model_module
    from specfm.inference import files as files_module
    from specfm.inference import predict_files
    from specfm.inference.output import read_table

    path = _sliced_table(tmp_path)
    before = _small_table(tmp_path)
    out = tmp_path / "labels.ecsv"
    calls, real = [], model_module.Model.predict

    def killed(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 4:  # the small file, then the table's third piece
            raise KeyboardInterrupt
        return real(self, *args, **kwargs)

    monkeypatch.setattr(model_module.Model, "predict", killed)
    monkeypatch.setattr(files_module._AppendSink, "abandon", lambda self: None)
    with pytest.raises(KeyboardInterrupt):
        predict_files([before, path], model=tiny_model, rows_per_read=7, output=out)
    assert len(read_table(out)) == 1 + 14  # two pieces on disk, not closed by a mark
    monkeypatch.setattr(model_module.Model, "predict", real)
    again = predict_files([before, path], model=tiny_model, rows_per_read=7, output=out)
    assert again.meta["summary"]["skipped"] == 1
    back = read_table(out)
    assert list(back["file"]) == [str(before)] + [str(path)] * 25
    assert list(back["index"]) == [0, *range(25)]


def test_freed_memory_is_released_after_every_piece(tiny_model, tmp_path, monkeypatch):
    """Each piece of a table read in pieces is followed by a chance to give freed memory
    back (glibc otherwise keeps it, and a survey run's memory grows with the spectra read)."""
    from specfm.inference import one_file, predict_files

    calls = []
    monkeypatch.setattr(one_file, "release_now_and_then", lambda: calls.append(1))
    table = predict_files([_sliced_table(tmp_path)], model=tiny_model, rows_per_read=7,
                          output=tmp_path / "labels.ecsv", keep_rows=False)
    assert table.meta["summary"]["rows"] == 25
    assert len(calls) == 4  # pieces of 7, 7, 7 and 4 spectra
