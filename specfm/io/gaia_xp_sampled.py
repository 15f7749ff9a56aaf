"""Gaia XP *sampled* spectra, as GaiaXPy's ``calibrate`` and the Gaia archive write them.

One row per source: ``source_id``, and ``flux`` and ``flux_error`` arrays in
W m^-2 nm^-1. In CSV files the arrays are strings such as ``"(1.2e-17, 1.3e-17, ...)"``
or ``"[...]"``; in ECSV and FITS files they are array columns or such strings. The
wavelengths of the samples are read, in this order, from the ``sampling=`` argument, a
``wavelength`` or ``sampling`` column, the ECSV header's ``sampling`` entry, the FITS
header keyword ``SAMPLING``, a companion file ``<name>_sampling.csv`` (or ``.ecsv``)
holding a ``pos`` column (GaiaXPy writes one beside every CSV), and finally the archive's
grid, `GAIA_XP_SAMPLING` (343 samples, 336-1020 nm in 2 nm steps), when a spectrum has
343 samples.

The reader is registered with specutils as ``"Gaia XP sampled"`` when specfm is
imported, so ``Spectrum.read(path, format="Gaia XP sampled")`` works, and files whose
columns identify them are recognised without ``format=``.

Files of the *continuous* representation (``bp_coefficients``, ``rp_coefficients``: what
the archive calls XP_CONTINUOUS) hold coefficients of basis functions, not fluxes: they
are the ``"Gaia XP continuous"`` format's (`specfm.io.read_gaia_xp_continuous`, through
GaiaXPy); this reader raises a `~specfm.exceptions.FileFormatError` that says so.
"""

import contextlib
import csv
import gzip
import os
import re

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import StdDevUncertainty
from astropy.table.meta import get_header_from_yaml

from .._compat import SpectrumClass, make_spectrum
from ..exceptions import FileFormatError

__all__ = [
    "FORMAT_NAME",
    "GAIA_XP_FLUX_UNIT",
    "GAIA_XP_SAMPLING",
    "column_names",
    "identify_gaia_xp_sampled",
    "iter_gaia_xp_sampled",
    "read_gaia_xp_sampled",
    "register",
    "register_table_reader",
]

FORMAT_NAME = "Gaia XP sampled"
"""The specutils format name of `read_gaia_xp_sampled`."""

GAIA_XP_SAMPLING = np.arange(336.0, 1020.0 + 1.0, 2.0) * u.nm
"""The archive's (and GaiaXPy's default) sampling: 343 wavelengths, 336-1020 nm, 2 nm apart."""

GAIA_XP_FLUX_UNIT = u.W / u.m**2 / u.nm
"""The flux unit of Gaia XP sampled spectra (used when a file does not state one)."""

_TEXT_SUFFIXES = (".csv", ".ecsv", ".csv.gz", ".ecsv.gz")
_FITS_SUFFIXES = (".fits", ".fit", ".fits.gz", ".fit.gz")
_CONTINUOUS = ("bp_coefficients", "rp_coefficients")
_SAMPLING_COLUMNS = ("wavelength", "sampling")
_NUMPY_SCALAR = re.compile(r"np\.\w+\(")  # str(tuple(np.float64 array)) on numpy >= 2
_MISSING = {"", "null", "none", "nan", "--"}


def _open_text(path):
    path = os.fspath(path)
    if path.lower().endswith(".gz"):
        return gzip.open(path, "rt", newline="")
    return open(path, newline="")


@contextlib.contextmanager
def _text_table(path):
    """Open a CSV/ECSV file; yield ``(header lines without '# ', column names, csv rows)``."""
    with _open_text(path) as handle:
        header, line = [], ""
        for line in handle:
            if line.startswith("#"):
                header.append(line[2:].rstrip("\r\n") if line.startswith("# ")
                              else line[1:].strip())
            elif line.strip():
                break
        else:
            line = ""
        # ECSV's default delimiter is a space; GaiaXPy's ECSV and all CSV files use commas.
        delimiter = " " if header and header[0].startswith("%ECSV") else ","
        for entry in header:
            if entry.startswith("delimiter:"):
                delimiter = entry.split(":", 1)[1].strip().strip("'\"") or " "
        names = next(csv.reader([line], delimiter=delimiter)) if line else []
        yield header, [n.strip() for n in names], csv.reader(handle, delimiter=delimiter)


