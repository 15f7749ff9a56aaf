"""Flux normalisation recipes, chosen by a model's configuration.

A recipe turns flux and its uncertainty, in whatever absolute scale the input had, into
the dimensionless values the model was trained on. Three recipes ship:

``"continuum"``
    A robust pseudo-continuum for high- and medium-resolution spectra: on each detector chip
    (pieces of the spectrum separated by wavelength gaps or long runs of bad pixels), a
    Gaussian-weighted running mean of the good pixels, iterated with asymmetric clipping so
    that absorption lines do not drag it down. Its width is a velocity, so one setting
    works from the UV to the near-IR.
``"median"``
    Division by the median of the good pixels, for low-resolution flux-calibrated spectra
    such as Gaia XP sampled spectra (whose shape carries the temperature information).
``"none"``
    Pass-through, for spectra that are already normalised.
``"auto"``
    For models that read many instruments: ``"continuum"`` for spectra sampled finer than
    a threshold (``lambda / delta-lambda`` per pixel, 1000 by default), ``"median"`` for
    coarser ones such as Gaia XP (``lambda / delta-lambda`` of 170-510).

Each recipe is a small object with a `name`, its `options` (JSON-serialisable, so that a
model's configuration can record them) and a call that works on 2-D arrays of rows.
"""

import itertools

import numpy as np
from scipy.signal import fftconvolve

from ..wavelengths import SPEED_OF_LIGHT_KMS, pixel_sampling

__all__ = [
    "NORMALISATIONS",
    "AutoNormalisation",
    "ContinuumNormalisation",
    "MedianNormalisation",
    "Normalisation",
    "PassThrough",
    "chip_segments",
    "get_normalisation",
]

