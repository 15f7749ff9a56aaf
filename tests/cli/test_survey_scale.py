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