def _fits_table(hdul):
    """Return the first table HDU of ``hdul`` with columns (or None)."""
    for hdu in hdul:
        if isinstance(hdu, fits.BinTableHDU | fits.TableHDU):
            return hdu
    return None


def column_names(path):
    """Return the column names of a CSV, ECSV or FITS table file, or None.

    Parameters
    ----------
    path : object
        A path (anything else, or a file that cannot be opened as such a table, gives
        None).

    Returns
    -------
    list of str or None

    """
    if not isinstance(path, str | os.PathLike):
        return None
    name = os.fspath(path).lower()
    try:
        if name.endswith(_TEXT_SUFFIXES):
            with _text_table(path) as (_, names, _rows):
                return list(names)
        if name.endswith(_FITS_SUFFIXES):
            with fits.open(path, memmap=False) as hdul:
                hdu = _fits_table(hdul)
                return [] if hdu is None else list(hdu.columns.names)
    except (OSError, ValueError, UnicodeDecodeError, csv.Error, TypeError):
        return None
    return None


def identify_gaia_xp_sampled(origin, *args, **kwargs):
    """Return True for a CSV, ECSV or FITS file of Gaia XP sampled spectra (specutils identifier).

    A file is recognised when it has a ``source_id``, a ``flux`` and a ``flux_error``
    column. (Files of coefficients are the ``"Gaia XP continuous"`` format's.)

    Parameters
    ----------
    origin : str
        ``"read"`` (from the astropy I/O registry).
    *args
        The path is the first.
    **kwargs
        Ignored.

    Returns
    -------
    bool

    """
    names = column_names(args[0]) if args else None
    if not names:
        return False
    names = {n.lower() for n in names}
    return "source_id" in names and {"flux", "flux_error"} <= names


def _parse_array(value, what):
    """Turn an array cell (string such as ``"(1, 2)"`` or ``"[1, null]"``, or array) into floats."""
    if isinstance(value, np.ma.MaskedArray):
        return np.ma.filled(value.astype(float), np.nan)
    if not isinstance(value, str | bytes | np.str_ | np.bytes_):
        return np.asarray(value, dtype=float)
    text = value.decode() if isinstance(value, bytes | np.bytes_) else str(value)
    body = _NUMPY_SCALAR.sub("", text).replace(")", "").strip().strip("([{}]").strip()
    if not body:
        return np.empty(0)
    parts = [p.strip() for p in body.split(",")]
    try:
        return np.array([np.nan if p.lower() in _MISSING else float(p) for p in parts])
    except ValueError:
        raise FileFormatError(
            f"Cannot read {what}: {text[:60]!r}... is not a list of numbers. Gaia XP sampled "
            "files hold arrays written as '(1.0, 2.0, ...)' or '[1.0, 2.0, ...]'."
        ) from None


def _check_kind(path, names):
    """Raise a FileFormatError for continuous, converted or flux-less files."""
    lower = {n.lower() for n in names}
    if lower & set(_CONTINUOUS):
        raise FileFormatError(
            f"{os.fspath(path)} holds Gaia XP spectra in the continuous representation "
            "(columns bp_coefficients, rp_coefficients): coefficients of basis functions, not "
            "sampled fluxes. Read it with format='Gaia XP continuous' (it samples them with "
            "GaiaXPy: pip install 'specfm[xp]'), or leave format= out and specutils "
            "recognises it."
        )
    if "xp" in lower:
        raise FileFormatError(
            f"{os.fspath(path)} holds BP and RP spectra on GaiaXPy's internal "
            "(pseudo-wavelength) system, as written by gaiaxpy.convert. specfm needs "
            "absolutely calibrated spectra: make them with gaiaxpy.calibrate instead."
        )
    if not {"flux", "flux_error"} <= lower:
        raise FileFormatError(
            f"{os.fspath(path)} has no 'flux' and 'flux_error' columns, so it is not a file of "
            "Gaia XP sampled spectra. Columns found: " + ", ".join(names)
        )