_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def _row_nanmedian(values):
    """``np.nanmedian(values, axis=1, keepdims=True)`` of a 2-D array, in one sort.

    numpy finds the median of each row of a 2-D array in a Python-level loop
    (``apply_along_axis``) for long rows, or through a masked array for short ones; one
    sort of the whole array (NaN sorts last) and the middle of each row's non-NaN values
    give the same numbers, bit for bit, three times faster for a batch of APOGEE chips.
    A row of NaN only gives NaN (without numpy's warning).
    """
    ordered = np.sort(values, axis=1)
    n = np.count_nonzero(~np.isnan(values), axis=1)[:, None]
    low = np.take_along_axis(ordered, (n - 1) // 2, axis=1)
    high = np.take_along_axis(ordered, n // 2, axis=1)
    return (low + high) / 2


class Normalisation:
    """Base class of the normalisation recipes.

    Subclasses set `name` and ``single_scale`` and implement `normalise`.
    """

    name = "base"
    single_scale = True
    """Whether the recipe divides each spectrum by one number (so that two
    normalisations of a spectrum, from different pixels, differ by one factor) rather
    than by a function of wavelength."""

    def __init__(self):
        self._options = {}

    @property
    def options(self):
        """The recipe's options as a JSON-serialisable dict."""
        return dict(self._options)

    def to_dict(self):
        """Return ``{"name": ..., "options": {...}}``."""
        return {"name": self.name, "options": self.options}

    def __repr__(self):
        opts = ", ".join(f"{k}={v!r}" for k, v in self._options.items())
        return f"{type(self).__name__}({opts})"

    def __eq__(self, other):
        return type(self) is type(other) and self._options == other._options

    def __hash__(self):
        return hash((self.name, tuple(sorted(self._options.items()))))

    def choose(self, wavelength):
        """Return the recipe that will normalise spectra on this grid (here: ``self``).

        Parameters
        ----------
        wavelength : numpy.ndarray
            Ascending wavelengths in Angstrom.

        Returns
        -------
        Normalisation

        """
        return self

    def normalise(self, wavelength, flux, error, valid):
        """Normalise rows of flux.

        Parameters
        ----------
        wavelength : numpy.ndarray, shape (n_pix,)
            Ascending wavelengths in Angstrom.
        flux, error : numpy.ndarray, shape (n_rows, n_pix)
            Flux and one-sigma uncertainty; only pixels where ``valid`` is True are used.
        valid : numpy.ndarray of bool, shape (n_rows, n_pix)
            Good pixels.

        Returns
        -------
        value, scaled_error : numpy.ndarray
            Normalised flux and uncertainty (meaningful where ``valid_out``).
        valid_out : numpy.ndarray of bool
            ``valid`` less pixels the recipe could not normalise.
        scale : numpy.ndarray, shape (n_rows,)
            A representative divisor per row (the median, or 1).

        """
        raise NotImplementedError


class PassThrough(Normalisation):
    """Leave already-normalised flux as it is."""

    name = "none"

    def normalise(self, wavelength, flux, error, valid):
        """Return the input unchanged (see `Normalisation.normalise`)."""
        return flux, error, valid.copy(), np.ones(flux.shape[0])


class MedianNormalisation(Normalisation):
    """Divide each spectrum by the median of its good pixels.

    This is how the Gaia XP sampled spectra in specfm's training data were prepared.
    Rows whose median is not positive cannot be normalised and come back all invalid.
    """

    name = "median"

    def normalise(self, wavelength, flux, error, valid):
        """Divide by the per-row median (see `Normalisation.normalise`)."""
        masked = np.where(valid, flux, np.nan)
        scale = np.full(flux.shape[0], np.nan)
        has = valid.any(axis=1)
        if has.any():
            scale[has] = _row_nanmedian(masked[has])[:, 0]
        ok = np.isfinite(scale) & (scale > 0)
        safe = np.where(ok, scale, 1.0)[:, None]
        return flux / safe, error / safe, valid & ok[:, None], np.where(ok, scale, np.nan)


def _chip_bounds(wavelength, valid, gap_factor, min_gap_pixels):
    """Untrimmed chip ranges that hold at least one good pixel."""
    n = wavelength.size
    if n == 0 or not valid.any():
        return []
    cuts = set()
    if n > 2:
        step = np.diff(np.log(wavelength))
        cuts.update((np.nonzero(step > gap_factor * np.median(step))[0] + 1).tolist())
    padded = np.concatenate([[True], valid, [True]]).astype(np.int8)
    edges = np.diff(padded)
    for a, b in zip(np.nonzero(edges == -1)[0], np.nonzero(edges == 1)[0], strict=True):
        if b - a >= min_gap_pixels:
            cuts.update((int(a), int(b)))
    bounds = sorted({0, n} | cuts)
    return [(a, b) for a, b in itertools.pairwise(bounds) if valid[a:b].any()]


def chip_segments(wavelength, valid, gap_factor=5.0, min_gap_pixels=50):
    """Split a spectrum into detector chips.

    A new chip starts after a step in log-wavelength more than ``gap_factor`` times the
    median step, or after a run of at least ``min_gap_pixels`` bad pixels.

    Parameters
    ----------
    wavelength : numpy.ndarray, shape (n_pix,)
        Ascending wavelengths.
    valid : numpy.ndarray of bool, shape (n_pix,)
        Good pixels of one spectrum.
    gap_factor : float
        How many median steps make a wavelength gap.
    min_gap_pixels : int
        How many consecutive bad pixels make a gap.

    Returns
    -------
    list of (int, int)
        Half-open pixel ranges ``[start, stop)`` of the chips, trimmed to good pixels.

    Examples
    --------
    >>> import numpy as np
    >>> from specfm.tokens import chip_segments
    >>> wave = np.concatenate([np.arange(100.0), np.arange(200.0, 300.0)]) + 5000
    >>> chip_segments(wave, np.ones(200, bool))
    [(0, 100), (100, 200)]

    """
    segments = []
    for a, b in _chip_bounds(wavelength, valid, gap_factor, min_gap_pixels):
        good = np.nonzero(valid[a:b])[0]
        segments.append((a + int(good[0]), a + int(good[-1]) + 1))
    return segments


def _fill_within(values, wavelength):
    """Interpolate NaN or non-positive values linearly from their neighbours."""
    ok = np.isfinite(values) & (values > 0)
    if ok.all() or not ok.any():
        return values
    return np.interp(wavelength, wavelength[ok], values[ok])


class ContinuumNormalisation(Normalisation):
    """Divide by a robust pseudo-continuum, fitted chip by chip.

    Parameters
    ----------
    width_kms : float
        FWHM of the Gaussian smoothing kernel, as a velocity in km/s (1000 km/s is about
        50 Angstrom at 15,000 Angstrom and 17 Angstrom at 5,000 Angstrom).
    n_iterations : int
        Rounds of clipping.
    clip_low, clip_high : float
        Pixels more than ``clip_low`` robust sigmas below (``clip_high`` above) the current
        continuum are left out of the next round; the low side is tighter because
        absorption lines only go down.
    gap_factor, min_gap_pixels : float, int
        How chips are found; see `chip_segments`.
    min_chip_pixels : int
        Chips with fewer good pixels are not normalised (their pixels become invalid).

    """

    name = "continuum"
    single_scale = False

    def __init__(
        self,
        width_kms=1000.0,
        n_iterations=4,
        clip_low=1.5,
        clip_high=3.0,
        gap_factor=5.0,
        min_gap_pixels=50,
        min_chip_pixels=20,
    ):
        super().__init__()
        if not width_kms > 0:
            raise ValueError(f"width_kms must be positive, got {width_kms}.")
        if n_iterations < 1:
            raise ValueError("n_iterations must be at least 1.")
        self._options = {
            "width_kms": float(width_kms),
            "n_iterations": int(n_iterations),
            "clip_low": float(clip_low),
            "clip_high": float(clip_high),
            "gap_factor": float(gap_factor),
            "min_gap_pixels": int(min_gap_pixels),
            "min_chip_pixels": int(min_chip_pixels),
        }

    def continuum(self, wavelength, flux, valid):
        """Return the pseudo-continuum of spectra (NaN where it is undefined).

        Rows that share their chip layout are processed together, as 2-D arrays.

        Parameters
        ----------
        wavelength : numpy.ndarray, shape (n_pix,)
            Ascending wavelengths in Angstrom.
        flux : numpy.ndarray, shape (n_pix,) or (n_rows, n_pix)
            Flux.
        valid : numpy.ndarray of bool, same shape as ``flux``
            Good pixels.

        Returns
        -------
        numpy.ndarray, same shape as ``flux``

        """
        flux2, valid2 = np.atleast_2d(flux), np.atleast_2d(valid)
        o = self._options
        cont = np.full(flux2.shape, np.nan)
        layouts = {}
        for i in range(flux2.shape[0]):
            key = tuple(_chip_bounds(wavelength, valid2[i], o["gap_factor"], o["min_gap_pixels"]))
            layouts.setdefault(key, []).append(i)
        for bounds, rows in layouts.items():
            rows = np.asarray(rows)
            for a, b in bounds:
                good = valid2[rows, a:b]
                enough = good.sum(axis=1) >= o["min_chip_pixels"]
                if not enough.any():
                    continue
                use_rows = rows[enough]
                cont[use_rows, a:b] = self._fit_chip(
                    wavelength[a:b], flux2[use_rows, a:b], good[enough]
                )
        return cont.reshape(np.shape(flux))

    def _fit_chip(self, wavelength, flux, good):
        """Continuum of one chip for rows of spectra (each with enough good pixels)."""
        o = self._options
        step = np.median(np.diff(np.log(wavelength))) if wavelength.size > 1 else 1.0
        sigma = (o["width_kms"] / SPEED_OF_LIGHT_KMS) * _FWHM_TO_SIGMA / step
        half = max(1, int(np.ceil(3.0 * sigma)))
        x = np.arange(-half, half + 1)
        kernel = np.exp(-0.5 * (x / sigma) ** 2)[None, :]
        f = np.where(good, flux, 0.0)
        weight = good.astype(float)
        active = np.ones(flux.shape[0], bool)
        for _ in range(o["n_iterations"]):
            # Zero-padded ("constant") Gaussian smoothing; FFTs keep wide kernels cheap.
            num = fftconvolve(weight * f, kernel, mode="same", axes=1)
            den = fftconvolve(weight, kernel, mode="same", axes=1) / kernel.sum()
            num /= kernel.sum()
            with np.errstate(divide="ignore", invalid="ignore"):
                c = np.where(den > 1e-3, num / den, np.nan)
                resid = f / c - 1.0
            use = good & np.isfinite(resid) & (c > 0)
            active &= use.sum(axis=1) >= o["min_chip_pixels"]
            if not active.any():
                break
            r = np.where(use[active], resid[active], np.nan)
            centre = _row_nanmedian(r)
            sig = 1.4826 * _row_nanmedian(np.abs(r - centre))
            sig = np.maximum(sig, 1e-6)
            new = use[active] & (r > -o["clip_low"] * sig) & (r < o["clip_high"] * sig)
            keep = new.sum(axis=1) >= o["min_chip_pixels"]
            idx = np.nonzero(active)[0]
            weight[idx[keep]] = new[keep]
            active[idx[~keep]] = False
            if not active.any():
                break
        return np.stack([_fill_within(row, wavelength) for row in c])

    def normalise(self, wavelength, flux, error, valid):
        """Divide each row by its pseudo-continuum (see `Normalisation.normalise`)."""
        cont = self.continuum(wavelength, flux, valid)
        ok = valid & np.isfinite(cont) & (cont > 0)
        safe = np.where(ok, cont, 1.0)
        return flux / safe, error / safe, ok, np.ones(flux.shape[0])


class AutoNormalisation(Normalisation):
    """Continuum normalisation for finely sampled spectra, median for coarse ones.

    Parameters
    ----------
    sampling_threshold : float
        Median ``lambda / delta-lambda`` of the pixels at and above which the continuum
        recipe is used.
    **continuum_options
        Options of `ContinuumNormalisation`.

    Examples
    --------
    >>> import numpy as np
    >>> from specfm.tokens import AutoNormalisation
    >>> auto = AutoNormalisation()
    >>> auto.choose(np.arange(3360.0, 10201.0, 20.0)).name  # Gaia XP sampling
    'median'
    >>> auto.choose(np.geomspace(15100, 17000, 8575)).name  # APOGEE
    'continuum'

    """

    name = "auto"
    single_scale = None  # depends on the grid: ask the recipe `choose` returns

    def __init__(self, sampling_threshold=1000.0, **continuum_options):
        super().__init__()
        self._continuum = ContinuumNormalisation(**continuum_options)
        self._median = MedianNormalisation()
        self._options = {"sampling_threshold": float(sampling_threshold), **self._continuum.options}

    def choose(self, wavelength):
        """Return the continuum or the median recipe for spectra on this grid.

        Parameters
        ----------
        wavelength : numpy.ndarray
            Ascending wavelengths in Angstrom.

        Returns
        -------
        Normalisation

        """
        if wavelength.size < 2:
            return self._median
        if pixel_sampling(wavelength) >= self._options["sampling_threshold"]:
            return self._continuum
        return self._median

    def normalise(self, wavelength, flux, error, valid):
        """Normalise with the recipe `choose` picks (see `Normalisation.normalise`)."""
        return self.choose(wavelength).normalise(wavelength, flux, error, valid)


NORMALISATIONS = {
    cls.name: cls
    for cls in (ContinuumNormalisation, MedianNormalisation, PassThrough, AutoNormalisation)
}
"""Recipes by name."""


def get_normalisation(recipe="continuum", **options):
    """Return a normalisation recipe.

    Parameters
    ----------
    recipe : str, dict or Normalisation
        A name from `NORMALISATIONS` (``"continuum"``, ``"median"``, ``"none"``,
        ``"auto"``), the dict
        written by `Normalisation.to_dict`, or a recipe object (returned as is).
    **options
        Options of the recipe, e.g. ``width_kms`` for ``"continuum"``.

    Returns
    -------
    Normalisation

    Examples
    --------
    >>> from specfm.tokens import get_normalisation
    >>> get_normalisation("continuum", width_kms=500).options["width_kms"]
    500.0

    """
    if isinstance(recipe, Normalisation):
        if options:
            raise ValueError("Options cannot be given together with a recipe object.")
        return recipe
    if isinstance(recipe, dict):
        options = {**recipe.get("options", {}), **options}
        recipe = recipe["name"]
    try:
        cls = NORMALISATIONS[recipe]
    except KeyError:
        raise ValueError(
            f"Unknown normalisation {recipe!r}; choose one of {', '.join(NORMALISATIONS)}."
        ) from None
    return cls(**options)
