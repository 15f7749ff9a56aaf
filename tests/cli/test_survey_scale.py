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