def _companion_sampling(path):
    """Return the ``pos`` array of GaiaXPy's ``<name>_sampling.csv|ecsv`` beside ``path``."""
    text = os.fspath(path)
    for suffix in _TEXT_SUFFIXES:
        if text.lower().endswith(suffix):
            stem = text[: -len(suffix)]
            break
    else:
        return None
    for ext in (".csv", ".ecsv"):
        candidate = f"{stem}_sampling{ext}"
        if os.path.isfile(candidate):
            with _text_table(candidate) as (_, names, rows):
                lower = [n.lower() for n in names]
                column = lower.index("pos") if "pos" in lower else 0
                first = next(rows, None)
            if first:
                return _parse_array(first[column], f"the sampling in {candidate}")
    return None


def _as_sampling(sampling):
    if isinstance(sampling, u.Quantity):
        return sampling.to(u.nm, equivalencies=u.spectral())
    if isinstance(sampling, str):
        sampling = _parse_array(sampling, "the sampling")
    return np.asarray(sampling, dtype=float) * u.nm


def _flux_unit(unit):
    if unit is None or str(unit).strip() == "":
        return GAIA_XP_FLUX_UNIT
    try:
        unit = u.Unit(unit)
    except ValueError:
        return GAIA_XP_FLUX_UNIT
    return unit if unit.is_equivalent(GAIA_XP_FLUX_UNIT) else GAIA_XP_FLUX_UNIT


def _read_text_file(path):
    """Return ``(columns dict, sampling or None, flux unit or None)`` of a CSV/ECSV file."""
    with _text_table(path) as (header, names, rows):
        _check_kind(path, names)
        meta_sampling, unit = None, None
        if header and header[0].startswith("%ECSV"):
            yaml = get_header_from_yaml([h for h in header if not h.startswith("%ECSV")])
            meta_sampling = (yaml.get("meta") or {}).get("sampling")
            for column in yaml.get("datatype", []):
                if column.get("name", "").lower() == "flux":
                    unit = column.get("unit")
        lower = [n.lower() for n in names]
        wanted = {n: lower.index(n) for n in ("source_id", "flux", "flux_error",
                                               *_SAMPLING_COLUMNS) if n in lower}
        columns = {n: [] for n in wanted}
        for row in rows:
            if row:
                for n, i in wanted.items():
                    columns[n].append(row[i])
    return columns, meta_sampling, unit


_WANTED = ("source_id", "flux", "flux_error", *_SAMPLING_COLUMNS)


def _fits_columns(path, hdul):
    """Return ``(table HDU, {wanted lower name: name}, sampling or None, flux unit)``."""
    hdu = _fits_table(hdul)
    if hdu is None:
        raise FileFormatError(f"{os.fspath(path)} holds no table, so no Gaia XP spectra.")
    names = list(hdu.columns.names)
    _check_kind(path, names)
    by_lower = {n.lower(): n for n in names if n.lower() in _WANTED}
    unit = hdu.columns[by_lower["flux"]].unit
    sampling = hdu.header.get("SAMPLING", hdul[0].header.get("SAMPLING"))
    return hdu, by_lower, sampling, unit


def _read_fits_file(path):
    """Return ``(columns dict, sampling or None, flux unit or None)`` of a FITS file."""
    with fits.open(path, memmap=False) as hdul:
        hdu, by_lower, sampling, unit = _fits_columns(path, hdul)
        columns = {lower: np.asarray(hdu.data[name]) for lower, name in by_lower.items()}
    return columns, sampling, unit


