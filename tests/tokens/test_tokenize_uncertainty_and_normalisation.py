"""Uncertainty classes, error floors, normalisation recipes and token caps."""

import warnings

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.nddata import InverseVariance, StdDevUncertainty, UnknownUncertainty

from specfm import tokenize
from specfm._compat import make_spectrum
from specfm.exceptions import SpecfmWarning
from specfm.tokens import ContinuumNormalisation, chip_segments, der_snr_noise

from .helpers import apogee_like, line_spectrum


@pytest.mark.parametrize("kind", ["var", "ivar"])
def test_uncertainty_classes_agree(kind):
    ref = tokenize(line_spectrum(uncertainty="std"))
    other = tokenize(line_spectrum(uncertainty=kind))
    assert torch.allclose(ref.error, other.error, rtol=1e-5)
    assert torch.equal(ref.valid, other.valid)


def test_uncertainty_with_its_own_unit_is_converted():
    spec = line_spectrum(unit=u.Unit("erg / (s cm2 AA)"))
    sigma = spec.uncertainty.array * u.Unit("erg / (s cm2 AA)")
    other = make_spectrum(
        flux=spec.flux.to(u.Unit("1e-17 erg / (s cm2 AA)")),
        spectral_axis=spec.spectral_axis,
        uncertainty=StdDevUncertainty(sigma.to(u.Unit("1e-17 erg / (s cm2 AA)"))),
    )
    assert torch.allclose(tokenize(spec).error, tokenize(other).error, rtol=1e-5)


def test_zero_inverse_variance_means_no_information():
    spec = line_spectrum(uncertainty="ivar")
    ivar = spec.uncertainty.array.copy()
    ivar[5:15] = 0.0
    spec = make_spectrum(
        flux=spec.flux, spectral_axis=spec.spectral_axis, uncertainty=InverseVariance(ivar)
    )
    batch = tokenize(spec)
    assert batch.reports[0].n_bad_uncertainty == 10
    assert batch.reports[0].n_valid == 1990


def test_zero_error_is_floored_and_negative_error_is_masked():
    spec = line_spectrum()
    sigma = spec.uncertainty.array.copy()
    sigma[:10] = 0.0
    sigma[10:14] = -1.0
    spec = make_spectrum(
        flux=spec.flux, spectral_axis=spec.spectral_axis, uncertainty=StdDevUncertainty(sigma)
    )
    batch = tokenize(spec)
    report = batch.reports[0]
    assert report.n_floored_uncertainty == 10
    assert report.n_bad_uncertainty == 4
    assert torch.allclose(batch.error[0, :10], torch.tensor(1e-3))
    assert torch.all(batch.error[batch.valid] > 0)


def test_huge_errors_mark_pixels_useless():
    spec = line_spectrum()
    sigma = spec.uncertainty.array.copy()
    sigma[100:120] = 1e13  # what APOGEE writes for bad pixels
    spec = make_spectrum(
        flux=spec.flux, spectral_axis=spec.spectral_axis, uncertainty=StdDevUncertainty(sigma)
    )
    batch = tokenize(spec)
    assert batch.reports[0].n_bad_uncertainty == 20
    assert batch.error.max() < 10


def test_missing_uncertainty_is_estimated_with_der_snr():
    noise = 0.02
    spec = line_spectrum(uncertainty=None, noise=noise, lines=(), n=20000)
    batch = tokenize(spec)
    assert batch.reports[0].uncertainty_source == "estimated"
    err = batch.error[batch.valid]
    assert float(err.median()) == pytest.approx(noise, rel=0.1)


def test_unknown_uncertainty_warns_and_is_estimated():
    spec = line_spectrum()
    spec = make_spectrum(
        flux=spec.flux,
        spectral_axis=spec.spectral_axis,
        uncertainty=UnknownUncertainty(spec.uncertainty.array),
    )
    with pytest.warns(SpecfmWarning, match="cannot be turned into a standard deviation"):
        batch = tokenize(spec)
    assert batch.reports[0].uncertainty_source == "estimated"


def test_der_snr_matches_white_noise():
    rng = np.random.default_rng(3)
    flux = 5 + 0.3 * rng.standard_normal((2, 10000))
    noise = der_snr_noise(flux, np.ones_like(flux, bool))
    assert noise == pytest.approx([0.3, 0.3], rel=0.05)


def test_continuum_normalisation_recovers_true_normalised_flux_on_chips():
    spec, wave, truth, _ = apogee_like()
    batch = tokenize(spec)
    got = batch.value[0][batch.valid[0]].numpy()
    assert batch.reports[0].n_valid == wave.size
    # Pseudo-continuum vs truth: small bias, small scatter, on every chip.
    ratio = got / truth
    for chip in np.array_split(np.arange(wave.size), 3):
        assert abs(np.median(ratio[chip]) - 1) < 0.01
        assert np.std(ratio[chip]) < 0.02


