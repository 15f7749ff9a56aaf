"""Non-spectral inputs (photometric colours, known labels) as tokens."""

import dataclasses

import astropy.units as u
import numpy as np

from ..exceptions import FluxUnitError, ShapeMismatchError, SpecfmInputError

__all__ = ["ExtraTokens", "extra_tokens", "input_column"]


@dataclasses.dataclass
class ExtraTokens:
    """Scaled non-spectral token values for a set of spectra.

    Attributes
    ----------
    ident : numpy.ndarray of int, shape (n_names,)
        Vocabulary ids of the input names, in the order given.
    value, error : numpy.ndarray, shape (n_spectra, n_names)
        ``(value - offset) / scale`` and ``error / scale``.
    present : numpy.ndarray of bool, shape (n_spectra, n_names)
        False where the value was masked or not finite (no token is made).

    """

    ident: np.ndarray
    value: np.ndarray
    error: np.ndarray
    present: np.ndarray


def _column(inputs, name):
    col = inputs[name]
    mask = np.ma.getmaskarray(col) if np.ma.isMaskedArray(col) or hasattr(col, "mask") else None
    if hasattr(col, "unit") and not isinstance(col, u.Quantity) and col.unit is not None:
        values = np.asarray(np.ma.getdata(col), dtype=float) * col.unit  # a Table Column
    elif isinstance(col, u.Quantity):
        values = col
    else:
        values = np.ma.getdata(col)
    if mask is not None:
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), np.shape(values))
    return values, mask


def _to_spec_unit(values, spec, name):
    """Return plain floats in the vocabulary unit of ``spec``."""
    unit = spec.quantity_unit
    if not hasattr(values, "unit"):
        return np.asarray(values, dtype=float)
    try:
        return np.asarray(values.to_value(unit), dtype=float)
    except u.UnitsError:
        # A logarithmic unit (dex(cm / s2)) also accepts plain dex.
        if getattr(unit, "physical_unit", None) is not None and values.unit == u.dex:
            return np.asarray(values.value, dtype=float)
        raise FluxUnitError(
            f"Input {name!r} is in {values.unit!s}, which cannot be converted to its unit "
            f"{unit!s}. Give it in {unit!s} (or as plain numbers in that unit)."
        ) from None


def input_column(inputs, name, spec, with_error=True):
    """Return one input's values and errors in the unit of its vocabulary entry.

    Parameters
    ----------
    inputs : dict, `~astropy.table.Table` or `~astropy.table.QTable`
        Holds column ``name`` and, if ``with_error``, ``<name>_err``.
    name : str
        The column.
    spec : TokenSpec
        Its vocabulary entry (unit).
    with_error : bool
        Read ``<name>_err`` too (else the errors are zero).

    Returns
    -------
    values, errors : numpy.ndarray
        Plain floats (errors NaN where masked; an error in dex is taken as a width).
    mask : numpy.ndarray of bool or None
        The values' mask, when the column had one.

    Raises
    ------
    FluxUnitError
        If a unit cannot be converted.

    """
    raw, mask = _column(inputs, name)
    vals = _to_spec_unit(raw, spec, name)
    errs = np.zeros_like(vals)
    if with_error:
        raw_err, err_mask = _column(inputs, f"{name}_err")
        if getattr(raw_err, "unit", None) == u.dex:
            errs = np.asarray(raw_err.value, dtype=float)  # an error in dex is a width
        else:
            errs = _to_spec_unit(raw_err, spec, f"{name}_err")
        if err_mask is not None:
            errs = np.where(err_mask, np.nan, errs)
    return vals, errs, mask


def extra_tokens(inputs, n_spectra, vocabulary):
    """Turn a table or mapping of non-spectral inputs into scaled token values.

    Parameters
    ----------
    inputs : dict, `~astropy.table.Table` or `~astropy.table.QTable`
        Columns named after vocabulary entries (e.g. ``"bp_rp"``, ``"logg"``), each a
        scalar or one value per spectrum, as Quantities or plain numbers in the
        vocabulary's unit; optional ``"<name>_err"`` columns give one-sigma
        uncertainties. Masked or non-finite values make no token. An input without an
        ``_err`` column is treated as exact (its error is set to the error floor later).
    n_spectra : int
        Number of spectra the inputs belong to.
    vocabulary : Vocabulary
        Names, units and scalings.

    Returns
    -------
    ExtraTokens or None
        None when ``inputs`` is None or empty.

    Raises
    ------
    SpecfmInputError
        For names not in the vocabulary, values of the wrong length or unit.

    """
    if inputs is None:
        return None
    names = [n for n in (inputs.colnames if hasattr(inputs, "colnames") else inputs.keys())]
    value_names = [n for n in names if not (n.endswith("_err") and n[:-4] in names)]
    if not value_names:
        return None
    unknown = [n for n in value_names if n not in vocabulary]
    if unknown:
        raise SpecfmInputError(
            f"Inputs {', '.join(map(repr, unknown))} are not in the vocabulary. Known "
            f"inputs: {', '.join(vocabulary.names)}. Rename the columns, or drop the ones "
            "the model does not know."
        )
    ident = np.array([vocabulary.index(n) for n in value_names], dtype=np.int64)
    value = np.zeros((n_spectra, len(value_names)))
    error = np.zeros((n_spectra, len(value_names)))
    present = np.zeros((n_spectra, len(value_names)), dtype=bool)
    for j, name in enumerate(value_names):
        spec = vocabulary[name]
        vals, errs, mask = input_column(inputs, name, spec, f"{name}_err" in names)
        try:
            vals = np.broadcast_to(vals, (n_spectra,)).astype(float)
            errs = np.broadcast_to(errs, (n_spectra,)).astype(float)
            mask = (
                np.zeros(n_spectra, bool) if mask is None else np.broadcast_to(mask, (n_spectra,))
            )
        except ValueError:
            raise ShapeMismatchError(
                f"Input {name!r} has {np.size(vals)} values but there are {n_spectra} "
                "spectra: give one value, or one per spectrum."
            ) from None
        ok = ~mask & np.isfinite(vals)
        errs = np.where(np.isfinite(errs) & (errs >= 0), errs, 0.0)
        value[:, j] = np.where(ok, (vals - spec.offset) / spec.scale, 0.0)
        error[:, j] = np.where(ok, errs / spec.scale, 0.0)
        present[:, j] = ok
    return ExtraTokens(ident=ident, value=value, error=error, present=present)
