"""Property-based tests: random valid spectra always give finite, correctly masked tokens."""

import astropy.units as u
import numpy as np
import torch
from astropy.nddata import StdDevUncertainty
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specfm import tokenize
from specfm._compat import make_spectrum

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def spectra(draw):
    n = draw(st.integers(min_value=5, max_value=400))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rng = np.random.default_rng(seed)
    start = draw(st.floats(min_value=1000.0, max_value=40000.0))
    span = draw(st.floats(min_value=0.001, max_value=0.5))
    wave = start * np.exp(np.linspace(0.0, span, n))
    level = draw(st.floats(min_value=1e-3, max_value=1e6))
    flux = level * (1 + 0.2 * rng.standard_normal(n))
    sigma = level * rng.uniform(0.0, 0.5, n)
    mask = rng.random(n) < draw(st.floats(min_value=0.0, max_value=0.5))
    nan = rng.random(n) < draw(st.floats(min_value=0.0, max_value=0.2))
    flux[nan] = np.nan
    mask[0] = False  # at least one usable pixel
    flux[0] = level
    sigma[0] = 0.1 * level
    return make_spectrum(
        flux=flux * u.Unit("erg / (s cm2 AA)"),
        spectral_axis=wave * u.AA,
        uncertainty=StdDevUncertainty(sigma),
        mask=mask,
    )


@SETTINGS
@given(spectra(), st.sampled_from(["continuum", "median", "none"]))
def test_tokens_are_finite_and_masked_pixels_never_valid(spec, recipe):
    batch = tokenize(spec, normalisation=recipe, on_error="mask")
    for tensor in (batch.wavelength, batch.value, batch.error):
        assert torch.isfinite(tensor).all()
    valid = batch.valid[0]
    assert torch.all(batch.error[0][valid] > 0)
    assert torch.all(batch.value[0][~valid] == 0) and torch.all(batch.error[0][~valid] == 0)
    bad = np.asarray(spec.mask) | ~np.isfinite(spec.flux.value)
    bad_waves = torch.from_numpy(spec.spectral_axis.to_value(u.AA)[bad].astype(np.float32))
    assert not torch.isin(batch.wavelength[0][valid], bad_waves).any()
    report = batch.reports[0]
    dropped = (
        report.n_masked
        + report.n_nonfinite
        + report.n_bad_uncertainty
        + report.n_bad_continuum
        + report.n_outside_coverage
    )
    assert report.n_valid + dropped == report.n_pixels
    assert int(valid.sum()) == report.n_valid


@SETTINGS
@given(spectra(), st.sampled_from([u.nm, u.um, u.Hz, u.cm**-1]), st.booleans())
def test_unit_and_order_do_not_change_tokens(spec, unit, reverse):
    axis = spec.spectral_axis.to(unit, equivalencies=u.spectral())
    flux, unc, mask = spec.flux, spec.uncertainty.array, spec.mask
    if reverse:
        axis, flux, unc, mask = axis[::-1], flux[::-1], unc[::-1], mask[::-1]
    other = make_spectrum(
        flux=flux, spectral_axis=axis, uncertainty=StdDevUncertainty(unc), mask=mask
    )
    a = tokenize(spec, normalisation="median", on_error="mask")
    b = tokenize(other, normalisation="median", on_error="mask")
    assert torch.equal(a.valid, b.valid)
    assert torch.allclose(a.wavelength, b.wavelength, rtol=1e-6)
    assert torch.allclose(a.value, b.value, rtol=1e-5, atol=1e-6)
    assert torch.allclose(a.error, b.error, rtol=1e-5, atol=1e-6)
