"""Every accepted input form, unit and convention gives the right tokens."""

import warnings

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.nddata import StdDevUncertainty
from specutils import SpectrumCollection, SpectrumList

from specfm import TokenKind, tokenize
from specfm._compat import make_spectrum
from specfm.wavelengths import air_to_vacuum

from .helpers import legacy_spectrum1d, line_spectrum


def valid_tokens(batch, row=0):
    keep = batch.valid[row]
    return batch.wavelength[row][keep].numpy(), batch.value[row][keep].numpy()


def test_single_spectrum_gives_one_row_of_sorted_vacuum_tokens():
    spec = line_spectrum()
    batch = tokenize(spec)
    assert batch.n_rows == 1 and batch.n_spectra == 1
    wave, value = valid_tokens(batch)
    assert wave.size == 2000
    assert np.all(np.diff(wave) > 0)
    assert np.allclose(wave[[0, -1]], [15100.0, 17000.0], rtol=1e-6)
    assert bool((batch.kind == TokenKind.FLUX).all())
    assert bool((batch.ident == -1).all())
    assert batch.wavelength.dtype == torch.float32
    # Continuum-normalised: line-free pixels sit near 1, line cores near 1 - depth.
    assert abs(np.median(value) - 1) < 0.01
    core = np.argmin(np.abs(wave - 16000.0))
    assert value[core] == pytest.approx(0.6, abs=0.05)