def test_chip_segments_from_gaps_and_masked_runs():
    wave = np.geomspace(15000, 17000, 1000)
    valid = np.ones(1000, bool)
    valid[400:480] = False  # 80 bad pixels: a gap
    valid[700:710] = False  # 10 bad pixels: not a gap
    assert chip_segments(wave, valid, min_gap_pixels=50) == [(0, 400), (480, 1000)]


def test_median_normalisation_sets_median_to_one():
    spec = line_spectrum(unit=u.Unit("W / (m2 nm)"), n_rows=3, seed=9)
    batch = tokenize(spec, normalisation="median")
    for row in range(3):
        assert float(batch.value[row][batch.valid[row]].median()) == pytest.approx(1, abs=1e-3)


def test_pass_through_keeps_values():
    wave = np.linspace(5000, 5100, 50) * u.AA
    flux = np.linspace(0.5, 1.5, 50) * u.dimensionless_unscaled
    batch = tokenize(
        make_spectrum(
            flux=flux, spectral_axis=wave, uncertainty=StdDevUncertainty(np.full(50, 0.1))
        ),
        normalisation="none",
    )
    assert np.allclose(batch.value[0].numpy(), flux.value, atol=1e-7)
    assert np.allclose(batch.error[0].numpy(), 0.1)


def test_continuum_options_travel_in_config():
    recipe = ContinuumNormalisation(width_kms=400)
    batch = tokenize(line_spectrum(), normalisation=recipe.to_dict())
    assert batch.reports[0].normalisation == "continuum"


def test_subsample_cap_is_reproducible_and_independent_of_batch():
    spec = line_spectrum(n_rows=3)
    a = tokenize(spec, max_tokens=300, seed=5)
    b = tokenize(spec, max_tokens=300, seed=5)
    c = tokenize(spec, max_tokens=300, seed=6)
    assert torch.equal(a.wavelength, b.wavelength)
    assert not torch.equal(a.wavelength, c.wavelength)
    assert a.n_tokens == 300 and int(a.valid.sum()) == 900
    # The first spectrum alone gets the same tokens as inside the batch.
    first = tokenize([spec[0]], max_tokens=300, seed=5)
    assert torch.equal(first.wavelength[0], a.wavelength[0])


def test_chunk_cap_uses_every_pixel_once():
    batch = tokenize(line_spectrum(n=2000), max_tokens=512, cap_mode="chunk", seed=1)
    assert batch.n_rows == 4
    assert batch.spectrum_index.tolist() == [0, 0, 0, 0]
    assert batch.reports[0].rows == (0, 1, 2, 3)
    waves = batch.wavelength[batch.valid].numpy()
    assert waves.size == 2000 and np.unique(waves).size == 2000


def test_no_warnings_on_clean_input():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tokenize(line_spectrum())


def test_noise_free_spectrum_is_normalised_everywhere():
    spec = line_spectrum(noise=0.0, uncertainty=None, n=8000)
    batch = tokenize(spec)
    assert batch.reports[0].n_valid == 8000
    values = batch.value[0].numpy()
    assert np.median(values) == pytest.approx(1.0, abs=1e-3)
    assert values.min() == pytest.approx(0.6, abs=0.02)


def test_auto_normalisation_picks_by_sampling():
    xp = make_spectrum(
        flux=np.linspace(1, 3, 343) * u.Unit("W / (m2 nm)"),
        spectral_axis=np.arange(3360.0, 10201.0, 20.0) * u.AA,
        uncertainty=StdDevUncertainty(np.full(343, 0.01)),
    )
    spec, _, truth, _ = apogee_like()
    batch = tokenize([xp, spec], normalisation="auto")
    assert [r.normalisation for r in batch.reports] == ["median", "continuum"]
    assert float(batch.value[0][batch.valid[0]].median()) == pytest.approx(1.0, abs=1e-3)
    got = batch.value[1][batch.valid[1]].numpy()
    assert abs(np.median(got / truth) - 1) < 0.01


@pytest.mark.parametrize("width", [7, 8, 343, 2860])
def test_row_median_of_a_batch_is_numpys_nanmedian(width):
    # the continuum and median recipes take one sort of the batch for numpy's per-row loop;
    # the numbers must be numpy's own, for odd and even counts of good pixels, infinities
    # and a row with no good pixel
    from specfm.tokens.normalisation import _row_nanmedian

    rng = np.random.default_rng(width)
    values = rng.normal(1.0, 0.1, size=(9, width))
    values[rng.random(values.shape) < 0.3] = np.nan
    values[1, :] = np.nan
    values[2, : width // 2] = np.inf
    values[3, -1:] = -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy warns on the all-NaN row
        expected = np.nanmedian(values, axis=1, keepdims=True)
    np.testing.assert_array_equal(_row_nanmedian(values), expected)
