"""Fitting a spectrum with an emulator: labels, velocity, extinction and continuum.

This is the classic way to measure labels (The Payne, ASPCAP): find the labels whose
emulated spectrum, rendered through the instrument, best matches the observed one in the
least-squares sense. On synthetic spectra made by the same emulator it is the
information limit that a network should approach (``benchmarks/synthetic_recovery.py``
puts the two side by side); on real spectra it is a physically interpretable fit.

The model of a spectrum is::

    flux(pixel) = c(pixel) * render(labels, radial_velocity, A(V))(pixel)

where ``render`` is `specfm.synth.Instrument.render` without noise (A(V) only for fluxed
instruments such as Gaia XP) and ``c`` is a Legendre polynomial of the wavelength (degree
3 by default) that absorbs continuum-normalisation errors and the overall scale; for
given labels it is solved for linearly, so the non-linear fit is over the labels, the
velocity and A(V) alone (`scipy.optimize.least_squares`, from a few random starts drawn
from the emulator's label prior, keeping the best).
"""

import dataclasses

import astropy.units as u
import numpy as np
from astropy.nddata import StdDevUncertainty
from scipy.optimize import least_squares
from tqdm.auto import tqdm

from .._compat import is_spectrum
from ..exceptions import ShapeMismatchError, SpecfmInputError

__all__ = ["SpectrumFit", "fit_spectrum"]

_RV_BOUND = 300.0  # km/s
_AV_BOUND = 6.0  # mag
_REFIT_CHI2 = 1.5  # chi2 per pixel above which a fit is retried from a velocity grid


@dataclasses.dataclass
class SpectrumFit:
    """The best fit of one spectrum (`fit_spectrum`).

    Attributes
    ----------
    labels, errors : dict
        ``{name: Quantity}``: best-fitting labels and their 1-sigma uncertainties (from
        the Jacobian at the best fit, scaled by the reduced chi-square when it exceeds 1;
        a width in dex for log g).
    radial_velocity, radial_velocity_err : `~astropy.units.Quantity`
        In km/s (zero, with zero error, when not fitted).
    av, av_err : `~astropy.units.Quantity`
        A(V) in mag (zero when not fitted).
    continuum : numpy.ndarray
        Legendre coefficients of the continuum factor, in ``x`` = wavelength mapped to
        [-1, 1] over the instrument's range.
    model : numpy.ndarray
        The best-fitting model flux on every pixel of the spectrum.
    chi2 : float
        Chi-square over the pixels used.
    n_pixels : int
        Pixels used (good, finite, with a finite positive uncertainty).
    success : bool
        Whether the optimiser of the best start converged.

    """

    labels: dict
    errors: dict
    radial_velocity: u.Quantity
    radial_velocity_err: u.Quantity
    av: u.Quantity
    av_err: u.Quantity
    continuum: np.ndarray
    model: np.ndarray
    chi2: float
    n_pixels: int
    success: bool

    @property
    def reduced_chi2(self):
        """Chi-square per degree of freedom."""
        n_free = len(self.labels) + len(self.continuum) + 2
        return self.chi2 / max(self.n_pixels - n_free, 1)


