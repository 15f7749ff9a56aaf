"""Reading spectrum files for `~specfm.inference.predict_files`.

`expand_paths` turns paths and glob patterns into files; `check_format` checks a format
name before any file is read; `read_spectra` reads one file with specutils
(``Spectrum.read``, or ``SpectrumList.read`` for formats registered for lists only);
`iter_spectra` reads it a slice of rows at a time where the reader can (Gaia XP sampled
FITS tables), so that a survey-sized table is never in memory whole; and
`describe_read_error` says why a file could not be read (a truncated FITS file as such,
`fits_is_truncated`).
"""

import glob
import os
import warnings

from .._compat import SpectrumClass
from ..exceptions import FileFormatError
from ..io import FORMAT_NAME as _XP_FORMAT  # importing specfm.io registers its readers
from ..io import iter_gaia_xp_sampled
from ..io.gaia_xp_sampled import _FITS_SUFFIXES

__all__ = ["check_format", "describe_read_error", "expand_paths", "fits_is_truncated",
           "identify_format", "iter_spectra", "piece_position", "read_spectra"]

_GLOB_CHARS = "*?["


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
    >>> from specfm.inference.reading import check_format
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


def identify_format(path):
    """Return the specutils format that ``Spectrum.read(path)`` would use, or None.

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    str or None
        The one format whose test accepts the file, or ``"Gaia XP sampled"`` for a Gaia XP
        sampled table (also accepted by the generic ``tabular-fits``, below it in
        priority); None when no format or several claim it (``Spectrum.read`` then
        resolves or explains that), or the file cannot be opened.

    """
    from astropy.io import registry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # identifiers of other formats may warn; read will
        try:
            found = registry.identify_format("read", SpectrumClass, os.fspath(path), None,
                                             [], {})
        except Exception:  # an unreadable file: read_spectra says why
            return None
    if _XP_FORMAT in found:
        return _XP_FORMAT
    return found[0] if len(found) == 1 else None


def _identified_format(path, format):
    """Return ``format``, or for a FITS file the format `identify_format` finds.

    Asking the registry once, and then reading with the format it found, opens the file
    as often as ``Spectrum.read(path)`` alone would (it asks the same identifiers).
    """
    if format is not None or not os.fspath(path).lower().endswith(_FITS_SUFFIXES):
        return format
    return identify_format(path)


def piece_position(spectra):
    """Return ``(first_index, rows_in_file)`` of a piece that `iter_spectra` yielded.

    Parameters
    ----------
    spectra : object
        A piece: a spectrum or list, whose ``meta`` may hold ``first_index`` (the
        position of its first spectrum in the file) and ``rows_in_file``.

    Returns
    -------
    first_index : int
        0 for a file read whole.
    rows_in_file : int or None
        None when the piece does not say (a file read whole).

    """
    meta = getattr(spectra, "meta", None) or {}
    if not hasattr(meta, "get"):
        return 0, None
    rows = meta.get("rows_in_file")
    return int(meta.get("first_index", 0)), None if rows is None else int(rows)


def iter_spectra(path, format=None, rows=None):
    """Yield what one file holds: ``rows`` spectra at a time where the reader can.

    Gaia XP sampled FITS tables are read ``rows`` spectra at a time
    (`specfm.io.iter_gaia_xp_sampled`); every other file is read whole with
    `read_spectra` and yielded once.

    Parameters
    ----------
    path : str or path-like
        The file.
    format : str, optional
        A specutils format name, as for `read_spectra`.
    rows : int, optional
        Spectra per piece (None: read every file whole).

    Yields
    ------
    specutils.Spectrum or specutils.SpectrumList
        Each piece; a piece of a larger table has ``meta["first_index"]``, the position
        of its first spectrum in the file, and ``meta["rows_in_file"]``.

    """
    format = _identified_format(path, format) if rows is not None else format
    if rows is not None and format == _XP_FORMAT:
        yield from iter_gaia_xp_sampled(os.fspath(path), rows=rows)
    else:
        yield read_spectra(path, format)
