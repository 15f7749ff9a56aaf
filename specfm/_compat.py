"""Compatibility between specutils releases.

specutils 2.x calls its spectrum class `Spectrum` and keeps `Spectrum1D` as a deprecated
subclass that warns when it is made; specutils 1.x has only `Spectrum1D`. specfm accepts
both everywhere and makes new spectra with whichever class is current, so it never
triggers the deprecation warning itself.
"""

import specutils

__all__ = ["SPECUTILS_MAJOR", "SpectrumClass", "is_spectrum", "make_spectrum"]

SPECUTILS_MAJOR = int(specutils.__version__.split(".")[0])

SpectrumClass = getattr(specutils, "Spectrum", None) or specutils.Spectrum1D
"""The current spectrum class: `specutils.Spectrum` (2.x) or `specutils.Spectrum1D` (1.x)."""


def is_spectrum(obj):
    """Return True for a `Spectrum` or `Spectrum1D` of any specutils release."""
    return isinstance(obj, SpectrumClass)


def make_spectrum(**kwargs):
    """Make a spectrum with the current class (arguments as for `specutils.Spectrum`)."""
    return SpectrumClass(**kwargs)
