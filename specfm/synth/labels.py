"""Stellar label vectors: names, units, valid ranges, conversion and a prior.

Every emulator in `specfm.synth` describes its inputs with a tuple of `Label` objects.
At the public boundary, labels are an `~astropy.table.QTable` (or a mapping of column
name to `~astropy.units.Quantity`); inside, they are a plain ``(n_stars, n_labels)`` float
array in the units listed here.

Label names and units follow the house convention: ``teff`` (K), ``logg``
(``dex(cm / s2)``), ``fe_h`` / ``m_h`` ([X/H] in dex), ``mg_fe`` ([X/Fe] in dex),
``mg_m`` ([X/M] in dex), ``vmacro`` (km/s).
"""

import dataclasses

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table

from ..exceptions import SpecfmInputError

__all__ = [
    "EXTRAPOLATE_CHOICES",
    "ExtrapolationError",
    "Label",
    "LabelError",
    "check_range",
    "labels_to_array",
    "labels_to_table",
    "sample_prior",
]

EXTRAPOLATE_CHOICES = ("raise", "flag")
"""Accepted values of the ``extrapolate`` argument of emulators."""

LOGG_UNIT = u.dex(u.cm / u.s**2)


class LabelError(SpecfmInputError):
    """Labels that are missing, unknown, of the wrong unit or not finite."""


class ExtrapolationError(SpecfmInputError):
    """Labels outside an emulator's valid range (pass ``extrapolate="flag"`` to allow)."""


@dataclasses.dataclass(frozen=True)
class Label:
    """One input label of an emulator.

    Parameters
    ----------
    name : str
        House name, e.g. ``"teff"``, ``"logg"``, ``"fe_h"``, ``"mg_m"``.
    unit : `~astropy.units.UnitBase`
        Unit of the internal value (``u.K``, ``u.dex(u.cm / u.s**2)``, ``u.dex``,
        ``u.km / u.s``).
    minimum, maximum : float
        Valid range, in `unit`; outside it the emulator extrapolates.
    description : str, optional
        What the label means, e.g. ``"[Mg/M]"``.

    Examples
    --------
    >>> import astropy.units as u
    >>> bool(Label("teff", u.K, 3500.0, 8000.0, "effective temperature").contains(4000.0))
    True

    """

    name: str
    unit: u.UnitBase
    minimum: float
    maximum: float
    description: str = ""

    def contains(self, value):
        """Return True where ``value`` (plain floats in `unit`) lies in the valid range."""
        value = np.asarray(value, dtype=float)
        return (value >= self.minimum) & (value <= self.maximum)

    @property
    def range(self):
        """The valid range as a length-2 `~astropy.units.Quantity`."""
        return np.array([self.minimum, self.maximum]) * self.unit


def _column_values(column, label):
    """Return a column as plain floats in ``label.unit`` (bare numbers are taken as-is)."""
    unit = getattr(column, "unit", None)
    if unit is None:
        return np.asarray(column, dtype=float)
    quantity = column if isinstance(column, u.Quantity) else np.asarray(column) * unit
    if (isinstance(label.unit, u.DexUnit) and isinstance(quantity.unit, u.DexUnit)
            and quantity.unit.physical_unit == u.dimensionless_unscaled):
        # logg given in plain "dex": take the number as dex(cm / s2)
        return np.asarray(quantity.value, dtype=float)
    try:
        return np.asarray(quantity.to_value(label.unit, equivalencies=u.temperature()),
                          dtype=float)
    except u.UnitsError as err:
        raise LabelError(
            f"Label {label.name!r} has unit {quantity.unit}, which cannot be converted to "
            f"{label.unit}; give it in {label.unit} (or as plain numbers in that unit)."
        ) from err


