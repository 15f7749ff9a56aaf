"""Physics of rendering: LSF width, flux conservation, S/N, Doppler and air/vacuum."""

import astropy.units as u
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import curve_fit

from specfm._compat import make_spectrum
from specfm.exceptions import SpecfmInputError
from specfm.synth import (
    CannonEmulator,
    GaussianLSF,
    Instrument,
    NoiseModel,
    fit_flux_correction,
    get_instrument,
)
from specfm.synth.labels import ExtrapolationError
from specfm.wavelengths import doppler_factor

CA_VAC = 8544.44
CA_AIR = 8542.09
LABELS = {"teff": [5000.0] * u.K}


def _gauss(x, depth, mu, sigma):
    return 1.0 - depth * np.exp(-0.5 * ((x - mu) / sigma) ** 2)


def fit_line(spec, guess, row=0):
    """Fit a Gaussian absorption line; return (centre, FWHM, depth)."""
    wave = spec.spectral_axis.to_value(u.AA)
    flux = spec.flux.value[row]
    sel = np.abs(wave - guess) < 5.0
    p, _ = curve_fit(_gauss, wave[sel], flux[sel], p0=[0.3, guess, 0.3])
    return p[1], 2.3548 * abs(p[2]), p[0]


def fine_instrument(r, lo=8500.0, hi=8600.0, **kw):
    step = CA_VAC / r / 12.0  # 12 pixels per FWHM
    return Instrument(f"R{r}", np.arange(lo, hi, step) * u.AA, r, **kw)


@pytest.mark.parametrize("resolution", [5000.0, 22500.0])
def test_lsf_fwhm_matches_resolution(ca_emulator, resolution):
    spec = fine_instrument(resolution).render(ca_emulator, LABELS, noise=False)
    centre, fwhm, _ = fit_line(spec, CA_VAC)
    intrinsic = 2.3548 * 0.01
    expected = np.hypot(CA_VAC / resolution, intrinsic)
    assert fwhm == pytest.approx(expected, rel=0.02)
    assert centre == pytest.approx(CA_VAC, abs=0.01)


def test_wavelength_dependent_resolution(make_line_grid):
    emulator = make_line_grid(center=8450.0, extra_lines=(8650.0,))
    lsf = GaussianLSF(([8400.0, 8700.0] * u.AA, [4000.0, 12000.0]))
    inst = Instrument("varR", np.arange(8410.0, 8690.0, 0.05) * u.AA, lsf)
    spec = inst.render(emulator, LABELS, noise=False)
    for line in (8450.0, 8650.0):
        _, fwhm, _ = fit_line(spec, line)
        r = float(lsf.resolution_at(line))
        assert fwhm == pytest.approx(np.hypot(line / r, 0.0235), rel=0.03)


@pytest.mark.parametrize("step", [0.05, 1.7])
def test_convolution_and_resampling_conserve_equivalent_width(ca_emulator, step):
    fine = ca_emulator(LABELS)
    w = fine.spectral_axis.to_value(u.AA)
    ew_true = np.trapezoid(1.0 - fine.flux.value[0], w)
    inst = Instrument("coarse", np.arange(8480.0, 8620.0, step) * u.AA, 3000.0)
    spec = inst.render(ca_emulator, LABELS, noise=False)
    wave = spec.spectral_axis.to_value(u.AA)
    ew = np.sum((1.0 - spec.flux.value[0]) * np.gradient(wave))
    assert ew == pytest.approx(ew_true, rel=0.005)
    far = np.abs(wave - CA_VAC) > 10
    np.testing.assert_allclose(spec.flux.value[0, far], 1.0, atol=1e-5)


def test_fluxed_rendering_conserves_total_flux(fake_cannon):
    emulator = CannonEmulator.from_npz(fake_cannon)
    labels = {"teff": [5000.0] * u.K, "logg": [2.0] * u.dex(u.cm / u.s**2),
              "fe_h": [0.0] * u.dex}
    fine = emulator(labels, fluxed=True)
    w = fine.spectral_axis.to_value(u.AA)
    inst = Instrument("lowres", np.arange(5000.0, 5050.0, 2.5) * u.AA, 2000.0,
                      normalisation="none")
    spec = inst.render(emulator, labels, noise=False)
    assert not spec.mask.any()
    wave = spec.spectral_axis.to_value(u.AA)
    edges = np.r_[wave - 1.25, wave[-1] + 1.25]
    cum = np.concatenate([[0.0], np.cumsum(np.diff(w) * 0.5 * (fine.flux.value[0, 1:]
                                                              + fine.flux.value[0, :-1]))])
    total_fine = np.diff(np.interp(edges[[0, -1]], w, cum))[0]
    total = np.sum(spec.flux.value[0] * 2.5)
    # the LSF moves a little flux across the ends; the spectrum is nearly flat there
    assert total == pytest.approx(total_fine, rel=2e-3)
    assert spec.flux.unit.physical_type != "dimensionless"


