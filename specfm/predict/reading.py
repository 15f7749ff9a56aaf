"""Reading spectrum files for `~specfm.predict.predict_files`, and predicting one file.

`expand_paths` turns paths and glob patterns into files; `read_spectra` reads one with
specutils (``Spectrum.read``, or ``SpectrumList.read`` for formats registered for lists
only); `predict_file` reads and predicts one file and never raises for a bad one: it
returns a `FileOutcome` with the rows, or the reason the file failed, and the warnings.
"""

import dataclasses
import glob
import os
import warnings

import numpy as np

from .._compat import SpectrumClass
from ..exceptions import FileFormatError
from ..io import FORMAT_NAME as _XP_FORMAT  # noqa: F401 - importing specfm.io registers its readers

__all__ = ["FileOutcome", "check_format", "describe_read_error", "expand_paths",
           "fits_is_truncated", "predict_file", "read_spectra"]

_GLOB_CHARS = "*?["


@dataclasses.dataclass
class FileOutcome:
    """What became of one file.

    Attributes
    ----------
    path : str
        The file's absolute path.
    table : `~astropy.table.QTable` or None
        Its rows, or None when it failed.
    error : str or None
        Why it failed.
    warnings : list of tuple
        ``(category, message)`` of the distinct warnings raised while reading and
        predicting it.

    """

    path: str
    table: object = None
    error: str | None = None
    warnings: list = dataclasses.field(default_factory=list)


def expand_paths(patterns):
    """Expand glob patterns and paths into a list of absolute file paths, in order.

    Parameters
    ----------
    patterns : str, path-like or iterable of them
        Paths and glob patterns (``*``, ``?``, ``[...]``, and ``**`` for any depth);
        the matches of each pattern are sorted.

    Returns
    -------
    files : list of str
        Absolute paths, each once, in the order given.
    unmatched : dict
        ``{pattern: reason}`` for patterns that match nothing and paths that do not exist
        or are folders.

    """
    if isinstance(patterns, str | os.PathLike):
        patterns = [patterns]
    files, seen, unmatched = [], set(), {}
    for pattern in patterns:
        text = os.fspath(pattern)
        if any(c in text for c in _GLOB_CHARS):
            matches = sorted(glob.glob(text, recursive=True))
            matches = [m for m in matches if os.path.isfile(m)]
            if not matches:
                unmatched[text] = "no file matches this pattern"
        elif os.path.isdir(text):
            unmatched[text] = "is a folder, not a file (give a pattern such as folder/*.fits)"
            matches = []
        elif not os.path.exists(text):
            unmatched[text] = "no such file"
            matches = []
        else:
            matches = [text]
        for match in matches:
            absolute = os.path.abspath(match)
            if absolute not in seen:
                seen.add(absolute)
                files.append(absolute)
    return files, unmatched


def _read_formats():
    """Return the names of every specutils format that reads a Spectrum or SpectrumList."""
    from astropy.io import registry
    from specutils import SpectrumList

    names = set()
    for cls in (SpectrumClass, SpectrumList):
        table = registry.get_formats(cls, "Read")
        names.update(str(name) for name in table["Format"])
    return sorted(names)


def check_format(format):
    """Check a specutils format name before any file is read.

    Parameters
    ----------
    format : str or None
        A format name, e.g. ``"APOGEE apStar"``; None (let specutils identify each file)
        passes.

    Returns
    -------
    str or None
        ``format``, unchanged.

    Raises
    ------
    FileFormatError
        If no specutils reader has that name; the message suggests the closest names.

    Examples
    --------
    >>> from specfm.predict.reading import check_format
    >>> check_format("APOGEE apStar")
    'APOGEE apStar'
    >>> try:
    ...     check_format("APOGEE apstar")
    ... except ValueError as error:
    ...     print(str(error)[:76])
    No specutils reader is called 'APOGEE apstar'. Did you mean 'APOGEE apStar'

    """
    if format is None:
        return None
    import difflib

    names = _read_formats()
    if format in names:
        return format
    lower = {name.lower(): name for name in names}
    close = difflib.get_close_matches(format.lower(), list(lower), n=3, cutoff=0.5)
    hint = (f"Did you mean {' or '.join(repr(lower[c]) for c in close)}? " if close else "")
    raise FileFormatError(
        f"No specutils reader is called {format!r}. {hint}Leave --format out to let "
        "specutils identify each file, or see the names with "
        "'python -c \"from specutils import Spectrum; Spectrum.read.list_formats()\"'.")


def fits_is_truncated(path):
    """Return True for a FITS file that ends before the data its headers announce.

    Parameters
    ----------
    path : str or path-like
        Any file; files that do not start like a FITS file give False.

    Returns
    -------
    bool
        True if the file is not a whole number of 2880-byte blocks, its headers cannot be
        parsed, or an HDU's data run past its end.

    """
    from astropy.io import fits

    try:
        with open(path, "rb") as handle:
            if handle.read(6) != b"SIMPLE":
                return False
        size = os.path.getsize(path)
    except OSError:
        return False
    if size % 2880:
        return True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False, lazy_load_hdus=False) as hdul:
                return any(h.fileinfo()["datLoc"] + h.fileinfo()["datSpan"] > size
                           for h in hdul)
    except Exception:
        return True


