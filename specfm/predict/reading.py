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

from .. import io as _io  # noqa: F401 - registers specfm's readers with specutils
from .._compat import SpectrumClass

__all__ = ["FileOutcome", "expand_paths", "predict_file", "read_spectra"]

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
        Passed to `~specfm.predict.Model.predict` (``batch_size``, ``labels``, ...).

    Returns
    -------
    FileOutcome
        With a table whose first columns are ``file``, ``index`` (and ``source_id``),
        or the reason it failed.

    """
    path = os.path.abspath(os.fspath(path))
    outcome = FileOutcome(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            spectra = read_spectra(path, format)
            table = model.predict(spectra, progress=False, **kwargs)
        except Exception as error:  # a bad file is reported, not fatal
            outcome.error = f"{type(error).__name__}: {error}".strip()
        else:
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