@settings(max_examples=15, deadline=None)
@given(snr=st.floats(5.0, 500.0), kind=st.sampled_from(["photon", "constant"]))
def test_noise_has_requested_snr(snr, kind):
    flat = np.ones((1, 20000))
    noise = NoiseModel(kind)
    sigma = noise.sigma(flat, [snr])
    assert np.median(flat / sigma) == pytest.approx(snr, rel=1e-9)
    draws = np.random.default_rng(1).standard_normal(flat.shape) * sigma
    assert np.std(draws) == pytest.approx(1.0 / snr, rel=0.03)


def test_injected_noise_matches_uncertainty(ca_emulator):
    inst = fine_instrument(22500.0, snr=40.0)
    clean = inst.render(ca_emulator, LABELS, noise=False)
    noisy = inst.render(ca_emulator, LABELS, seed=3)
    resid = (noisy.flux.value - clean.flux.value) / noisy.uncertainty.array
    assert np.std(resid) == pytest.approx(1.0, rel=0.05)
    # the reported sigma gives the requested median S/N on the flux as observed
    assert np.median(noisy.flux.value / noisy.uncertainty.array) == pytest.approx(40.0)
    # photon noise: the line core (lower flux) has a smaller sigma than the continuum
    wave = noisy.spectral_axis.to_value(u.AA)
    core = np.argmin(np.abs(wave - CA_VAC))
    assert noisy.uncertainty.array[0, core] < noisy.uncertainty.array[0, 0]


@pytest.mark.parametrize("rv", [-250.0, 0.0, 120.0])
def test_radial_velocity_moves_the_ca_triplet_line(ca_emulator, rv):
    spec = fine_instrument(22500.0).render(ca_emulator, LABELS, noise=False,
                                           radial_velocity=rv * u.km / u.s)
    centre, _, _ = fit_line(spec, CA_VAC * doppler_factor(rv))
    assert centre == pytest.approx(CA_VAC * doppler_factor(rv), abs=0.005)
    assert spec.meta["labels"]["radial_velocity"][0] == rv * u.km / u.s


def test_air_emulator_to_vacuum_and_air_instruments(make_line_grid):
    emulator = make_line_grid(center=CA_AIR, medium="air")
    vac = fine_instrument(22500.0).render(emulator, LABELS, noise=False)
    assert fit_line(vac, CA_VAC)[0] == pytest.approx(CA_VAC, abs=0.01)
    air = fine_instrument(22500.0, medium="air").render(emulator, LABELS, noise=False)
    assert air.meta["medium"] == "air"
    assert fit_line(air, CA_AIR)[0] == pytest.approx(CA_AIR, abs=0.01)


def test_galah_preset_reports_air_wavelengths(make_line_grid):
    line_air = 4861.35  # H-beta in air
    emulator = make_line_grid(center=line_air, medium="air", lo=4700.0, hi=4920.0, step=0.02)
    inst = get_instrument("galah")
    spec = inst.render(emulator, LABELS, noise=False)
    assert spec.meta["medium"] == "air"
    assert fit_line(spec, line_air)[0] == pytest.approx(line_air, abs=0.01)
    # the other three bands are not covered by this emulator: masked
    wave = spec.spectral_axis.to_value(u.AA)
    assert spec.mask[0, wave > 5000].all()
    assert not spec.mask[0, (wave > 4730) & (wave < 4890)].any()


def test_chip_gaps_are_masked(ca_emulator):
    inst = Instrument("chips", np.arange(8500.0, 8600.0, 0.1) * u.AA, 20000.0,
                      chips=[(8500 * u.AA, 8540.05 * u.AA), (8559.95 * u.AA, 8600 * u.AA)])
    spec = inst.render(ca_emulator, LABELS, seed=0)
    wave = spec.spectral_axis.to_value(u.AA)
    gap = (wave > 8540.05) & (wave < 8559.95)
    assert spec.mask[0, gap].all() and not spec.mask[0, ~gap].any()
    assert np.all(spec.flux.value[0, gap] == 0) and np.all(np.isinf(spec.uncertainty.array[0, gap]))