def describe_read_error(error, path):
    """Return a one-line reason a file could not be read, naming truncated files as such.

    Parameters
    ----------
    error : Exception
        What reading raised.
    path : str or path-like
        The file.

    Returns
    -------
    str

    """
    text = f"{type(error).__name__}: {error}".strip()
    truncated = (
        (isinstance(error, TypeError) and "buffer is too small" in str(error))
        or "truncated" in str(error).lower()
        or "END card" in str(error)
        or "Empty or corrupt FITS file" in str(error)
        or isinstance(error, EOFError)
        or fits_is_truncated(path)
    )
    if truncated:
        size = os.path.getsize(path) if os.path.exists(path) else 0
        return (f"truncated or corrupt file ({size:,} bytes): {os.fspath(path)} could not "
                f"be read to the end ({text}); download it again")
    return text


def read_spectra(path, format=None):
    """Read one file with specutils.

    Parameters
    ----------
    path : str or path-like
        The file.
    format : str, optional
        A specutils format name (``"APOGEE apStar"``, ``"Gaia XP sampled"``, ...); by
        default specutils identifies it. Formats that specutils registers only for
        ``SpectrumList`` are read as lists.

    Returns
    -------
    specutils.Spectrum or specutils.SpectrumList

    """
    from astropy.io import registry
    from specutils import SpectrumList

    if format is not None:
        spectrum_formats = registry.get_formats(SpectrumClass, "Read")["Format"]
        if format not in spectrum_formats:
            return SpectrumList.read(os.fspath(path), format=format)
    return SpectrumClass.read(os.fspath(path), format=format)


def _id_column(spectra, n_rows):
    """Return the reader's ``meta["source_id"]`` when it has one value per row, else None."""
    meta = getattr(spectra, "meta", None) or {}
    ids = meta.get("source_id") if hasattr(meta, "get") else None
    if ids is None or np.ndim(ids) != 1 or len(ids) != n_rows:
        return None
    return np.asarray(ids, dtype=np.int64)


def _file_inputs(model, path, spectra, inputs_table):
    """Return the non-spectral inputs of one file: from the user's table, else its photometry."""
    from .batching import split_pieces
    from .inputs_table import file_inputs, photometry_from_file

    inputs = None
    if inputs_table is not None:
        n = sum(piece.n_spectra for piece in split_pieces(spectra))
        inputs = file_inputs(inputs_table, path, spectra, n)
    if inputs is None:
        inputs = photometry_from_file(spectra, model.vocabulary)
    return inputs


def predict_file(model, path, format=None, **kwargs):
    """Read and predict one file; never raise for a bad file.

    Parameters
    ----------
    model : `~specfm.predict.Model`
        The model.
    path : str or path-like
        The file.
    format : str, optional
        Its specutils format (see `read_spectra`).
    **kwargs
        Passed to `~specfm.predict.Model.predict` (``batch_size``, ``labels``, ...), except
        ``inputs_table``: a table from ``specfm.predict.inputs_table.read_inputs_table``
        whose rows for this file's spectra become their ``inputs``. Without one (or
        without a matching row), colours from the photometry the reader kept (Gaia XP
        archive files) are used where the model takes them.

    Returns
    -------
    FileOutcome
        With a table whose first columns are ``file``, ``index`` (and ``source_id``),
        or the reason it failed.

    """
    path = os.path.abspath(os.fspath(path))
    inputs_table = kwargs.pop("inputs_table", None)
    outcome = FileOutcome(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            spectra = read_spectra(path, format)
        except Exception as error:  # a bad file is reported, not fatal
            outcome.error = describe_read_error(error, path)
            spectra = None
        table = None
        try:
            if spectra is not None:
                inputs = _file_inputs(model, path, spectra, inputs_table)
                table = model.predict(spectra, progress=False, inputs=inputs, **kwargs)
        except Exception as error:
            outcome.error = f"{type(error).__name__}: {error}".strip()
        if table is not None:
            n = len(table)
            table.remove_column("spectrum_index")
            ids = _id_column(spectra, n)
            if ids is not None:
                table.add_column(ids, name="source_id", index=0)
                table["source_id"].info.description = "Source identifier given by the reader"
            table.add_column(np.arange(n, dtype=np.int64), name="index", index=0)
            table["index"].info.description = "Position of the spectrum in its file"
            table.add_column(np.full(n, path), name="file", index=0)
            table["file"].info.description = "Absolute path of the file the spectrum was read from"
            outcome.table = table
    seen = set()
    for w in caught:
        key = (w.category, str(w.message))
        if key not in seen:
            seen.add(key)
            outcome.warnings.append(key)
    return outcome
