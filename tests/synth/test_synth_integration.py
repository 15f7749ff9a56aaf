"""specfm.synth with the shipped emulators and real survey files (../shared/data)."""

import os
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest

from specfm.synth import (
    CannonEmulator,
    Instrument,
    PayneEmulator,
    PixelwisePayneEmulator,
    get_instrument,
)
from specfm.wavelengths import doppler_factor

pytestmark = pytest.mark.integration


def _data_dir():
    env = os.environ.get("SPECFM_DATA")
    path = Path(env) if env else (Path(__file__).parents[2] / ".." / "shared" / "data").resolve()
    if not (path / "emulators").is_dir():
        pytest.skip(f"{path} not found: set SPECFM_DATA or place the shared data at "
                    "../shared/data")
    return path


@pytest.fixture(scope="module")
def data():
    return _data_dir()


@pytest.fixture(scope="module")
def cannon(data):
    return CannonEmulator.from_npz(data / "emulators" / "cannon_cubic_coolstars.npz")


GIANT = {"teff": [4500.0] * u.K, "logg": [2.0] * u.dex(u.cm / u.s**2), "fe_h": [0.0] * u.dex}
CA_TRIPLET_VAC = (8500.36, 8544.44, 8664.52)


def _line_centre(spec, guess, half=0.6):
    wave = spec.spectral_axis.to_value(u.AA)
    flux = spec.flux.value[0]
    sel = np.abs(wave - guess) < half
    i = np.argmin(np.where(sel, flux, np.inf))
    a, b, c = flux[i - 1 : i + 2]  # parabola through the three lowest pixels
    return wave[i] + 0.5 * (a - c) / (a - 2 * b + c) * (wave[i + 1] - wave[i])


def test_cannon_ca_triplet_lands_at_vacuum_wavelengths(cannon):
    rvs = get_instrument("gaia_rvs")
    spec = rvs.render(cannon, GIANT, noise=False)
    for line in CA_TRIPLET_VAC:
        assert _line_centre(spec, line) == pytest.approx(line, abs=0.08)
    shifted = rvs.render(cannon, GIANT, noise=False, radial_velocity=80 * u.km / u.s)
    line = CA_TRIPLET_VAC[1] * doppler_factor(80.0)
    assert _line_centre(shifted, line) == pytest.approx(line, abs=0.08)


def test_every_preset_renders_the_cannon(cannon):
    for name in ("apogee", "gaia_xp", "gaia_rvs", "galah", "lamost", "boss"):
        spec = get_instrument(name).render(cannon, GIANT, seed=0)
        good = ~spec.mask[0]
        assert good.mean() > 0.8, name
        assert np.all(np.isfinite(spec.flux.value[0, good])), name
        assert 0.5 < np.median(spec.flux.value[0, good]) < 1.5, name


def test_apogee_chip_gaps_match_a_real_apstar_file(data):
    from astropy.io import fits

    path = data / "real_spectra" / "apStar-dr17-2M17335483-2753043.fits"
    with fits.open(path) as hdul:
        real = hdul[1].data[0]
    gaps = get_instrument("apogee").pixel_mask
    missing = ~np.isfinite(real)
    assert np.all(gaps[missing])  # every pixel without data is masked
    assert (gaps & ~missing).sum() <= 12  # and at most a few pixels with data


def test_from_spectrum_with_a_real_boss_file_and_the_optical_payne(data):
    from specutils import Spectrum

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        real = Spectrum.read(data / "real_spectra" / "spec-3586-55181-0500.fits")
    inst = Instrument.from_spectrum(real, resolution=2000.0, name="boss_3586")
    assert inst.normalisation == "none" and inst.n_pixels == real.flux.shape[-1]
    payne = PayneEmulator.from_npz(data / "emulators" / "payne_ann_optical_giants_4000-5000.npz")
    labels = payne.sample_labels(3, seed=1)
    inst.normalisation = "continuum"  # the Payne network has no continuum model
    spec = inst.render(payne, labels, seed=2)
    inside = (inst._wave > 4000) & (inst._wave < 10000)
    # inside the emulator's range, exactly the pixels the real file flags are masked
    assert np.array_equal(spec.mask[:, inside], np.broadcast_to(inst.pixel_mask[inside],
                                                                 (3, inside.sum())))
    assert inst.pixel_mask.mean() < 0.2
    assert np.all(spec.spectral_axis == real.spectral_axis)


def test_pixelwise_payne_renders_apogee(data):
    em = PixelwisePayneEmulator.from_npz(
        data / "emulators" / "payne_pixelwise_apogee_dwarfs.npz",
        data / "apogee" / "payne_wavelength_7214.npz")
    labels = em.sample_labels(4, seed=0)
    spec = get_instrument("apogee").render(em, labels, noise=False)
    fine = em(labels)
    wave = spec.spectral_axis.to_value(u.AA)
    good = ~spec.mask[0]
    assert good.sum() > 7000
    native = np.interp(wave[good], fine.spectral_axis.to_value(u.AA), fine.flux.value[0])
    # same pixels, same resolution: only mild resampling differences
    assert np.median(np.abs(spec.flux.value[0, good] - native)) < 2e-3


def test_hot_dwarf_cannon_and_combined_optical_payne(data):
    from specfm.synth import CombinedEmulator

    hot = CannonEmulator.from_npz(data / "emulators" / "cannon_cubic_hotdwarfs.npz")
    assert hot.label_ranges["teff"][0] >= 7999 * u.K
    spec = get_instrument("gaia_xp").render(hot, hot.sample_labels(3, seed=0), seed=1)
    assert np.all(np.isfinite(spec.flux.value)) and not spec.mask.any()
    files = sorted((data / "emulators").glob("payne_ann_optical_giants_*.npz"))
    payne = CombinedEmulator([PayneEmulator.from_npz(f) for f in files], name="payne_optical")
    assert payne.label_ranges["teff"][0].value < 3600 and payne.label_ranges["teff"][1].value > 5900
    labels = payne.sample_labels(6, seed=2)
    spec = get_instrument("lamost").render(payne, labels, seed=3)
    assert 0.3 < np.median(spec.flux.value[~spec.mask]) < 1.5