def test_extrapolation_raises_or_flags(ca_emulator):
    inst = fine_instrument(5000.0)
    with pytest.raises(ExtrapolationError, match="teff"):
        inst.render(ca_emulator, {"teff": [7000.0] * u.K})
    spec = inst.render(ca_emulator, {"teff": [5000.0, 7000.0] * u.K}, extrapolate="flag")
    assert list(spec.meta["labels"]["extrapolated"]) == [False, True]


def test_emulator_too_coarse_for_instrument_is_refused(make_line_grid):
    emulator = make_line_grid()
    emulator.native_resolution = 2000.0
    with pytest.raises(SpecfmInputError, match="resolving power"):
        fine_instrument(22500.0).render(emulator, LABELS)


def test_bad_instrument_inputs():
    with pytest.raises(SpecfmInputError, match="increasing"):
        Instrument("x", [3.0, 2.0, 1.0] * u.AA, 1000.0)
    with pytest.raises(SpecfmInputError, match="medium"):
        Instrument("x", [1.0, 2.0] * u.AA, 1000.0, medium="water")
    with pytest.raises(SpecfmInputError):
        GaussianLSF(-5)
    with pytest.raises(SpecfmInputError, match="Unknown instrument"):
        get_instrument("hubble")


def test_from_spectrum_copies_grid_mask_and_noise_shape(ca_emulator):
    wave = np.arange(8600.0, 8500.0, -0.2)  # decreasing, like apVisit
    flux = np.ones((1, wave.size))
    flux[0, :10] = 0.0  # a gap
    sigma = np.linspace(0.01, 0.03, wave.size)[None, :]
    from astropy.nddata import StdDevUncertainty

    real = make_spectrum(flux=flux * u.dimensionless_unscaled, spectral_axis=wave * u.AA,
                         uncertainty=StdDevUncertainty(sigma))
    inst = Instrument.from_spectrum(real, resolution=10000.0, name="mine")
    assert inst.n_pixels == wave.size and inst.normalisation == "continuum"
    np.testing.assert_allclose(inst.wavelength.to_value(u.AA), np.sort(wave))
    assert inst.pixel_mask[-10:].all() and inst.pixel_mask.sum() == 10
    spec = inst.render(ca_emulator, LABELS, snr=100.0, seed=1)
    sig = spec.uncertainty.array[0]
    good = ~spec.mask[0]
    far = good & (np.abs(spec.spectral_axis.to_value(u.AA) - CA_VAC) > 3)
    # noise shape follows the real uncertainty: larger at the red end (reversed order)
    assert sig[far][0] > 2.0 * sig[far][-1]


def test_presets_have_documented_grids():
    apogee = get_instrument("apogee")
    w = apogee.wavelength.to_value(u.AA)
    assert w.size == 8575 and w[0] == pytest.approx(15100.8, abs=0.1)
    assert w[-1] == pytest.approx(16999.9, abs=0.5)
    xp = get_instrument("gaia_xp")
    assert xp.n_pixels == 343 and xp.normalisation == "median"
    assert xp.wavelength[-1] == 10200 * u.AA
    assert get_instrument("galah").medium == "air"
    lsf = get_instrument("boss").lsf
    assert float(lsf.resolution_at(3700.0)) == pytest.approx(1560)
    for name in ("gaia_rvs", "lamost"):
        assert get_instrument(name).n_pixels > 1000


def test_lines_beyond_a_hole_in_the_emulator_grid_stay_in_place(make_line_grid):
    from astropy.table import QTable

    from specfm.synth import GridEmulator

    full = make_line_grid(center=CA_VAC, extra_lines=(8490.0,))
    wave = full.wavelength.to_value(u.AA)
    keep = (wave < 8510.0) | (wave > 8530.0)  # a 20 A hole, as between detectors
    flux = full._flux[:, keep]
    holey = GridEmulator(wave[keep] * u.AA, flux, QTable({"teff": [4000.0, 6000.0] * u.K}),
                         "vacuum")
    spec = fine_instrument(5000.0, lo=8480.0).render(holey, LABELS, noise=False)
    assert fit_line(spec, CA_VAC)[0] == pytest.approx(CA_VAC, abs=0.01)
    assert fit_line(spec, 8490.0)[0] == pytest.approx(8490.0, abs=0.01)
    wave_out = spec.spectral_axis.to_value(u.AA)
    assert spec.mask[0, (wave_out > 8510) & (wave_out < 8530)].all()  # the hole is masked
    assert not spec.mask[0, (wave_out > 8485) & (wave_out < 8503)].any()


