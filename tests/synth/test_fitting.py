"""specfm.synth.fit_spectrum: labels, velocity and continuum back from rendered spectra."""

import astropy.units as u
import numpy as np
import pytest
from astropy.nddata import StdDevUncertainty

from specfm._compat import make_spectrum
from specfm.exceptions import ShapeMismatchError, SpecfmInputError
from specfm.synth import CannonEmulator, Instrument, fit_spectrum

from .conftest import write_fake_cannon


@pytest.fixture(scope="module")
def cannon(tmp_path_factory):
    path = write_fake_cannon(tmp_path_factory.mktemp("cannon") / "fake.npz", n_pix=2501,
                             lo=4900.0, hi=5150.0)
    return CannonEmulator.from_npz(path, name="fake")


@pytest.fixture(scope="module")
def instrument():
    return Instrument("toy", np.linspace(4950.0, 5100.0, 1500) * u.AA, resolution=20000)


TRUE = {"teff": [4600.0, 5400.0], "logg": [2.0, 3.5], "fe_h": [-0.8, -0.2]}


def test_labels_and_velocity_come_back_within_their_errors(cannon, instrument):
    rv = [2.0, -3.0] * u.km / u.s
    spectra = instrument.render(cannon, TRUE, snr=300, radial_velocity=rv, seed=3)
    # a continuum error the fit has to absorb
    x = np.linspace(-1, 1, instrument.n_pixels)
    tilt = 1.0 + 0.03 * x - 0.02 * x**2
    tilted = make_spectrum(flux=spectra.flux * tilt, spectral_axis=spectra.spectral_axis,
                           uncertainty=StdDevUncertainty(spectra.uncertainty.array * tilt),
                           mask=spectra.mask)
    table = fit_spectrum(tilted, instrument, cannon, seed=0)
    assert len(table) == 2 and table["success"].all()
    for name, true in TRUE.items():
        pull = (table[name].value - np.array(true)) / table[f"{name}_err"].value
        assert np.all(np.abs(pull) < 5), (name, pull)
    assert table["logg"].unit == u.dex(u.cm / u.s**2) and table["logg_err"].unit == u.dex
    assert np.allclose(table["radial_velocity"].to_value(u.km / u.s), [2.0, -3.0], atol=1.0)
    reduced = table["chi2"] / table["n_pixels"]
    assert np.all((reduced > 0.8) & (reduced < 1.25))  # noise-limited: chi2 ~ N


def test_a_large_velocity_is_found_from_the_velocity_grid():
    from astropy.table import QTable

    from specfm.synth import GridEmulator

    wave = np.arange(8400.0, 8700.0, 0.02)
    centres = (8498.0, 8542.1, 8562.0, 8662.1)

    def lines(depth):
        return 1 - sum(depth * np.exp(-0.5 * ((wave - c) / 0.4) ** 2) for c in centres)

    emulator = GridEmulator(wave * u.AA, np.array([lines(0.3), lines(0.6)]),
                            QTable({"teff": [4000.0, 6000.0] * u.K}), "vacuum")
    instrument = Instrument("toy", np.linspace(8450.0, 8650.0, 800) * u.AA, resolution=10000)
    spectrum = instrument.render(emulator, {"teff": [5300.0]}, snr=300,
                                 radial_velocity=-120 * u.km / u.s, seed=2)
    fit = fit_spectrum(spectrum[0], instrument, emulator, n_starts=1)
    assert abs(fit.radial_velocity.to_value(u.km / u.s) + 120) < 1
    assert abs(fit.labels["teff"].to_value(u.K) - 5300) < 5 * fit.errors["teff"].value
    assert fit.reduced_chi2 < 1.3


def test_one_spectrum_gives_a_fit_object_with_the_model(cannon, instrument):
    spectrum = instrument.render(cannon, {k: v[:1] for k, v in TRUE.items()}, snr=200,
                                 seed=1)[0]
    fit = fit_spectrum(spectrum, instrument, cannon, fit_velocity=False, n_starts=2)
    assert fit.radial_velocity == 0 * u.km / u.s and fit.av == 0 * u.mag
    assert fit.model.shape == (instrument.n_pixels,)
    good = ~spectrum.mask
    resid = (spectrum.flux.value - fit.model)[good] / spectrum.uncertainty.array[good]
    assert np.isclose(np.sum(resid**2), fit.chi2, rtol=1e-6)
    assert 0.8 < fit.reduced_chi2 < 1.25
    assert abs(fit.labels["teff"].to_value(u.K) - 4600.0) < 5 * fit.errors["teff"].value


def test_bad_input_is_refused(cannon, instrument):
    spectrum = instrument.render(cannon, {k: v[:1] for k, v in TRUE.items()}, seed=1)
    other = Instrument("short", np.linspace(4950.0, 5000.0, 100) * u.AA, resolution=20000)
    with pytest.raises(ShapeMismatchError, match="instrument's own grid"):
        fit_spectrum(spectrum, other, cannon)
    bare = make_spectrum(flux=spectrum.flux, spectral_axis=spectrum.spectral_axis)
    with pytest.raises(SpecfmInputError, match="uncertainties"):
        fit_spectrum(bare, instrument, cannon)
    with pytest.raises(SpecfmInputError, match="Spectrum"):
        fit_spectrum(np.ones(10), instrument, cannon)