class _Problem:
    """One spectrum to fit: data, the render plan, and the parameter scaling."""

    def __init__(self, instrument, emulator, flux, sigma, good, fit_velocity, fit_av,
                 degree):
        self.instrument, self.emulator = instrument, emulator
        self.plan = instrument.plan(emulator)
        self.flux, self.weight = flux[good], 1.0 / sigma[good]
        self.good = good
        self.lo = np.array([lab.minimum for lab in emulator.labels], float)
        self.hi = np.array([lab.maximum for lab in emulator.labels], float)
        self.fit_velocity, self.fit_av = fit_velocity, fit_av
        wave = instrument._wave
        x = 2.0 * (wave - wave[0]) / (wave[-1] - wave[0]) - 1.0
        self.basis = np.polynomial.legendre.legvander(x, degree)  # (n_pix, degree + 1)
        self.correction = instrument.flux_correction
        self.n_labels = len(self.lo)

    def unpack(self, params):
        """``(n, n_params)`` -> label array, velocities, A(V)."""
        params = np.atleast_2d(params)
        labels = self.lo + params[:, :self.n_labels] * (self.hi - self.lo)
        k = self.n_labels
        rv = params[:, k] if self.fit_velocity else np.zeros(len(params))
        k += int(self.fit_velocity)
        av = params[:, k] if self.fit_av else np.zeros(len(params))
        return labels, rv, av

    def render(self, params):
        labels, rv, av = self.unpack(params)
        flux, _ = self.plan.render(labels, rv, av if self.instrument.fluxed else None,
                                   fluxed=self.instrument.fluxed)
        if self.correction is not None:
            flux = flux * self.correction
        return flux

    def continuum(self, model):
        """Weighted least-squares continuum coefficients for each model row."""
        design = self.basis[self.good][None] * model[:, self.good, None]
        design = design * self.weight[None, :, None]
        target = self.flux * self.weight
        return np.stack([np.linalg.lstsq(d, target, rcond=None)[0] for d in design])

    def residuals(self, params):
        """Weighted residuals for each parameter row: ``(n, n_good)``."""
        model = self.render(params)
        coeffs = self.continuum(model)
        fitted = (self.basis[self.good] @ coeffs.T).T * model[:, self.good]
        return (self.flux - fitted) * self.weight, coeffs, model

    def steps(self):
        steps = [1e-3] * self.n_labels
        if self.fit_velocity:
            steps.append(0.05)
        if self.fit_av:
            steps.append(0.003)
        return np.array(steps)

    def bounds(self):
        lo = [0.0] * self.n_labels + ([-_RV_BOUND] if self.fit_velocity else []) + (
            [0.0] if self.fit_av else [])
        hi = [1.0] * self.n_labels + ([_RV_BOUND] if self.fit_velocity else []) + (
            [_AV_BOUND] if self.fit_av else [])
        return np.array(lo), np.array(hi)

    def fun_and_jac(self):
        """Residual and Jacobian callables that render all perturbed rows in one call."""
        cache = {}
        steps = self.steps()
        hi = self.bounds()[1]

        def evaluate(params):
            key = params.tobytes()
            if key not in cache:
                cache.clear()
                rows = [params]
                signs = np.where(params + steps > hi, -1.0, 1.0)
                for k in range(len(params)):
                    shifted = params.copy()
                    shifted[k] += signs[k] * steps[k]
                    rows.append(shifted)
                res, _, _ = self.residuals(np.array(rows))
                jac = ((res[1:] - res[0]) / (signs * steps)[:, None]).T
                cache[key] = (res[0], jac)
            return cache[key]

        return (lambda p: evaluate(p)[0]), (lambda p: evaluate(p)[1])

    def velocity_guess(self, scaled_labels):
        """Return the best velocity on a grid, half a resolution element apart, for labels."""
        wave = self.instrument._wave
        resolution = float(np.median(self.instrument.lsf.resolution_at(wave)))
        step = max(299792.458 / resolution / 2.0, 0.5)
        grid = np.arange(-_RV_BOUND, _RV_BOUND + step / 2, step)
        rows = np.column_stack([np.repeat(scaled_labels[None], len(grid), axis=0), grid,
                                *([np.full(len(grid), 0.5)] if self.fit_av else [])])
        res, _, _ = self.residuals(rows)
        return float(grid[np.argmin(np.sum(res**2, axis=1))])

    def starts(self, n, rng):
        prior = self.emulator.sample_labels(n, seed=rng)
        array = np.column_stack([prior[name].value for name in self.emulator.label_names])
        scaled = np.clip((array - self.lo) / (self.hi - self.lo), 0.0, 1.0)
        extra = []
        if self.fit_velocity:
            extra.append(np.zeros(n))
        if self.fit_av:
            extra.append(np.full(n, 0.5))
        return np.column_stack([scaled, *extra]) if extra else scaled