@pytest.mark.parametrize("resolution", [50.0, 2000.0, 22500.0])
def test_continuum_stays_flat_on_a_wide_log_uniform_emulator_grid(resolution):
    from astropy.table import QTable

    from specfm.synth import GridEmulator

    wave = np.geomspace(3000.0, 18000.0, 40000)  # the step grows six-fold across the grid
    grid = GridEmulator(wave * u.AA, np.ones((2, wave.size)),
                        QTable({"teff": [4000.0, 5000.0] * u.K}), "vacuum")
    inst = Instrument("wide", np.geomspace(4000.0, 16000.0, 2000) * u.AA, resolution)
    spec = inst.render(grid, LABELS, noise=False)
    assert not spec.mask.any()
    np.testing.assert_allclose(spec.flux.value, 1.0, atol=2e-4)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rv=st.floats(-600.0, 600.0), resolution=st.sampled_from([3000.0, 11500.0, 28000.0]))
def test_doppler_shift_property(ca_emulator, rv, resolution):
    # the fixture is never modified, so sharing it between examples is safe
    expected = CA_VAC * doppler_factor(rv)
    inst = fine_instrument(resolution, lo=8520.0, hi=8575.0)
    spec = inst.render(ca_emulator, LABELS, noise=False, radial_velocity=rv)
    centre, fwhm, _ = fit_line(spec, expected)
    assert centre == pytest.approx(expected, abs=0.002 * CA_VAC / resolution + 1e-3)
    assert fwhm == pytest.approx(np.hypot(CA_VAC / resolution, 0.0235), rel=0.03)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), kind=st.sampled_from(["photon", "constant"]))
def test_noise_model_fit_recovers_a_per_pixel_shape(seed, kind):
    rng = np.random.default_rng(seed)
    n_pix = 60
    true_shape = np.exp(rng.normal(0.0, 0.7, n_pix))
    # smooth positive spectra of different slopes and levels, each at its own S/N
    x = np.linspace(-1, 1, n_pix)
    flux = rng.uniform(0.5, 3.0, (40, 1)) * (1.0 + rng.uniform(-0.6, 0.6, (40, 1)) * x)
    sigma = NoiseModel(kind, relative_sigma=true_shape).sigma(flux, rng.uniform(10, 200, 40))
    fitted = NoiseModel.fit(flux, sigma, kind=kind).relative_sigma
    np.testing.assert_allclose(fitted, true_shape / np.median(true_shape), rtol=1e-6)
    # pixels with no usable flux in some spectra are skipped, not propagated as NaN
    flux[:5, :10] = np.nan
    assert np.all(np.isfinite(NoiseModel.fit(flux, sigma, kind=kind).relative_sigma))


def test_noise_model_fit_refuses_bad_input():
    with pytest.raises(SpecfmInputError, match="same shape"):
        NoiseModel.fit(np.ones((2, 5)), np.ones((2, 4)))
    with pytest.raises(SpecfmInputError, match="noise kind"):
        NoiseModel.fit(np.ones((2, 5)), np.ones((2, 5)), kind="poisson")
    sigma = np.ones((2, 5))
    sigma[:, 3] = np.nan
    with pytest.raises(SpecfmInputError, match="Every pixel"):
        NoiseModel.fit(np.ones((2, 5)), sigma)


def test_gaia_xp_preset_has_the_noise_shape_of_real_xp():
    from specfm.synth.presets import gaia_xp_noise_shape

    shape = gaia_xp_noise_shape()
    xp = get_instrument("gaia_xp")
    assert shape.shape == (xp.n_pixels,) and np.median(shape) == pytest.approx(1.0)
    np.testing.assert_allclose(xp.noise.relative_sigma, shape)
    wave = xp.wavelength.to_value(u.AA)
    blue, middle, red = shape[wave < 3800], shape[(wave > 5500) & (wave < 9000)], shape[-3:]
    # real XP: the ends are far noisier than photon noise alone says
    assert blue.min() > 5 * middle.max() and red.min() > 2 * middle.max()
    # the uncertainties it gives follow that shape at the requested S/N
    flux = np.linspace(0.2, 1.5, xp.n_pixels)[None, :]
    shaped = xp.noise.sigma(flux, [50.0])[0]
    plain_model = get_instrument("gaia_xp", noise=NoiseModel("photon")).noise
    assert plain_model.relative_sigma is None  # photon noise alone is still available
    plain = plain_model.sigma(flux, [50.0])[0]
    assert np.median(flux[0] / shaped) == pytest.approx(50.0)
    ratio = shaped / plain
    np.testing.assert_allclose(ratio / np.median(ratio), shape, rtol=1e-6)


