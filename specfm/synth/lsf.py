"""Line-spread functions and flux-conserving resampling.

A Gaussian LSF of resolving power ``R(lambda)`` has ``FWHM = lambda / R``. With the
coordinate ``u(lambda) = integral of R(lambda) / lambda d lambda`` the FWHM is exactly 1 in
``u`` at every wavelength, so a wavelength-dependent LSF becomes one fixed Gaussian kernel on
a uniform grid in ``u`` (for constant R, ``u = R ln lambda``: a log-linear grid). specfm
convolves there, carrying ``f dlambda/du`` so that the integral of flux over wavelength is
conserved, and integrates the result over each detector pixel.
"""

import astropy.units as u
import numpy as np

from ..exceptions import SpecfmInputError

__all__ = [
    "FWHM_PER_SIGMA",
    "GaussianLSF",
    "bin_edges",
    "cumulative_integral",
    "rebin_cumulative",
]

FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
"""FWHM of a Gaussian in units of its standard deviation (about 2.3548)."""


class GaussianLSF:
    """A Gaussian line-spread function of given resolving power.

    Parameters
    ----------
    resolution : float, callable or tuple
        Resolving power ``R = lambda / FWHM``: a number; a function of vacuum wavelength
        in Angstrom (plain floats) returning R; or a pair ``(wavelength, R)`` of arrays
        (wavelength a Quantity or Angstrom) interpolated linearly, held constant outside.

    Raises
    ------
    SpecfmInputError
        If R is not finite and positive.

    Examples
    --------
    >>> import astropy.units as u
    >>> lsf = GaussianLSF(22500)
    >>> lsf.fwhm(15000 * u.AA).round(4)
    <Quantity 0.6667 Angstrom>
    >>> float(GaussianLSF(([4000, 8000] * u.AA, [1000, 2000])).resolution_at(6000.0))
    1500.0

    """

    def __init__(self, resolution):
        self._table = None
        self._constant = None
        self._function = None
        if callable(resolution):
            self._function = resolution
        elif isinstance(resolution, tuple) and len(resolution) == 2:
            wave = u.Quantity(resolution[0], u.AA).to_value(u.AA, u.spectral())
            r = np.asarray(resolution[1], dtype=float)
            order = np.argsort(wave)
            self._table = (np.asarray(wave, dtype=float)[order], r[order])
            if not np.all(np.isfinite(r) & (r > 0)):
                raise SpecfmInputError("Every resolving power R must be finite and > 0.")
        else:
            r = float(resolution)
            if not np.isfinite(r) or r <= 0:
                raise SpecfmInputError(f"Resolving power must be finite and > 0, got {r}.")
            self._constant = r

    @property
    def is_constant(self):
        """True when R does not depend on wavelength."""
        return self._constant is not None

    def resolution_at(self, wavelength):
        """Return the resolving power at vacuum wavelengths (plain floats in Angstrom).

        Parameters
        ----------
        wavelength : array-like
            Vacuum wavelength in Angstrom.

        Returns
        -------
        numpy.ndarray
            R at each wavelength.

        """
        wave = np.asarray(wavelength, dtype=float)
        if self._constant is not None:
            return np.full_like(wave, self._constant)
        if self._table is not None:
            return np.interp(wave, *self._table)
        r = np.broadcast_to(np.asarray(self._function(wave), dtype=float), wave.shape)
        if not np.all(np.isfinite(r) & (r > 0)):
            raise SpecfmInputError("The resolution function returned R that is not > 0.")
        return np.array(r)

    def fwhm(self, wavelength):
        """FWHM of the LSF at a wavelength.

        Parameters
        ----------
        wavelength : `~astropy.units.Quantity`
            Wavelength (any spectral unit convertible to Angstrom).

        Returns
        -------
        `~astropy.units.Quantity`
            FWHM in Angstrom.

        """
        wave = u.Quantity(wavelength).to_value(u.AA, u.spectral())
        return wave / self.resolution_at(wave) * u.AA

    def combined_with(self, native_resolution, cap_factor=10.0):
        """Return the extra broadening that turns ``native_resolution`` into this LSF.

        Gaussians add in quadrature: ``1 / R_extra**2 = 1 / R**2 - 1 / R_native**2``.
        Where the native resolution is not higher than R, ``R_extra`` is capped at
        ``cap_factor * R`` (which broadens by less than 0.5 per cent).

        Parameters
        ----------
        native_resolution : float or None
            Resolving power of the input spectrum; None means unresolved (infinite).
        cap_factor : float
            Cap on ``R_extra / R``.

        Returns
        -------
        GaussianLSF
            The LSF to apply to the native spectrum.

        """
        if native_resolution is None:
            return self

        def extra(wave):
            r = self.resolution_at(wave)
            inv2 = 1.0 / r**2 - 1.0 / float(native_resolution) ** 2
            cap = cap_factor * r
            with np.errstate(divide="ignore", invalid="ignore"):
                r_extra = np.where(inv2 > 1.0 / cap**2,
                                   1.0 / np.sqrt(np.maximum(inv2, 1e-300)), cap)
            return r_extra

        return GaussianLSF(extra)

    def u_of(self, wavelength, reference):
        """Return the coordinate ``u`` (where the FWHM is 1), via a dense ``reference`` grid.

        Parameters
        ----------
        wavelength : numpy.ndarray
            Vacuum wavelengths (Angstrom) at which to evaluate ``u``.
        reference : numpy.ndarray
            Sorted vacuum wavelengths spanning ``wavelength``, used to integrate R/lambda
            when R varies.

        Returns
        -------
        numpy.ndarray
            ``u`` at ``wavelength``.

        """
        wave = np.asarray(wavelength, dtype=float)
        if self._constant is not None:
            return self._constant * np.log(wave)
        ref = np.asarray(reference, dtype=float)
        u_ref = cumulative_integral(np.log(ref), self.resolution_at(ref))
        return np.interp(np.log(wave), np.log(ref), u_ref)

    def __repr__(self):
        if self._constant is not None:
            return f"GaussianLSF(R={self._constant:g})"
        return "GaussianLSF(R=<wavelength-dependent>)"