def read_gaia_xp_sampled(path, sampling=None, **kwargs):
    r"""Read a file of Gaia XP sampled spectra into one 2-D spectrum.

    Parameters
    ----------
    path : str or path-like
        A CSV or ECSV file (optionally gzipped) or a FITS file, as written by GaiaXPy's
        ``calibrate`` or downloaded from the Gaia archive (XP_SAMPLED).
    sampling : Quantity or array-like, optional
        Wavelengths of the samples (numbers are nm). By default they are read from the
        file (see the module description), else the archive's 343-sample grid is used.
    **kwargs
        Ignored (specutils passes its own reading options).

    Returns
    -------
    specutils.Spectrum
        Flux of shape ``(n_sources, n_samples)`` in W m^-2 nm^-1 (or the unit the file
        states), on a spectral axis in nm, with a `~astropy.nddata.StdDevUncertainty`, a
        mask (True where flux or error is missing, not finite or the error is negative),
        and ``meta["source_id"]`` (int64 array, one per row).

    Raises
    ------
    FileFormatError
        For continuous (coefficient) or ``gaiaxpy.convert`` files, files without
        ``flux``/``flux_error`` columns, unreadable arrays, or a number of samples that
        matches no sampling.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from specfm._compat import SpectrumClass
    >>> row = "(" + ", ".join(["1e-17"] * 343) + ")"
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "xp.csv")
    ...     with open(path, "w") as f:
    ...         _ = f.write(f'source_id,flux,flux_error\n42,"{row}","{row}"\n')
    ...     spectrum = SpectrumClass.read(path, format="Gaia XP sampled")
    >>> spectrum.flux.shape, spectrum.meta["source_id"]
    ((1, 343), array([42]))

    """
    path = _path_of(path)
    name = os.fspath(path).lower()
    if name.endswith(_FITS_SUFFIXES):
        columns, found, unit = _read_fits_file(path)
    elif name.endswith(_TEXT_SUFFIXES):
        columns, found, unit = _read_text_file(path)
    else:
        raise FileFormatError(
            f"{os.fspath(path)}: Gaia XP sampled spectra are read from .csv, .ecsv or .fits "
            "files (optionally gzipped); rename the file or convert it."
        )
    return _spectrum_from_columns(path, columns, found, unit, sampling)


def iter_gaia_xp_sampled(path, rows=8192, sampling=None):
    """Yield the spectra of a Gaia XP sampled file ``rows`` at a time.

    A FITS table is read a slice of rows at a time from a memory map, so that memory
    stays bounded by ``rows`` however many spectra the file holds (a gzipped FITS file
    is decompressed by astropy first). CSV and ECSV files are read whole, as by
    `read_gaia_xp_sampled`.

    Parameters
    ----------
    path : str or path-like
        The file, as for `read_gaia_xp_sampled`.
    rows : int
        Spectra per piece.
    sampling : Quantity or array-like, optional
        As for `read_gaia_xp_sampled`.

    Yields
    ------
    specutils.Spectrum
        As `read_gaia_xp_sampled` returns, for rows ``first_index`` to
        ``first_index + len(flux)`` of the file; ``meta["first_index"]`` and
        ``meta["rows_in_file"]`` say which.

    Raises
    ------
    FileFormatError
        As `read_gaia_xp_sampled`.

    """
    rows = int(rows)
    if rows < 1:
        raise ValueError(f"rows must be a positive integer, not {rows}.")
    path = _path_of(path)
    if not os.fspath(path).lower().endswith(_FITS_SUFFIXES):
        spectrum = read_gaia_xp_sampled(path, sampling=sampling)
        spectrum.meta.update(first_index=0, rows_in_file=len(spectrum.flux))
        yield spectrum
        return
    with fits.open(path, memmap=True) as hdul:
        hdu, by_lower, found, unit = _fits_columns(path, hdul)
        total = len(hdu.data) if hdu.data is not None else 0
        if total == 0:
            raise FileFormatError(f"{os.fspath(path)} holds no spectra (no data rows).")
        for start in range(0, total, rows):
            data = hdu.data[start:start + rows]
            columns = {lower: np.asarray(data[name]) for lower, name in by_lower.items()}
            spectrum = _spectrum_from_columns(path, columns, found, unit, sampling)
            spectrum.meta.update(first_index=start, rows_in_file=total)
            del data, columns
            yield spectrum


def _array_rows(values, what):
    """Return the 2-D float array of an array column: a numeric array, or cells to parse."""
    if isinstance(values, np.ndarray) and values.ndim == 2 and values.dtype.kind in "fiu":
        return np.ma.filled(values.astype(float), np.nan)
    return [_parse_array(v, what) for v in values]


def _stacked(rows):
    """Return the 2-D array of `_array_rows`' rows (an array already is one: no copy)."""
    return rows if isinstance(rows, np.ndarray) else np.vstack(rows)