def test_noise_model_fit_skips_empty_spectra():
    flux = np.ones((3, 6))
    sigma = np.full((3, 6), 0.02)
    sigma[:, -1] = 0.06
    flux[1] = np.nan  # an empty spectrum (all pixels masked) does not count
    np.testing.assert_allclose(NoiseModel.fit(flux, sigma).relative_sigma,
                               [1, 1, 1, 1, 1, 3])


def test_flux_correction_multiplies_rendered_spectra_before_the_noise(ca_emulator):
    plain = fine_instrument(22500.0, snr=40.0)
    factor = np.linspace(0.9, 1.1, plain.n_pixels)
    corrected = fine_instrument(22500.0, snr=40.0, flux_correction=factor)
    clean = plain.render(ca_emulator, LABELS, noise=False)
    fixed = corrected.render(ca_emulator, LABELS, noise=False)
    np.testing.assert_allclose(fixed.flux.value, clean.flux.value * factor, rtol=1e-12)
    assert "flux-corrected" in repr(corrected) and "flux-corrected" not in repr(plain)
    noisy = corrected.render(ca_emulator, LABELS, seed=3)  # noise follows the corrected flux
    resid = (noisy.flux.value - fixed.flux.value) / noisy.uncertainty.array
    assert np.std(resid) == pytest.approx(1.0, rel=0.05)


@pytest.mark.parametrize("make", [lambda n: np.ones(3), lambda n: -np.ones(n),
                                  lambda n: np.full(n, np.nan)])
def test_bad_flux_correction_is_refused(make):
    n = fine_instrument(22500.0).n_pixels
    with pytest.raises(SpecfmInputError, match="flux_correction"):
        fine_instrument(22500.0, flux_correction=make(n))


def test_fit_flux_correction_recovers_a_known_factor_whatever_the_scales():
    rng = np.random.default_rng(0)
    synthetic = 1.0 + 0.3 * rng.random((20, 50))
    factor = np.exp(0.05 * np.sin(np.arange(50) / 5.0))
    real = synthetic * factor * rng.uniform(0.5, 3.0, (20, 1))  # any scale per star
    real[3, 7] = np.nan  # ignored
    fitted = fit_flux_correction(real, synthetic)
    np.testing.assert_allclose(fitted, factor / np.median(factor), rtol=1e-6)
    assert np.median(fitted) == pytest.approx(1.0)


def test_fit_flux_correction_refuses_bad_input():
    with pytest.raises(SpecfmInputError, match="same shape"):
        fit_flux_correction(np.ones((2, 3)), np.ones((2, 4)))
    with pytest.raises(SpecfmInputError, match="good"):
        fit_flux_correction(np.ones((2, 3)), np.ones((2, 3)), good=np.ones(3, bool))
    real = np.ones((2, 3))
    real[:, 1] = np.nan
    with pytest.raises(SpecfmInputError, match="Every pixel"):
        fit_flux_correction(real, np.ones((2, 3)))


def test_uncertainty_is_computed_from_the_observed_flux(ca_emulator):
    """The reported sigma tells nothing about the star that the noisy flux does not."""
    observed = fine_instrument(22500.0, snr=40.0)
    clean = observed.render(ca_emulator, LABELS, noise=False)
    one, two = (observed.render(ca_emulator, LABELS, seed=s) for s in (3, 4))
    # what a pipeline reports: the noise model applied to the flux it recorded
    expected = observed.noise.sigma(one.flux.value, [40.0], ~one.mask)
    assert np.allclose(one.uncertainty.array[~one.mask], expected[~one.mask])
    assert not np.allclose(one.uncertainty.array, two.uncertainty.array)
    # the old renders computed it from the noiseless spectrum: the same for every draw,
    # a noiseless copy of the spectrum that a network can read
    leaky = fine_instrument(22500.0, snr=40.0, uncertainty="noiseless")
    three, four = (leaky.render(ca_emulator, LABELS, seed=s) for s in (3, 4))
    assert np.array_equal(three.uncertainty.array, four.uncertainty.array)
    assert np.median(clean.flux.value / three.uncertainty.array) == pytest.approx(40.0)
    assert np.array_equal(three.flux.value, one.flux.value)  # the same noise is drawn
    assert "noiseless uncertainty" in repr(leaky) and "noiseless" not in repr(observed)
    with pytest.raises(SpecfmInputError, match="uncertainty must be one of"):
        fine_instrument(22500.0, uncertainty="pipeline")