def _one(problem, n_starts, rng):
    fun, jac = problem.fun_and_jac()
    bounds = problem.bounds()
    best = None
    for start in problem.starts(n_starts, rng):
        result = least_squares(fun, start, jac=jac, bounds=bounds, x_scale="jac",
                               max_nfev=200)
        if best is None or result.cost < best.cost:
            best = result
    n_good = int(problem.good.sum())
    for _ in range(2):  # a poor fit may have its lines out of place: try the best velocity
        if not problem.fit_velocity or 2 * best.cost < _REFIT_CHI2 * n_good:
            break
        start = best.x.copy()
        start[problem.n_labels] = problem.velocity_guess(best.x[:problem.n_labels])
        result = least_squares(fun, start, jac=jac, bounds=bounds, x_scale="jac",
                               max_nfev=200)
        if result.cost >= best.cost:
            break
        best = result
    res, coeffs, model = problem.residuals(best.x[None])
    chi2 = float(np.sum(res**2))
    n_pix = int(problem.good.sum())
    scale = np.ones(len(best.x))
    scale[:problem.n_labels] = problem.hi - problem.lo
    try:
        cov = np.linalg.inv(best.jac.T @ best.jac)
    except np.linalg.LinAlgError:
        cov = np.full((len(best.x), len(best.x)), np.nan)
    n_free = len(best.x) + coeffs.shape[1]
    cov = cov * max(chi2 / max(n_pix - n_free, 1), 1.0)
    err = np.sqrt(np.clip(np.diag(cov), 0, None)) * scale
    value = best.x * scale
    value[:problem.n_labels] += problem.lo
    continuum = problem.basis @ coeffs[0]
    return value, err, coeffs[0], continuum * model[0], chi2, n_pix, bool(best.success)


def _arrays(spectrum, instrument):
    """Flux, sigma and good-pixel mask ``(n, n_pix)`` of a spectrum on the instrument grid."""
    if not is_spectrum(spectrum):
        raise SpecfmInputError(
            f"fit_spectrum needs a specutils Spectrum, not {type(spectrum).__name__}.")
    flux = np.atleast_2d(np.asarray(spectrum.flux.value, float))
    if flux.shape[-1] != instrument.n_pixels:
        raise ShapeMismatchError(
            f"The spectrum has {flux.shape[-1]} pixels but instrument {instrument.name!r} has "
            f"{instrument.n_pixels}: fit spectra on the instrument's own grid (as "
            "Instrument.render makes them), or describe the spectrum's grid with "
            "Instrument.from_spectrum.")
    if spectrum.uncertainty is None:
        raise SpecfmInputError("fit_spectrum needs the spectrum's uncertainties, for the "
                               "chi-square; give it a StdDevUncertainty.")
    sigma = np.atleast_2d(np.asarray(
        spectrum.uncertainty.represent_as(StdDevUncertainty).array, float))
    good = np.isfinite(flux) & np.isfinite(sigma) & (sigma > 0)
    if spectrum.mask is not None:
        good &= ~np.atleast_2d(np.asarray(spectrum.mask, bool))
    return flux, np.where(good, sigma, 1.0), good