def cumulative_integral(x, y):
    """Cumulative trapezoid integral of ``y`` over ``x`` along the last axis, starting at 0.

    Parameters
    ----------
    x : numpy.ndarray
        Sorted abscissae, shape ``(n,)``.
    y : numpy.ndarray
        Values, shape ``(..., n)``.

    Returns
    -------
    numpy.ndarray
        Same shape as ``y``.

    Examples
    --------
    >>> cumulative_integral([0.0, 1.0, 2.0], [1.0, 1.0, 1.0])
    array([0., 1., 2.])

    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y)
    steps = 0.5 * (y[..., 1:] + y[..., :-1]) * np.diff(x)
    out = np.zeros(y.shape, dtype=np.result_type(y.dtype, np.float32))
    np.cumsum(steps, axis=-1, out=out[..., 1:])
    return out


def bin_edges(centres):
    """Pixel edges halfway between sorted pixel centres (outer edges extrapolated).

    Parameters
    ----------
    centres : numpy.ndarray
        Sorted pixel centres, at least 2.

    Returns
    -------
    numpy.ndarray
        ``len(centres) + 1`` edges.

    Examples
    --------
    >>> bin_edges([1.0, 2.0, 4.0])
    array([0.5, 1.5, 3. , 5. ])

    """
    c = np.asarray(centres, dtype=float)
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def rebin_cumulative(x, cumulative, edges):
    """Mean value per bin from a cumulative integral: ``(C(hi) - C(lo)) / (hi - lo)``.

    Parameters
    ----------
    x : numpy.ndarray
        Sorted abscissae of ``cumulative``, shape ``(n,)``.
    cumulative : numpy.ndarray
        Cumulative integral, shape ``(..., n)``.
    edges : numpy.ndarray
        Sorted bin edges, shape ``(m + 1,)`` (values beyond ``x`` are clamped).

    Returns
    -------
    numpy.ndarray
        Shape ``(..., m)``: the average of the integrand over each bin, so the total
        integral is conserved exactly over the bins.

    """
    x = np.asarray(x, dtype=float)
    edges = np.asarray(edges, dtype=float)
    idx = np.clip(np.searchsorted(x, edges) - 1, 0, len(x) - 2)
    w = np.clip((edges - x[idx]) / (x[idx + 1] - x[idx]), 0.0, 1.0)
    at_edges = cumulative[..., idx] * (1.0 - w) + cumulative[..., idx + 1] * w
    return np.diff(at_edges, axis=-1) / np.diff(edges)
