"""Interstellar extinction for fluxed synthetic spectra, from the ``dust_extinction`` package.

The default curve is G23 (Gordon et al. 2023, ApJ 950, 86) with R(V) = 3.1, valid from
912 Angstrom to 32 micron, which covers every optical and infrared survey.
"""

import astropy.units as u
import numpy as np

from ..exceptions import SpecfmInputError

__all__ = ["extinction_curve", "transmission"]


def extinction_curve(wavelength, rv=3.1, model="G23"):
    """A(lambda) / A(V) at vacuum wavelengths.

    Parameters
    ----------
    wavelength : array-like
        Vacuum wavelengths in Angstrom (plain floats).
    rv : float
        Ratio of total to selective extinction R(V).
    model : str
        Name of an R(V)-dependent model in `dust_extinction.parameter_averages`
        (e.g. ``"G23"``, ``"F99"``, ``"CCM89"``).

    Returns
    -------
    numpy.ndarray
        A(lambda)/A(V), same shape as ``wavelength``.

    Raises
    ------
    SpecfmInputError
        Unknown model, or wavelengths outside the model's range.

    Examples
    --------
    >>> round(float(extinction_curve([5500.0])[0]), 2)
    1.0

    """
    from dust_extinction import parameter_averages

    cls = getattr(parameter_averages, model, None)
    if cls is None:
        raise SpecfmInputError(
            f"Unknown extinction model {model!r}: use one of dust_extinction's "
            "parameter_averages models, e.g. 'G23' or 'F99'."
        )
    curve = cls(Rv=rv)
    wave = np.asarray(wavelength, dtype=float)
    x = 1e4 / wave  # inverse micron
    lo, hi = curve.x_range
    if x.min() < lo or x.max() > hi:
        raise SpecfmInputError(
            f"Wavelengths {wave.min():.0f}-{wave.max():.0f} A lie outside the range of "
            f"{model} ({1e4 / hi:.0f}-{1e4 / lo:.0f} A)."
        )
    return np.asarray(curve(wave * u.AA), dtype=float)


def transmission(curve, av):
    """Fraction of flux transmitted, ``10 ** (-0.4 * A(V) * A(lambda)/A(V))``.

    Parameters
    ----------
    curve : numpy.ndarray
        A(lambda)/A(V) per pixel, shape ``(n_pixels,)``.
    av : array-like
        A(V) in magnitudes per star, shape ``(n,)`` (or a scalar).

    Returns
    -------
    numpy.ndarray
        Shape ``(n, n_pixels)``.

    Examples
    --------
    >>> transmission([1.0], [2.5])
    array([[0.1]])

    """
    av = np.atleast_1d(np.asarray(av, dtype=float))
    return 10.0 ** (-0.4 * av[:, None] * np.asarray(curve, dtype=float)[None, :])