def fit_spectrum(spectrum, instrument, emulator, *, fit_velocity=True, fit_av=None,
                 continuum_degree=3, n_starts=3, seed=0, progress=None):
    """Fit spectra with an emulator rendered through an instrument (least squares).

    Parameters
    ----------
    spectrum : specutils.Spectrum
        One spectrum or a 2-D batch on the instrument's pixel grid, with uncertainties
        (a mask, True = bad, and non-finite pixels are left out).
    instrument : specfm.synth.Instrument
        How the spectrum was recorded (a preset, or `Instrument.from_spectrum`).
    emulator : specfm.synth.Emulator
        The emulator whose labels to fit.
    fit_velocity : bool
        Also fit a radial velocity (within +-300 km/s). The starts are at zero velocity;
        a best fit with a chi-square above 1.5 per pixel is tried again from the best
        velocity on a grid half a resolution element apart.
    fit_av : bool or None
        Also fit A(V) (0-6 mag); default: for fluxed instruments only.
    continuum_degree : int
        Degree of the Legendre continuum factor (solved for linearly).
    n_starts : int
        Random starts from the emulator's label prior; the best fit is kept.
    seed : int
        Seed of the starts.
    progress : bool or None
        Progress bar over spectra (default: for more than 10).

    Returns
    -------
    `SpectrumFit` or `~astropy.table.QTable`
        One `SpectrumFit` for a 1-D spectrum; for a batch, a table with one row per
        spectrum: each label and ``<label>_err``, ``radial_velocity`` (and ``_err``),
        ``av`` (and ``_err``), ``chi2``, ``n_pixels``, ``success``.

    Raises
    ------
    SpecfmInputError
        If the spectrum is not on the instrument's grid or has no uncertainties.

    Examples
    --------
    A one-label emulator (a line whose depth grows with Teff), one noisy spectrum:

    >>> import astropy.units as u, numpy as np
    >>> from astropy.table import QTable
    >>> from specfm.synth import GridEmulator, Instrument, fit_spectrum
    >>> wave = np.arange(8400.0, 8700.0, 0.02)
    >>> lines = [1 - d * np.exp(-0.5 * ((wave - 8544.4) / 0.3) ** 2) for d in (0.3, 0.6)]
    >>> emulator = GridEmulator(wave * u.AA, np.array(lines),
    ...                         QTable({"teff": [4000.0, 6000.0] * u.K}), "vacuum")
    >>> instrument = Instrument("toy", np.linspace(8450, 8650, 400) * u.AA, resolution=10000)
    >>> spectrum = instrument.render(emulator, {"teff": [5300.0]}, snr=300, seed=1)
    >>> fit = fit_spectrum(spectrum[0], instrument, emulator)
    >>> bool(abs(fit.labels["teff"] - 5300 * u.K) < 5 * fit.errors["teff"])
    True

    """
    flux, sigma, good = _arrays(spectrum, instrument)
    fit_av = instrument.fluxed if fit_av is None else bool(fit_av)
    rng = np.random.default_rng(seed)
    names = emulator.label_names
    units = emulator.label_units
    fits = []
    show = len(flux) > 10 if progress is None else bool(progress)
    for i in tqdm(range(len(flux)), disable=not show, desc="emulator fits", unit="spectrum"):
        if good[i].sum() < len(names) + continuum_degree + 3:
            raise SpecfmInputError(f"Spectrum {i} has {int(good[i].sum())} usable pixels, "
                                   "too few to fit.")
        problem = _Problem(instrument, emulator, flux[i], sigma[i], good[i], fit_velocity,
                           fit_av, int(continuum_degree))
        value, err, coeffs, model, chi2, n_pix, ok = _one(problem, int(n_starts), rng)
        k = len(names)
        rv, rv_err = (value[k], err[k]) if fit_velocity else (0.0, 0.0)
        k += int(fit_velocity)
        av, av_err = (value[k], err[k]) if fit_av else (0.0, 0.0)
        fits.append(SpectrumFit(
            labels={n: value[j] * units[n] for j, n in enumerate(names)},
            errors={n: err[j] * _width_unit(units[n]) for j, n in enumerate(names)},
            radial_velocity=rv * u.km / u.s, radial_velocity_err=rv_err * u.km / u.s,
            av=av * u.mag, av_err=av_err * u.mag, continuum=coeffs, model=model,
            chi2=chi2, n_pixels=n_pix, success=ok))
    if np.ndim(spectrum.flux) == 1:
        return fits[0]
    return _table(fits, names)


def _width_unit(unit):
    """Return the unit of an uncertainty: a width in dex for a logarithmic unit."""
    return u.dex if isinstance(unit, u.DexUnit) else unit


def _column(values):
    """One Quantity (or Dex) array from a list of scalars of one unit."""
    return np.array([v.value for v in values]) * values[0].unit


def _table(fits, names):
    from astropy.table import QTable

    table = QTable()
    for name in names:
        table[name] = _column([f.labels[name] for f in fits])
        table[f"{name}_err"] = _column([f.errors[name] for f in fits])
    for name in ("radial_velocity", "av"):
        table[name] = _column([getattr(f, name) for f in fits])
        table[f"{name}_err"] = _column([getattr(f, f"{name}_err") for f in fits])
    table["chi2"] = [f.chi2 for f in fits]
    table["n_pixels"] = [f.n_pixels for f in fits]
    table["success"] = [f.success for f in fits]
    return table