def test_legacy_spectrum1d_is_accepted_without_warnings():
    modern = line_spectrum()
    legacy = legacy_spectrum1d(
        flux=modern.flux, spectral_axis=modern.spectral_axis, uncertainty=modern.uncertainty
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        batch = tokenize(legacy)
    reference = tokenize(modern)
    assert torch.equal(batch.value, reference.value)
    assert torch.equal(batch.wavelength, reference.wavelength)


def test_2d_batch_matches_individual_spectra():
    batch_spec = line_spectrum(n_rows=3, seed=4)
    batch = tokenize(batch_spec)
    assert batch.n_rows == 3
    assert batch.spectrum_index.tolist() == [0, 1, 2]
    for i in range(3):
        single = make_spectrum(
            flux=batch_spec.flux[i],
            spectral_axis=batch_spec.spectral_axis,
            uncertainty=StdDevUncertainty(batch_spec.uncertainty.array[i]),
        )
        one = tokenize(single)
        assert torch.allclose(one.value[0], batch.value[i])


def test_list_on_different_grids_is_padded():
    a = line_spectrum(n=500, start=15100, stop=15900)
    b = line_spectrum(n=900, start=16000, stop=17000, seed=1)
    for container in ([a, b], SpectrumList([a, b])):
        batch = tokenize(container)
        assert batch.n_rows == 2
        assert batch.n_tokens == 900
        assert batch.valid[0].sum() == 500 and batch.valid[1].sum() == 900
        assert not batch.valid[0, 500:].any()
        assert torch.all(batch.value[0, 500:] == 0)


def test_spectrum_collection_rows_keep_their_own_axes():
    waves = np.stack([np.linspace(5000, 5100, 300), np.linspace(6000, 6100, 300)])
    flux = np.ones((2, 300)) * u.dimensionless_unscaled
    coll = SpectrumCollection(flux=flux, spectral_axis=waves * u.AA)
    batch = tokenize(coll, normalisation="none")
    assert batch.n_rows == 2
    assert batch.wavelength[0, 0] == pytest.approx(5000.0)
    assert batch.wavelength[1, 0] == pytest.approx(6000.0)
    assert batch.reports[0].uncertainty_source == "estimated"


@pytest.mark.parametrize(
    "unit", [u.nm, u.um, u.m, u.Hz, u.GHz, u.cm**-1, u.eV], ids=lambda x: str(x)
)
def test_spectral_unit_does_not_change_tokens(unit):
    ref = line_spectrum(unit=u.dimensionless_unscaled)
    axis = ref.spectral_axis.to(unit, equivalencies=u.spectral())
    other = make_spectrum(flux=ref.flux, spectral_axis=axis, uncertainty=ref.uncertainty)
    a, b = tokenize(ref), tokenize(other)
    assert torch.allclose(a.wavelength, b.wavelength, rtol=1e-6)
    assert torch.allclose(a.value, b.value, rtol=1e-5, atol=1e-6)
    assert torch.allclose(a.error, b.error, rtol=1e-5)


def test_descending_axis_gives_identical_tokens():
    ref = line_spectrum()
    flipped = make_spectrum(
        flux=ref.flux[::-1],
        spectral_axis=ref.spectral_axis[::-1],
        uncertainty=StdDevUncertainty(ref.uncertainty.array[::-1]),
    )
    a, b = tokenize(ref), tokenize(flipped)
    assert torch.equal(a.wavelength, b.wavelength)
    assert torch.allclose(a.value, b.value, atol=1e-6)


def test_flux_density_per_frequency_is_converted():
    wave = np.linspace(4000, 9000, 1000) * u.AA
    flam = np.full(1000, 2.0) * u.Unit("erg / (s cm2 AA)")
    fnu = flam.to(u.Jy, equivalencies=u.spectral_density(wave))
    a = tokenize(make_spectrum(flux=flam, spectral_axis=wave), normalisation="median")
    b = tokenize(make_spectrum(flux=fnu, spectral_axis=wave), normalisation="median")
    assert torch.allclose(a.value, b.value, rtol=1e-5)
    assert a.reports[0].scale == pytest.approx(2.0)
    assert b.reports[0].scale == pytest.approx(2.0, rel=1e-6)


def test_counts_are_accepted():
    spec = make_spectrum(
        flux=np.full(100, 50.0) * u.electron / u.s,
        spectral_axis=np.linspace(5000, 5100, 100) * u.AA,
    )
    batch = tokenize(spec, normalisation="median")
    assert torch.allclose(batch.value[batch.valid], torch.tensor(1.0))


def test_air_wavelengths_are_converted_to_vacuum():
    air_line = 8542.09  # Ca II
    spec = line_spectrum(n=3000, start=8400, stop=8700, lines=(air_line,), width=0.5)
    batch = tokenize(spec, medium="air")
    wave, value = valid_tokens(batch)
    centre = wave[np.argmin(value)]
    assert centre == pytest.approx(float(air_to_vacuum(air_line)), abs=0.15)
    assert centre == pytest.approx(8544.44, abs=0.15)


def test_radial_velocity_moves_lines_to_rest_frame():
    rv = 150.0  # km/s, receding
    observed = 16000.0 * np.sqrt((1 + rv / 299792.458) / (1 - rv / 299792.458))
    spec = line_spectrum(lines=(observed,), n=8000)
    batch = tokenize(spec, radial_velocity=rv * u.km / u.s)
    wave, value = valid_tokens(batch)
    near = np.abs(wave - wave[np.argmin(value)]) < 2.0
    centroid = np.sum(wave[near] * (1 - value[near])) / np.sum(1 - value[near])
    assert centroid == pytest.approx(16000.0, abs=0.05)
    z = observed / 16000.0 - 1
    batch_z = tokenize(spec, redshift=z)
    assert torch.allclose(batch.wavelength, batch_z.wavelength)


def test_per_spectrum_velocities():
    spec = line_spectrum(n_rows=2)
    batch = tokenize(spec, radial_velocity=[0.0, 300.0] * u.km / u.s)
    ratio = batch.wavelength[0, 10] / batch.wavelength[1, 10]
    assert float(ratio) == pytest.approx(1 + 300 / 299792.458, rel=1e-6)


def test_mask_true_means_bad():
    mask = np.zeros(2000, bool)
    mask[100:150] = True
    batch = tokenize(line_spectrum(mask=mask))
    report = batch.reports[0]
    assert report.n_masked == 50
    assert report.n_valid == 1950
    kept = batch.wavelength[0][batch.valid[0]].numpy()
    masked_waves = np.geomspace(15100.0, 17000.0, 2000)[100:150]
    assert not np.isin(kept.astype(np.float32), masked_waves.astype(np.float32)).any()


def test_nan_and_inf_flux_are_masked_and_reported():
    spec = line_spectrum()
    flux = spec.flux.value.copy()
    flux[10] = np.nan
    flux[20] = np.inf
    flux[30] = -np.inf
    spec = make_spectrum(
        flux=flux * spec.flux.unit, spectral_axis=spec.spectral_axis, uncertainty=spec.uncertainty
    )
    batch = tokenize(spec)
    report = batch.reports[0]
    # specutils may already mask NaN itself; either way the three pixels are counted.
    assert report.n_nonfinite + report.n_masked == 3
    assert report.n_valid == 1997
    assert torch.isfinite(batch.value).all() and torch.isfinite(batch.error).all()


def test_pixel_sampling_is_the_median_resolving_power_of_a_grid():
    from specfm.wavelengths import pixel_sampling

    xp = np.arange(3360.0, 10201.0, 20.0)
    assert pixel_sampling(xp) == pytest.approx(np.median(xp[1:] / 20.0))
    assert pixel_sampling(xp[::-1]) == pixel_sampling(xp)  # any order
    assert pixel_sampling(np.geomspace(15100, 17000, 8575)) > 20_000  # APOGEE
    assert pixel_sampling([5000.0]) == np.inf and pixel_sampling([5000.0, 5000.0]) == np.inf