def labels_to_array(labels, spec, defaults=None):
    """Convert labels at the public boundary to a plain ``(n, len(spec))`` float array.

    Parameters
    ----------
    labels : `~astropy.table.Table`, `~astropy.table.QTable`, dict or array-like
        A table or mapping with one column per label name (extra columns are ignored), or
        an array of shape ``(n, len(spec))`` / ``(len(spec),)`` in the order of ``spec``
        and in its units. Quantities are converted; bare numbers are taken to be in the
        label's unit.
    spec : sequence of `Label`
        The labels the emulator needs.
    defaults : dict, optional
        Values (in the label's unit) for labels missing from ``labels``.

    Returns
    -------
    numpy.ndarray
        Float64 array of shape ``(n, len(spec))``.

    Raises
    ------
    LabelError
        A label is missing, has an incompatible unit, is not finite, or the shape is wrong.

    Examples
    --------
    >>> import astropy.units as u
    >>> spec = (Label("teff", u.K, 3000, 8000), Label("fe_h", u.dex, -2, 0.5))
    >>> labels_to_array({"teff": [5000, 6000] * u.K, "fe_h": [0.0, -1.0] * u.dex}, spec)
    array([[ 5.e+03,  0.e+00],
           [ 6.e+03, -1.e+00]])

    """
    defaults = defaults or {}
    names = [label.name for label in spec]
    if isinstance(labels, (Table, QTable, dict)) or hasattr(labels, "keys"):
        keys = set(labels.colnames if isinstance(labels, Table) else labels.keys())
        missing = [n for n in names if n not in keys and n not in defaults]
        if missing:
            raise LabelError(
                f"Labels {missing} are missing; this emulator needs {names} "
                f"(give them as table columns or dict keys)."
            )
        columns = []
        n = None
        for label in spec:
            if label.name in keys:
                values = np.atleast_1d(_column_values(labels[label.name], label))
                n = len(values) if n is None else n
                if len(values) != n:
                    raise LabelError("All label columns must have the same length.")
                columns.append(values)
            else:
                columns.append(None)
        n = 1 if n is None else n
        columns = [
            np.full(n, float(defaults[lab.name])) if col is None else col
            for lab, col in zip(spec, columns, strict=True)
        ]
        array = np.stack(columns, axis=1).astype(float)
    else:
        array = np.atleast_2d(np.asarray(labels, dtype=float))
        if array.ndim != 2 or array.shape[1] != len(spec):
            raise LabelError(
                f"A label array must have shape (n, {len(spec)}) with columns {names}; "
                f"got shape {np.shape(labels)}."
            )
    if not np.all(np.isfinite(array)):
        bad = [names[i] for i in np.unique(np.nonzero(~np.isfinite(array))[1])]
        raise LabelError(f"Labels {bad} contain NaN or infinite values; drop those stars.")
    return array


def labels_to_table(array, spec, meta=None):
    """Turn a plain ``(n, len(spec))`` array into a `~astropy.table.QTable` with units.

    Parameters
    ----------
    array : numpy.ndarray
        Label values in the units of ``spec``.
    spec : sequence of `Label`
        Names and units of the columns.
    meta : dict, optional
        Table metadata.

    Returns
    -------
    `~astropy.table.QTable`
        One Quantity column per label.

    Examples
    --------
    >>> import astropy.units as u
    >>> t = labels_to_table([[5000.0, 2.5]], (Label("teff", u.K, 3000, 8000),
    ...                                       Label("logg", LOGG_UNIT, 0, 5)))
    >>> t["teff"].unit, t.colnames
    (Unit("K"), ['teff', 'logg'])

    """
    array = np.atleast_2d(np.asarray(array, dtype=float))
    table = QTable(meta=dict(meta or {}))
    for i, label in enumerate(spec):
        table[label.name] = array[:, i] * label.unit
    return table


def check_range(array, spec, extrapolate="raise"):
    """Check labels against the valid ranges; return a boolean ``extrapolated`` per star.

    Parameters
    ----------
    array : numpy.ndarray
        Labels, shape ``(n, len(spec))``.
    spec : sequence of `Label`
        The valid ranges.
    extrapolate : {"raise", "flag"}
        ``"raise"``: raise `ExtrapolationError` if any star is outside; ``"flag"``: return
        the flags and let the caller mark those stars.

    Returns
    -------
    numpy.ndarray
        Boolean array of shape ``(n,)``, True where any label is outside its range.

    Raises
    ------
    ExtrapolationError
        With ``extrapolate="raise"``, when any label is out of range.

    """
    if extrapolate not in EXTRAPOLATE_CHOICES:
        raise SpecfmInputError(
            f"extrapolate must be one of {EXTRAPOLATE_CHOICES}, got {extrapolate!r}."
        )
    inside = np.stack([lab.contains(array[:, i]) for i, lab in enumerate(spec)], axis=1)
    outside = ~inside.all(axis=1)
    if outside.any() and extrapolate == "raise":
        i_star = int(np.argmax(outside))
        bad = [
            f"{lab.name}={array[i_star, j]:g} not in [{lab.minimum:g}, {lab.maximum:g}] "
            f"{lab.unit}"
            for j, lab in enumerate(spec)
            if not inside[i_star, j]
        ]
        raise ExtrapolationError(
            f"{int(outside.sum())} of {len(array)} stars lie outside the emulator's valid "
            f"range (first: star {i_star}: {'; '.join(bad)}). Keep labels inside the range, "
            f'or pass extrapolate="flag" to render them and flag them as extrapolated.'
        )
    return outside


def sample_prior(training, spec, n, rng, jitter=0.05):
    """Draw ``n`` label vectors from training labels, with Gaussian jitter, kept in range.

    Parameters
    ----------
    training : numpy.ndarray
        Training label vectors, shape ``(n_train, len(spec))``.
    spec : sequence of `Label`
        Valid ranges (draws are clipped to them).
    n : int
        Number of draws.
    rng : numpy.random.Generator
        Random generator.
    jitter : float
        Standard deviation of the jitter as a fraction of each label's valid range.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, len(spec))``.

    """
    training = np.asarray(training, dtype=float)
    lo = np.array([lab.minimum for lab in spec])
    hi = np.array([lab.maximum for lab in spec])
    picks = training[rng.integers(0, len(training), size=int(n))]
    picks = picks + rng.normal(size=picks.shape) * float(jitter) * (hi - lo)
    return np.clip(picks, lo, hi)
