"""Wavelength conventions: air and vacuum, Doppler shifts.

specfm works internally in vacuum wavelengths in Angstrom. These functions take and
return plain `numpy` arrays in Angstrom, so both the adapter (`specfm.tokens`) and the
synthetic-spectrum engine (`specfm.synth`) can use them.

The air/vacuum conversion is the one of Morton (2000, ApJS 130, 403) with the
refractive index of Birch & Downs (1994) as used by VALD and SDSS, and its inverse by
N. Piskunov; they agree with each other to better than 1e-4 Angstrom over 2000-25000
Angstrom. Below 2000 Angstrom, air wavelengths are not used and the input is returned as is.
"""

import numpy as np

__all__ = [
    "SPEED_OF_LIGHT_KMS",
    "air_to_vacuum",
    "doppler_factor",
    "pixel_sampling",
    "to_rest_frame",
    "vacuum_to_air",
]

SPEED_OF_LIGHT_KMS = 299792.458
"""Speed of light in km/s."""

_AIR_MIN_ANGSTROM = 2000.0


def vacuum_to_air(wavelength):
    """Convert vacuum wavelengths to air wavelengths.

    Parameters
    ----------
    wavelength : array-like
        Vacuum wavelengths in Angstrom.

    Returns
    -------
    numpy.ndarray
        Air wavelengths in Angstrom (unchanged below 2000 Angstrom).

    Examples
    --------
    >>> from specfm.wavelengths import vacuum_to_air
    >>> round(float(vacuum_to_air(6564.61)), 2)  # H-alpha
    6562.8

    """
    wave = np.asarray(wavelength, dtype=float)
    s2 = (1e4 / wave) ** 2
    n = 1.0 + 0.0000834254 + 0.02406147 / (130.0 - s2) + 0.00015998 / (38.9 - s2)
    return np.where(wave >= _AIR_MIN_ANGSTROM, wave / n, wave)


def air_to_vacuum(wavelength):
    """Convert air wavelengths to vacuum wavelengths.

    Parameters
    ----------
    wavelength : array-like
        Air wavelengths in Angstrom.

    Returns
    -------
    numpy.ndarray
        Vacuum wavelengths in Angstrom (unchanged below 2000 Angstrom).

    Examples
    --------
    >>> from specfm.wavelengths import air_to_vacuum
    >>> round(float(air_to_vacuum(8542.09)), 2)  # Ca II triplet
    8544.44

    """
    wave = np.asarray(wavelength, dtype=float)
    s2 = (1e4 / wave) ** 2
    n = (
        1.0
        + 0.00008336624212083
        + 0.02408926869968 / (130.1065924522 - s2)
        + 0.0001599740894897 / (38.92568793293 - s2)
    )
    return np.where(wave >= _AIR_MIN_ANGSTROM, wave * n, wave)


def doppler_factor(radial_velocity=None, redshift=None):
    """Return ``1 + z`` for a radial velocity (km/s, relativistic) or a redshift.

    Parameters
    ----------
    radial_velocity : float, optional
        Line-of-sight velocity in km/s, positive away from the observer.
    redshift : float, optional
        Redshift z. Give at most one of the two.

    Returns
    -------
    float
        The factor by which observed wavelengths exceed rest wavelengths.

    """
    if radial_velocity is not None and redshift is not None:
        raise ValueError("Give either radial_velocity or redshift, not both.")
    if redshift is not None:
        z = float(redshift)
        if not np.isfinite(z) or z <= -1:
            raise ValueError(f"redshift must be finite and > -1, got {redshift}.")
        return 1.0 + z
    if radial_velocity is None:
        return 1.0
    beta = float(radial_velocity) / SPEED_OF_LIGHT_KMS
    if not np.isfinite(beta) or abs(beta) >= 1:
        raise ValueError(f"radial_velocity must be finite and below c, got {radial_velocity}.")
    return float(np.sqrt((1.0 + beta) / (1.0 - beta)))


def to_rest_frame(wavelength, radial_velocity=None, redshift=None):
    """Shift observed wavelengths to the rest frame.

    Parameters
    ----------
    wavelength : array-like
        Observed wavelengths (any length unit, returned in the same).
    radial_velocity, redshift : float, optional
        See `doppler_factor`.

    Returns
    -------
    numpy.ndarray
        Rest-frame wavelengths.

    Examples
    --------
    >>> from specfm.wavelengths import to_rest_frame
    >>> round(float(to_rest_frame(5000.0, radial_velocity=299.792458)), 3)
    4995.002

    """
    return np.asarray(wavelength, dtype=float) / doppler_factor(radial_velocity, redshift)


def pixel_sampling(wavelength):
    """Return the median ``lambda / delta-lambda`` per pixel of a wavelength grid.

    Parameters
    ----------
    wavelength : array-like
        Wavelengths in any order (sorted here); repeated values are ignored.

    Returns
    -------
    float
        The median over neighbouring pixels; inf for fewer than two distinct values.

    """
    wave = np.sort(np.asarray(wavelength, dtype=float).ravel())
    step = np.diff(wave)
    good = step > 0
    if not good.any():
        return np.inf
    return float(np.median(wave[1:][good] / step[good]))
