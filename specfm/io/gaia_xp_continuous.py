"""Gaia XP *continuous* spectra (the archive's XP_CONTINUOUS), sampled through GaiaXPy.

The Gaia archive publishes XP spectra as coefficients of basis functions
(``bp_coefficients``, ``rp_coefficients``, their errors and correlations). GaiaXPy, the
library of the Gaia collaboration for them, turns coefficients into absolutely calibrated
fluxes on a chosen sampling (``gaiaxpy.calibrate``). This reader calls it on the file and
returns the spectra on the grid the XP models read (``GAIA_XP_SAMPLING``: 336-1020 nm, 2 nm
apart), so an archive download goes straight into `~specfm.inference.Model.predict`.

GaiaXPy is an optional dependency: ``pip install "specfm[xp]"`` (or ``pip install
gaiaxpy``). The reader is registered with specutils as ``"Gaia XP continuous"``; files
with ``source_id`` and ``bp_coefficients``/``rp_coefficients`` columns are recognised
without ``format=``.

Some archive exports (e.g. a hand-picked list of columns) lack ``bp_standard_deviation``
and ``rp_standard_deviation``, which GaiaXPy requires; the reader then uses 1 for them
(the coefficient errors as the file gives them, not rescaled by the fit's standard
deviation) and says so with a `~specfm.exceptions.SpecfmWarning`. Photometry the file
carries (``phot_g_mean_mag``, ``phot_bp_mean_mag``, ``phot_rp_mean_mag``) is kept in
``meta["photometry"]``, and `photometry_inputs` turns it into the colour inputs of the XP
models where enough of it is present.
"""

import contextlib
import inspect
import io
import os
import tempfile
import warnings

import astropy.units as u
import numpy as np
from astropy.nddata import StdDevUncertainty
from astropy.table import QTable, Table
from astropy.utils.masked import Masked

from .._compat import make_spectrum
from ..exceptions import FileFormatError, MissingDependencyError, SpecfmWarning
from .gaia_xp_sampled import (
    GAIA_XP_FLUX_UNIT,
    GAIA_XP_SAMPLING,
    _path_of,
    column_names,
    register_table_reader,
)

__all__ = [
    "CONTINUOUS_FORMAT_NAME",
    "PHOTOMETRY_COLUMNS",
    "identify_gaia_xp_continuous",
    "photometry_inputs",
    "read_gaia_xp_continuous",
    "register_continuous",
]

CONTINUOUS_FORMAT_NAME = "Gaia XP continuous"
"""The specutils format name of `read_gaia_xp_continuous`."""

PHOTOMETRY_COLUMNS = ("phot_g_mean_mag", "phot_bp_mean_mag", "phot_rp_mean_mag")
"""Gaia photometry columns kept in ``meta["photometry"]`` when a file has them."""

_COEFFICIENTS = ("bp_coefficients", "rp_coefficients")
_STANDARD_DEVIATIONS = ("bp_standard_deviation", "rp_standard_deviation")


def identify_gaia_xp_continuous(origin, *args, **kwargs):
    """Return True for a CSV, ECSV or FITS file of Gaia XP coefficients (specutils identifier).

    A file is recognised by a ``source_id`` column and ``bp_coefficients`` or
    ``rp_coefficients``; the arguments are those of
    `~specfm.io.identify_gaia_xp_sampled`.
    """
    names = column_names(_path_or_name(args[0])) if args else None
    if not names:
        return False
    names = {n.lower() for n in names}
    return "source_id" in names and bool(names & set(_COEFFICIENTS))


def _path_or_name(source):
    """Return a path, or the name of an open file (astropy's identifiers get either)."""
    name = getattr(source, "name", None)
    return source if isinstance(source, str | os.PathLike) or name is None else name