def _spectrum_from_columns(path, columns, found, unit, sampling):
    """Return the 2-D spectrum of the columns read from ``path`` (see `read_gaia_xp_sampled`)."""
    what = os.path.basename(os.fspath(path))
    flux = _array_rows(columns["flux"], f"flux in {what}")
    error = _array_rows(columns["flux_error"], f"flux_error in {what}")
    if not len(flux):
        raise FileFormatError(f"{os.fspath(path)} holds no spectra (no data rows).")
    lengths = {len(f) for f in flux} | {len(e) for e in error}
    if len(lengths) != 1:
        raise FileFormatError(
            f"{os.fspath(path)}: flux and flux_error arrays differ in length ({sorted(lengths)}); "
            "every spectrum of one file must be on the same sampling."
        )
    n_samples = lengths.pop()
    wave = _sampling(path, sampling, columns, found, n_samples)
    flux, error = _stacked(flux), _stacked(error)
    bad = ~np.isfinite(flux) | ~np.isfinite(error) | (np.nan_to_num(error) < 0)
    meta = {"file": os.fspath(path)}
    ids = columns.get("source_id")
    if ids is not None:  # without the column, no ids (not a stand-in value)
        meta["source_id"] = np.asarray(ids).astype(np.int64)
    unit = _flux_unit(unit)
    return make_spectrum(
        flux=flux * unit,
        spectral_axis=wave,
        uncertainty=StdDevUncertainty(error * unit),
        mask=bad,
        meta=meta,
    )


def _path_of(source):
    """Return the path of ``source``: a path, or an open file (astropy's autodetection)."""
    if isinstance(source, str | os.PathLike):
        return source
    name = getattr(source, "name", None)
    if isinstance(name, str | os.PathLike) and os.path.isfile(name):
        return name
    raise FileFormatError(
        "Gaia XP spectra are read from a file path; give the path instead of "
        f"{type(source).__name__}."
    )


def _sampling(path, sampling, columns, found, n_samples):
    """Return the spectral axis (Quantity in nm) for spectra of ``n_samples`` samples."""
    origin = "the sampling= argument"
    if sampling is None:
        for name in _SAMPLING_COLUMNS:
            if name in columns and len(columns[name]):
                sampling, origin = columns[name][0], f"the {name!r} column"
                break
    if sampling is None and found is not None:
        sampling, origin = found, "the file's header"
    if sampling is None:
        sampling, origin = _companion_sampling(path), "the companion _sampling file"
    if sampling is None:
        if n_samples != GAIA_XP_SAMPLING.size:
            raise FileFormatError(
                f"{os.fspath(path)} has {n_samples} samples per spectrum, but no sampling was "
                "found (no wavelength column, SAMPLING header or <name>_sampling.csv beside "
                f"it) and the archive's grid has {GAIA_XP_SAMPLING.size}. Pass the wavelengths: "
                "Spectrum.read(path, format='Gaia XP sampled', sampling=wavelengths_in_nm)."
            )
        return GAIA_XP_SAMPLING
    wave = _as_sampling(sampling)
    if wave.size != n_samples:
        raise FileFormatError(
            f"{os.fspath(path)}: {origin} gives {wave.size} wavelengths, but the spectra have "
            f"{n_samples} samples."
        )
    return wave


def register_table_reader(name, identifier, reader):
    """Register a reader of table files (CSV, ECSV, FITS) with specutils, once.

    Parameters
    ----------
    name : str
        The specutils format name.
    identifier, reader : callable
        As for ``specutils.io.registers.data_loader``.

    """
    from astropy.io import registry
    from specutils.io.registers import data_loader

    if name in registry.get_formats(SpectrumClass, "Read")["Format"]:
        return
    data_loader(
        name,
        identifier=identifier,
        dtype=SpectrumClass,
        extensions=["csv", "ecsv", "fits", "fit"],
        priority=10,  # a specific format, like the survey ones: before generic tabular-fits
    )(reader)


def register():
    """Register `read_gaia_xp_sampled` with specutils as ``"Gaia XP sampled"`` (once)."""
    register_table_reader(FORMAT_NAME, identify_gaia_xp_sampled, read_gaia_xp_sampled)
