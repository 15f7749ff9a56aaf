"""Tiny spectra for the adapter tests."""

import warnings

import astropy.units as u
import numpy as np

from specfm._compat import SpectrumClass, make_spectrum

__all__ = ["apogee_like", "legacy_spectrum1d", "line_spectrum"]

FLAM = u.Unit("erg / (s cm2 AA)")


def line_spectrum(
    n=2000,
    start=15100.0,
    stop=17000.0,
    lines=(15500.0, 16000.0, 16500.0),
    depth=0.4,
    width=1.0,
    continuum=None,
    noise=0.01,
    seed=0,
    n_rows=None,
    unit=FLAM,
    uncertainty="std",
    mask=None,
):
    """A log-linear spectrum with Gaussian absorption lines on a smooth continuum."""
    rng = np.random.default_rng(seed)
    wave = np.geomspace(start, stop, n)
    norm = np.ones(n)
    for centre in lines:
        norm -= depth * np.exp(-0.5 * ((wave - centre) / width) ** 2)
    cont = np.ones(n) if continuum is None else continuum(wave)
    shape = (n,) if n_rows is None else (n_rows, n)
    flux = norm * cont * (1 + noise * rng.standard_normal(shape)) * 100.0
    sigma = np.full(shape, noise * 100.0) * cont
    from astropy.nddata import InverseVariance, StdDevUncertainty, VarianceUncertainty

    unc = {
        "std": lambda: StdDevUncertainty(sigma),
        "var": lambda: VarianceUncertainty(sigma**2),
        "ivar": lambda: InverseVariance(1.0 / sigma**2),
        None: lambda: None,
    }[uncertainty]()
    return make_spectrum(flux=flux * unit, spectral_axis=wave * u.AA, uncertainty=unc, mask=mask)


def apogee_like(seed=0):
    """Three chips with gaps, a different level on each chip and a tilted continuum."""
    rng = np.random.default_rng(seed)
    chips = [(15150.0, 15800.0), (15860.0, 16420.0), (16480.0, 16950.0)]
    waves, fluxes, conts = [], [], []
    for k, (a, b) in enumerate(chips):
        wave = np.geomspace(a, b, 1500)
        cont = (1.0 + 0.5 * k) * (1 + 0.2 * (wave - a) / (b - a))
        norm = np.ones_like(wave)
        for centre in rng.uniform(a + 5, b - 5, 40):
            norm -= rng.uniform(0.05, 0.5) * np.exp(-0.5 * ((wave - centre) / 0.7) ** 2)
        flux = norm * cont * (1 + 0.005 * rng.standard_normal(wave.size))
        waves.append(wave)
        fluxes.append(flux)
        conts.append(cont)
    from astropy.nddata import StdDevUncertainty

    flux = np.concatenate(fluxes)
    cont = np.concatenate(conts)
    spec = make_spectrum(
        flux=flux * u.Unit("1e-17 erg / (s cm2 AA)"),
        spectral_axis=np.concatenate(waves) * u.AA,
        uncertainty=StdDevUncertainty(0.005 * cont),
    )
    return spec, np.concatenate(waves), flux / cont, cont


def legacy_spectrum1d(**kwargs):
    """Make a `Spectrum1D` the way a user of specutils 1.x would (hiding its warning)."""
    import specutils

    cls = getattr(specutils, "Spectrum1D", SpectrumClass)
    from astropy.utils.exceptions import AstropyDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyDeprecationWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return cls(**kwargs)
