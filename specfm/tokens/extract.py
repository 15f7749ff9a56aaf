"""Turn specutils objects into plain arrays in specfm's internal convention.

This is the door where units are converted, once: the spectral axis to vacuum Angstrom in
the rest frame, in ascending order; flux densities to erg / (s cm2 Angstrom) (counts and
ratios are kept as they are); every uncertainty class to a standard deviation; masks to
a boolean "bad pixel" array.
"""

import dataclasses
import os
import warnings

import astropy.units as u
import numpy as np
from astropy.nddata import InverseVariance, StdDevUncertainty, VarianceUncertainty

from .._compat import is_spectrum
from ..exceptions import (
    FluxUnitError,
    ShapeMismatchError,
    SpecfmInputError,
    SpecfmWarning,
    SpectralAxisError,
)
from ..wavelengths import air_to_vacuum, doppler_factor

__all__ = ["FLAMBDA_UNIT", "SpectrumGroup", "extract_groups"]

FLAMBDA_UNIT = u.erg / (u.s * u.cm**2 * u.AA)
"""Flux densities are converted to this unit at the door."""

_COUNT_UNITS = {u.ct, u.electron, u.adu, u.DN, u.photon}
_MEDIA = ("vacuum", "air")


@dataclasses.dataclass
class SpectrumGroup:
    """Spectra that share one spectral axis, as plain arrays.

    Attributes
    ----------
    wavelength : numpy.ndarray, shape (n_pix,)
        Vacuum rest-frame wavelength in Angstrom, ascending (for each row after its own
        Doppler shift, see `doppler`).
    flux : numpy.ndarray, shape (n_rows, n_pix)
        Flux, in erg / (s cm2 Angstrom) for flux densities, else in the input unit.
    error : numpy.ndarray or None, shape (n_rows, n_pix)
        One-sigma uncertainty on the same scale; ``inf`` where the input said "no
        information" (zero inverse variance); NaN where it was invalid (negative); None when
        the spectra carried no usable uncertainty.
    bad : numpy.ndarray of bool, shape (n_rows, n_pix)
        True where the input mask flagged the pixel.
    doppler : numpy.ndarray, shape (n_rows,)
        ``1 + z`` of each row; divide `wavelength` by it for that row's rest frame.
    flux_unit : astropy.units.UnitBase
        Unit of `flux` and `error`.
    uncertainty_note : str or None
        Why `error` is None, when the input had an uncertainty that could not be used.

    """

    wavelength: np.ndarray
    flux: np.ndarray
    error: np.ndarray | None
    bad: np.ndarray
    doppler: np.ndarray
    flux_unit: u.UnitBase
    uncertainty_note: str | None = None

    @property
    def n_rows(self):
        """Number of spectra in the group."""
        return self.flux.shape[0]


@dataclasses.dataclass
class _Parts:
    """The pieces of one spectrum (1-D or N-D) that the adapter reads."""

    spectral_axis: object
    flux: object
    uncertainty: object
    mask: object


def _collection_parts(collection):
    """Rows of a SpectrumCollection, read from its arrays (each row has its own axis)."""
    unc, mask = collection.uncertainty, collection.mask
    for i in range(collection.flux.shape[0]):
        yield _Parts(
            collection.spectral_axis[i],
            collection.flux[i],
            None if unc is None else unc[i],
            None if mask is None else np.asarray(mask)[i],
        )


def _flatten_inputs(spectra):
    """Yield `_Parts` of single spectra (1-D or N-D) from any accepted container."""
    if type(spectra).__name__ == "SpectrumCollection":
        yield from _collection_parts(spectra)
        return
    if is_spectrum(spectra):
        yield _Parts(spectra.spectral_axis, spectra.flux, spectra.uncertainty, spectra.mask)
        return
    if isinstance(spectra, list | tuple):  # also SpectrumList, a list subclass
        if len(spectra) == 0:
            raise SpecfmInputError("No spectra were given: the list is empty.")
        for item in spectra:
            if (
                isinstance(item, list | tuple)
                or type(item).__name__ == "SpectrumCollection"
                or is_spectrum(item)
            ):
                yield from _flatten_inputs(item)
            else:
                raise _not_a_spectrum(item)
        return
    raise _not_a_spectrum(spectra)