@contextlib.contextmanager
def _quiet_gaiaxpy():
    """Keep GaiaXPy's progress output and its pandas deprecation chatter to itself."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        for category in (DeprecationWarning, PendingDeprecationWarning, FutureWarning,
                         ResourceWarning):
            warnings.simplefilter("ignore", category)
        warnings.filterwarnings("ignore", module="gaiaxpy")
        warnings.filterwarnings("ignore", message=".*deprecated.*")
        yield


def _gaiaxpy():
    """Return a function ``(path, sampling_nm) -> DataFrame`` that samples with GaiaXPy."""
    try:
        with _quiet_gaiaxpy():
            from gaiaxpy import calibrate
            from gaiaxpy.calibrator import calibrator
    except ImportError:
        raise MissingDependencyError(
            "Reading Gaia XP continuous (coefficient) files needs GaiaXPy: "
            "pip install 'specfm[xp]' (or pip install gaiaxpy). Or download the XP_SAMPLED "
            "product from the Gaia archive and read it with format='Gaia XP sampled'."
        ) from None
    quiet = getattr(calibrator, "_calibrate", None)  # the same, with its progress bar off

    def sample(source, sampling):
        with _quiet_gaiaxpy():
            if quiet is not None and "disable_info" in inspect.signature(quiet).parameters:
                frame, _ = quiet(source, sampling=sampling, save_file=False, disable_info=True)
            else:
                frame, _ = calibrate(source, sampling=sampling, save_file=False)
        return frame

    return sample


def _read_table(path):
    name = os.fspath(path).lower()
    try:
        if name.endswith((".csv", ".csv.gz")):
            return Table.read(path, format="ascii.csv")
        return Table.read(path)
    except Exception as error:
        raise FileFormatError(f"Cannot read {os.fspath(path)} as a table: {error}") from error


def _with_standard_deviations(path, table, folder):
    """Return a path GaiaXPy can read: the file itself, or a copy with the missing columns."""
    missing = [c for c in _STANDARD_DEVIATIONS if c not in table.colnames]
    if not missing:
        return path
    warnings.warn(
        f"{os.path.basename(os.fspath(path))} has no {' or '.join(missing)} column, which "
        "GaiaXPy needs; 1 is used (the coefficient errors are taken as the file gives them, "
        "not rescaled by the fit's standard deviation), so the flux errors may be "
        "misestimated.", SpecfmWarning, stacklevel=4)
    copy = table.copy()
    for column in missing:
        copy[column] = np.ones(len(copy))
    out = os.path.join(folder, "with_standard_deviation.csv")
    copy.write(out, format="ascii.csv", overwrite=True)
    return out


def read_gaia_xp_continuous(path, sampling=None, **kwargs):
    """Read a file of Gaia XP continuous spectra and sample them with GaiaXPy.

    Parameters
    ----------
    path : str or path-like
        A CSV, ECSV or FITS file of the archive's XP_CONTINUOUS table (``source_id``,
        ``bp_coefficients``, ``rp_coefficients`` and their errors and correlations).
    sampling : Quantity or array-like, optional
        Wavelengths to sample at (numbers are nm); default ``GAIA_XP_SAMPLING``, the grid of
        the shipped XP models.
    **kwargs
        Ignored (specutils passes its own reading options).

    Returns
    -------
    specutils.Spectrum
        Flux of shape ``(n_sources, n_samples)`` in W m^-2 nm^-1 on a spectral axis in nm,
        with a `~astropy.nddata.StdDevUncertainty` and a mask (True where flux or error
        is not finite); ``meta["source_id"]`` (int64, one per row), ``meta["file"]`` and,
        when the file has any of ``PHOTOMETRY_COLUMNS``, ``meta["photometry"]`` (a QTable
        with ``source_id`` and those columns in mag, masked where missing).

    Raises
    ------
    MissingDependencyError
        If GaiaXPy is not installed.
    FileFormatError
        If the file cannot be read or has no coefficient columns.

    Warns
    -----
    specfm.exceptions.SpecfmWarning
        If the file lacks the ``*_standard_deviation`` columns (see the module notes).

    """
    sample = _gaiaxpy()
    path = os.fspath(_path_of(path))
    table = _read_table(path)
    lower = {n.lower() for n in table.colnames}
    if not lower & set(_COEFFICIENTS) or "source_id" not in lower:
        raise FileFormatError(
            f"{path} has no source_id and bp_coefficients/rp_coefficients columns, so it is not "
            "a file of Gaia XP continuous spectra. Columns found: " + ", ".join(table.colnames))
    wave = GAIA_XP_SAMPLING if sampling is None else u.Quantity(sampling, u.nm)
    with tempfile.TemporaryDirectory() as folder:
        source = _with_standard_deviations(path, table, folder)
        try:
            frame = sample(source, wave.to_value(u.nm))
        except Exception as error:
            raise FileFormatError(
                f"GaiaXPy could not sample {path}: {type(error).__name__}: {error}") from error
    flux = np.vstack([np.asarray(f, float) for f in frame["flux"]])
    error = np.vstack([np.asarray(e, float) for e in frame["flux_error"]])
    bad = ~np.isfinite(flux) | ~np.isfinite(error) | (np.nan_to_num(error) < 0)
    source_id = np.asarray(frame["source_id"]).astype(np.int64)
    meta = {"source_id": source_id, "file": path}
    present = [c for c in PHOTOMETRY_COLUMNS if c in table.colnames]
    if present:
        by_id = {int(s): i for i, s in enumerate(np.asarray(table["source_id"]).astype(np.int64))}
        rows = [by_id[int(s)] for s in source_id]
        photometry = QTable({"source_id": source_id})
        for column in present:
            values = np.ma.filled(np.ma.asarray(table[column], dtype=float), np.nan)[rows]
            photometry[column] = Masked(values * u.mag, mask=~np.isfinite(values))
        meta["photometry"] = photometry
    return make_spectrum(flux=flux * GAIA_XP_FLUX_UNIT, spectral_axis=wave,
                         uncertainty=StdDevUncertainty(error * GAIA_XP_FLUX_UNIT), mask=bad,
                         meta=meta)


def photometry_inputs(photometry):
    """Return the Gaia colour inputs that a photometry table supports, or None.

    Parameters
    ----------
    photometry : `~astropy.table.Table` or None
        ``meta["photometry"]`` of `read_gaia_xp_continuous` (or any table with
        ``PHOTOMETRY_COLUMNS``).

    Returns
    -------
    dict or None
        ``{"bp_rp", "g_rp", "bp_g"}`` as Quantities in mag (NaN where a magnitude is
        missing) for the colours whose two magnitudes are both columns; None when none is
        (G alone makes no colour).

    """
    if photometry is None:
        return None
    mags = {}
    for band, column in zip(("g", "bp", "rp"), PHOTOMETRY_COLUMNS, strict=True):
        if column in photometry.colnames:
            values = photometry[column]
            mask = np.asarray(getattr(values, "mask", False))
            plain = getattr(values, "unmasked", values)
            plain = (plain.to_value(u.mag) if isinstance(plain, u.Quantity)
                     else np.asarray(plain, float))
            mags[band] = np.where(mask, np.nan, plain)
    out = {}
    for name, (a, b) in {"bp_rp": ("bp", "rp"), "g_rp": ("g", "rp"),
                         "bp_g": ("bp", "g")}.items():
        if a in mags and b in mags:
            out[name] = (mags[a] - mags[b]) * u.mag
    return out or None


def register_continuous():
    """Register `read_gaia_xp_continuous` with specutils as ``"Gaia XP continuous"`` (once)."""
    register_table_reader(CONTINUOUS_FORMAT_NAME, identify_gaia_xp_continuous,
                          read_gaia_xp_continuous)
