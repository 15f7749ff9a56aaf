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

Each recipe is a small object with a `name`, its `options` (JSON-serialisable, so that a
model's configuration can record them) and a call that works on 2-D arrays of rows.
"""

import itertools

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..wavelengths import SPEED_OF_LIGHT_KMS

__all__ = [
    "NORMALISATIONS",
    "ContinuumNormalisation",
    "MedianNormalisation",
    "Normalisation",
    "PassThrough",
    "chip_segments",
    "get_normalisation",
]

_FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


class Normalisation:
    """Base class of the normalisation recipes.

    Subclasses set `name` and implement `normalise`.
    """

    name = "base"

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
            scale[has] = np.nanmedian(masked[has], axis=1)
        ok = np.isfinite(scale) & (scale > 0)
        safe = np.where(ok, scale, 1.0)[:, None]
        return flux / safe, error / safe, valid & ok[:, None], np.where(ok, scale, np.nan)


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
    n = wavelength.size
    if n == 0 or not valid.any():
        return []
    cuts = set()
    if n > 2:
        step = np.diff(np.log(wavelength))
        typical = np.median(step)
        cuts.update((np.nonzero(step > gap_factor * typical)[0] + 1).tolist())
    # Runs of bad pixels long enough to count as gaps.
    padded = np.concatenate([[True], valid, [True]]).astype(np.int8)
    edges = np.diff(padded)
    run_starts = np.nonzero(edges == -1)[0]
    run_stops = np.nonzero(edges == 1)[0]
    for a, b in zip(run_starts, run_stops, strict=True):
        if b - a >= min_gap_pixels:
            cuts.update((int(a), int(b)))
    bounds = sorted({0, n} | cuts)
    segments = []
    for a, b in itertools.pairwise(bounds):
        good = np.nonzero(valid[a:b])[0]
        if good.size:
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
        """Return the pseudo-continuum of one spectrum (NaN where it is undefined).

        Parameters
        ----------
        wavelength : numpy.ndarray, shape (n_pix,)
            Ascending wavelengths in Angstrom.
        flux : numpy.ndarray, shape (n_pix,)
            Flux of one spectrum.
        valid : numpy.ndarray of bool, shape (n_pix,)
            Good pixels.

        Returns
        -------
        numpy.ndarray, shape (n_pix,)

        """
        o = self._options
        cont = np.full(flux.shape, np.nan)
        segments = chip_segments(wavelength, valid, o["gap_factor"], o["min_gap_pixels"])
        for a, b in segments:
            good = valid[a:b]
            if good.sum() < o["min_chip_pixels"]:
                continue
            f = np.where(good, flux[a:b], 0.0)
            step = np.median(np.diff(np.log(wavelength[a:b]))) if b - a > 1 else 1.0
            sigma = (o["width_kms"] / SPEED_OF_LIGHT_KMS) * _FWHM_TO_SIGMA / step
            weight = good.astype(float)
            for _ in range(o["n_iterations"]):
                num = gaussian_filter1d(weight * f, sigma, mode="constant")
                den = gaussian_filter1d(weight, sigma, mode="constant")
                with np.errstate(divide="ignore", invalid="ignore"):
                    c = np.where(den > 1e-3, num / den, np.nan)
                    resid = f / c - 1.0
                use = good & np.isfinite(resid) & (c > 0)
                if use.sum() < o["min_chip_pixels"]:
                    break
                sig = 1.4826 * np.median(np.abs(resid[use] - np.median(resid[use])))
                sig = max(sig, 1e-6)
                new_weight = use & (resid > -o["clip_low"] * sig) & (resid < o["clip_high"] * sig)
                if new_weight.sum() < o["min_chip_pixels"]:
                    break
                weight = new_weight.astype(float)
            cont[a:b] = _fill_within(c, wavelength[a:b])
        return cont

    def normalise(self, wavelength, flux, error, valid):
        """Divide each row by its pseudo-continuum (see `Normalisation.normalise`)."""
        value = np.zeros_like(flux)
        scaled = np.zeros_like(error)
        valid_out = np.zeros_like(valid)
        for i in range(flux.shape[0]):
            cont = self.continuum(wavelength, flux[i], valid[i])
            ok = valid[i] & np.isfinite(cont) & (cont > 0)
            safe = np.where(ok, cont, 1.0)
            value[i] = flux[i] / safe
            scaled[i] = error[i] / safe
            valid_out[i] = ok
        return value, scaled, valid_out, np.ones(flux.shape[0])


NORMALISATIONS = {
    cls.name: cls for cls in (ContinuumNormalisation, MedianNormalisation, PassThrough)
}
"""Recipes by name."""


def get_normalisation(recipe="continuum", **options):
    """Return a normalisation recipe.

    Parameters
    ----------
    recipe : str, dict or Normalisation
        A name from `NORMALISATIONS` (``"continuum"``, ``"median"``, ``"none"``), the dict
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