def _not_a_spectrum(obj):
    if isinstance(obj, np.ndarray | u.Quantity):
        return FluxUnitError(
            f"Got a bare array ({type(obj).__name__}) instead of a spectrum: specfm needs "
            "the flux unit and the spectral axis. Wrap it first, e.g. "
            "specutils.Spectrum(flux=flux * u.Unit('erg / (s cm2 AA)'), "
            "spectral_axis=wavelength * u.AA)."
        )
    if isinstance(obj, str | os.PathLike):
        return SpecfmInputError(
            f"Got a file name ({os.fspath(obj)!r}) instead of a spectrum. Read it first, e.g. "
            "specutils.Spectrum.read(path, format='APOGEE apStar'); Model.predict(path) "
            "reads one file itself, and specfm.predict_files(paths) reads many.")
    return SpecfmInputError(
        f"Cannot read a spectrum from a {type(obj).__name__}. Give a specutils Spectrum "
        "(or Spectrum1D), a 2-D Spectrum batch, a SpectrumList, a SpectrumCollection, or a "
        "list of these."
    )


def _spectral_axis_angstrom(spectrum, position):
    axis = spectrum.spectral_axis
    if axis is None:
        raise SpectralAxisError(f"Spectrum {position} has no spectral axis.")
    axis = u.Quantity(axis)
    if not axis.unit.is_equivalent(u.AA, equivalencies=u.spectral()):
        raise SpectralAxisError(
            f"Spectrum {position} has a spectral axis in {axis.unit!s}, which is not a "
            "wavelength, frequency, wavenumber or energy. Convert it to one (e.g. a velocity "
            "axis around a line: wavelength = rest_wavelength * (1 + v / c)), or give "
            "pixels their wavelength calibration."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        wave = axis.to_value(u.AA, equivalencies=u.spectral())
    wave = np.asarray(wave, dtype=float)
    if wave.ndim != 1:
        raise ShapeMismatchError(
            f"Spectrum {position} has a {wave.ndim}-D spectral axis; specfm needs one axis "
            "per spectrum (use a SpectrumCollection for spectra on different grids)."
        )
    if not np.all(np.isfinite(wave)) or np.any(wave <= 0):
        bad = int(np.sum(~np.isfinite(wave) | (wave <= 0)))
        raise SpectralAxisError(
            f"Spectrum {position}: {bad} of {wave.size} spectral-axis values are not finite "
            "positive wavelengths (zero frequency or wavenumber, NaN or inf). Trim those "
            "pixels or fix the wavelength calibration."
        )
    return wave


def _flux_conversion(flux_unit, wave, position):
    """Return per-pixel factors that turn values in ``flux_unit`` into specfm's unit."""
    if flux_unit is None:
        raise FluxUnitError(
            f"Spectrum {position} has flux without a unit. Give the flux as a Quantity, e.g. "
            "flux * u.Unit('erg / (s cm2 AA)'), or flux * u.dimensionless_unscaled for "
            "normalised spectra."
        )
    flux_unit = u.Unit(flux_unit)
    if flux_unit.is_equivalent(FLAMBDA_UNIT, equivalencies=u.spectral_density(wave * u.AA)):
        factor = (1.0 * flux_unit).to_value(
            FLAMBDA_UNIT, equivalencies=u.spectral_density(wave * u.AA)
        )
        return np.broadcast_to(np.asarray(factor, dtype=float), wave.shape), FLAMBDA_UNIT
    if flux_unit.physical_type == "dimensionless":
        scale = flux_unit.to(u.dimensionless_unscaled)
        return np.full(wave.shape, scale), u.dimensionless_unscaled
    bases = set(flux_unit.decompose().bases)
    if bases & _COUNT_UNITS:
        return np.ones(wave.shape), flux_unit
    raise FluxUnitError(
        f"Spectrum {position} has flux in {flux_unit!s}, which is not a flux density, a "
        "count rate or a dimensionless ratio. Check the file's BUNIT, or build the Spectrum "
        "with the right unit (e.g. u.Unit('erg / (s cm2 AA)') or u.Jy)."
    )


def _uncertainty_std(spectrum, shape, flux_unit, position):
    """Return (std array in ``flux_unit`` or None, note)."""
    unc = spectrum.uncertainty
    if unc is None:
        return None, None
    array = np.asarray(unc.array, dtype=float)
    if array.shape != shape:
        raise ShapeMismatchError(
            f"Spectrum {position}: uncertainty has shape {array.shape} but flux has shape "
            f"{shape}. They must match pixel for pixel."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        if isinstance(unc, StdDevUncertainty):
            std = np.where(array >= 0, array, np.nan)
            unit = unc.unit or flux_unit
        elif isinstance(unc, VarianceUncertainty):
            std = np.sqrt(np.where(array >= 0, array, np.nan))
            unit = unc.unit**0.5 if unc.unit is not None else flux_unit
        elif isinstance(unc, InverseVariance):
            std = np.where(array > 0, 1.0 / np.sqrt(np.where(array > 0, array, 1.0)), np.inf)
            std = np.where(array < 0, np.nan, std)
            unit = u.Unit(unc.unit**-0.5) if unc.unit is not None else flux_unit
        else:
            try:
                converted = unc.represent_as(StdDevUncertainty)
            except (TypeError, AttributeError, NotImplementedError, ValueError):
                note = f"its {type(unc).__name__} cannot be turned into a standard deviation"
                return None, note
            std = np.where(converted.array >= 0, converted.array, np.nan)
            unit = converted.unit or flux_unit
    try:
        std = std * u.Unit(unit).to(flux_unit)
    except u.UnitConversionError as exc:
        raise FluxUnitError(
            f"Spectrum {position}: the uncertainty's unit ({unit!s}) does not match the "
            f"flux unit ({flux_unit!s}). Give the uncertainty in the flux unit."
        ) from exc
    return std, None


def _as_rows(array, n_rows, n_pix):
    return np.asarray(array, dtype=float).reshape(n_rows, n_pix)


def _per_row(values, n_rows, name):
    """Broadcast a scalar or per-spectrum sequence to ``n_rows`` floats (or Nones)."""
    if values is None:
        return [None] * n_rows
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if arr.size == 1:
        return [float(arr[0])] * n_rows
    if arr.size != n_rows:
        raise ShapeMismatchError(
            f"{name} has {arr.size} values but {n_rows} spectra were given: give one value, "
            "or one per spectrum."
        )
    return [float(x) for x in arr]


def extract_groups(spectra, medium="vacuum", radial_velocity=None, redshift=None):
    """Convert accepted spectrum inputs into `SpectrumGroup` objects.

    Parameters
    ----------
    spectra : Spectrum, Spectrum1D, SpectrumList, SpectrumCollection or list of these
        The input. N-D spectra are treated as batches over all but the last axis.
    medium : {"vacuum", "air"}
        The medium the input wavelengths are measured in; air is converted to vacuum.
    radial_velocity : Quantity, optional
        Velocity (scalar, or one per spectrum) to remove, moving the spectra to the rest
        frame.
    redshift : float or array-like, optional
        Redshift (scalar, or one per spectrum) to remove; give at most one of
        ``radial_velocity`` and ``redshift``.

    Returns
    -------
    list of SpectrumGroup
        In input order; flattening the groups' rows gives the spectra's positions.

    Raises
    ------
    SpecfmInputError
        Or one of its subclasses, with a message saying what to change.

    """
    if medium not in _MEDIA:
        raise SpecfmInputError(f"medium must be 'vacuum' or 'air', not {medium!r}.")
    if radial_velocity is not None and redshift is not None:
        raise SpecfmInputError("Give either radial_velocity or redshift, not both.")
    if radial_velocity is not None:
        rv = u.Quantity(radial_velocity)
        if rv.unit == u.dimensionless_unscaled:
            raise SpecfmInputError(
                "radial_velocity needs a unit, e.g. radial_velocity=-12.3 * u.km / u.s."
            )
        radial_velocity = rv.to_value(u.km / u.s)

    singles = list(_flatten_inputs(spectra))
    raw = []
    for position, spectrum in enumerate(singles):
        raw.append(_extract_one(spectrum, position, medium))

    n_total = sum(g.n_rows for g in raw)
    rvs = _per_row(radial_velocity, n_total, "radial_velocity")
    zs = _per_row(redshift, n_total, "redshift")
    start = 0
    for group in raw:
        rows = slice(start, start + group.n_rows)
        try:
            group.doppler = np.array(
                [doppler_factor(v, z) for v, z in zip(rvs[rows], zs[rows], strict=True)],
                dtype=float,
            )
        except ValueError as exc:
            raise SpecfmInputError(str(exc)) from exc
        start += group.n_rows
    return raw


def _extract_one(spectrum, position, medium):
    wave = _spectral_axis_angstrom(spectrum, position)
    flux_q = spectrum.flux
    flux_unit = getattr(flux_q, "unit", None)
    flux_values = np.asarray(getattr(flux_q, "value", flux_q), dtype=float)
    n_pix = wave.size
    if flux_values.shape[-1:] != (n_pix,):
        raise ShapeMismatchError(
            f"Spectrum {position}: flux has shape {flux_values.shape} but the spectral axis "
            f"has {n_pix} pixels; the last flux axis must be the spectral axis."
        )
    # Emptiness (no pixels) is judged later, per spectrum, so the report can say which.
    n_rows = int(np.prod(flux_values.shape[:-1]))
    factor, unit = _flux_conversion(flux_unit, wave, position)
    std, note = _uncertainty_std(spectrum, flux_values.shape, flux_unit, position)

    mask = spectrum.mask
    if mask is None:
        bad = np.zeros(flux_values.shape, dtype=bool)
    else:
        mask = np.asarray(mask)
        if mask.shape != flux_values.shape:
            raise ShapeMismatchError(
                f"Spectrum {position}: mask has shape {mask.shape} but flux has shape "
                f"{flux_values.shape}. They must match pixel for pixel."
            )
        bad = mask != 0

    if medium == "air":
        wave = air_to_vacuum(wave)
    order = np.argsort(wave, kind="stable")
    wave = wave[order]
    if n_pix > 1 and np.any(np.diff(wave) <= 0):
        raise SpectralAxisError(
            f"Spectrum {position}: the spectral axis repeats values, so pixels cannot be "
            "ordered by wavelength. Remove duplicate pixels first."
        )
    flux = _as_rows(flux_values, n_rows, n_pix)[:, order] * factor[order]
    error = None if std is None else _as_rows(std, n_rows, n_pix)[:, order] * factor[order]
    if note is not None:
        warnings.warn(
            f"Spectrum {position}: {note}; its noise is estimated from the flux instead "
            "(DER_SNR). Give a StdDevUncertainty, VarianceUncertainty or InverseVariance to "
            "use your own.",
            SpecfmWarning,
            stacklevel=4,
        )
    return SpectrumGroup(
        wavelength=wave,
        flux=flux,
        error=error,
        bad=bad.reshape(n_rows, n_pix)[:, order],
        doppler=np.ones(flux.shape[0]),
        flux_unit=unit,
        uncertainty_note=note,
    )
