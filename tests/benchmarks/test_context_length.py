"""``benchmarks/context_length.py``: labels read from a random part of each spectrum."""

import astropy.units as u
import numpy as np
import pytest
from astropy.nddata import StdDevUncertainty

from specfm._compat import make_spectrum
from specfm.inference import Model
from specfm.tokens import Tokenizer, TokenizerConfig

from ..conftest import benchmark_modules
from ..model.toy import tiny_network, toy_spectra


@pytest.fixture(scope="module")
def model():
    tok = TokenizerConfig(normalisation="median").to_dict()
    return Model(tiny_network(seed=4, d_model=16, n_frequencies=8, tokenizer=tok), name="tiny")


def _spectra(n=5, n_pix=40):
    wave, flux, *_ = toy_spectra(n, n_pix=n_pix, seed=3)
    return make_spectrum(flux=flux * u.dimensionless_unscaled, spectral_axis=wave * u.AA,
                         uncertainty=StdDevUncertainty(np.full(flux.shape, 0.01)))


def test_every_pixel_gives_the_labels_of_predict(model):
    spectra = _spectra()
    with benchmark_modules("context_length") as (context,):
        got = context.predict_from_pixels(model, spectra, ["teff", "logg"], None)
    table = model.predict(spectra, labels=["teff", "logg"], progress=False, max_tokens=None)
    np.testing.assert_allclose(got["teff"], table["teff"].to_value(u.K), rtol=1e-6)
    np.testing.assert_allclose(got["logg"], table["logg"].value, rtol=1e-6, atol=1e-9)


def test_a_part_is_read_from_that_many_pixels_of_the_whole_normalisation(model):
    spectra = _spectra()
    config = model.inference_config(max_tokens=None)
    whole = Tokenizer(config)(spectra)
    with benchmark_modules("context_length") as (context,):
        part = context.predict_from_pixels(model, spectra, ["teff"], 10, seed=1)
        again = context.predict_from_pixels(model, spectra, ["teff"], 10, seed=1)
        other = context.predict_from_pixels(model, spectra, ["teff"], 10, seed=2)
    np.testing.assert_array_equal(part["teff"], again["teff"])
    assert not np.allclose(part["teff"], other["teff"])
    import dataclasses
    sub = Tokenizer(dataclasses.replace(config, max_tokens=10, cap_mode="subsample",
                                        seed=1))(spectra)
    assert sub.n_rows == 5 and int(sub.valid.sum(1).max()) == 10
    # the pixels read carry the values of the whole spectrum's normalisation
    for r in range(5):
        keep = sub.valid[r]
        idx = np.searchsorted(whole.wavelength[r].numpy(), sub.wavelength[r][keep].numpy())
        np.testing.assert_allclose(sub.value[r][keep].numpy(), whole.value[r].numpy()[idx])
