"""Prediction tables on disk: ECSV, FITS or Parquet, written atomically, read back whole.

The format follows the file name's extension (`OUTPUT_FORMATS`). Every format keeps the
units, the masks and the table's ``meta`` (the model's name and sha256, ...): ECSV and
Parquet natively, FITS as one JSON header keyword, ``SPECFM``. A table is always written
to a temporary file in the same folder and then renamed over the target
(`os.replace`), so a reader, a crash or Ctrl-C never sees a half-written file.

An ECSV output can also grow by appending (`append_table`), so that a survey-sized run
never rewrites or holds all its rows: each complete write ends with a comment line that
ECSV readers skip (`WRITE_MARK`), and `repair_appended` cuts off whatever follows the last
one (an append that a crash interrupted) before the file is read to resume.
"""

import contextlib
import errno
import json
import os
import pathlib
import tempfile
import warnings

import numpy as np
from astropy.table import QTable
from astropy.utils.exceptions import AstropyUserWarning

from ..exceptions import MissingDependencyError, OutputWriteError, SpecfmInputError

__all__ = ["OUTPUT_FORMATS", "WRITE_MARK", "append_mark", "append_table", "appendable",
           "output_format", "read_table", "repair_appended", "write_table_atomic"]

OUTPUT_FORMATS = {".ecsv": "ascii.ecsv", ".fits": "fits", ".parquet": "parquet"}
"""Output file extension -> astropy table format."""

_FITS_META_KEY = "SPECFM"

WRITE_MARK = "# specfm: complete write of "
"""Start of the comment line that ends each complete write of an appendable ECSV output."""


def output_format(path):
    """Return the astropy format for an output file, from its extension.

    Parameters
    ----------
    path : str or path-like
        The output file.

    Returns
    -------
    str
        A value of `OUTPUT_FORMATS`.

    Raises
    ------
    SpecfmInputError
        For an extension that is not one of `OUTPUT_FORMATS`.

    Examples
    --------
    >>> from specfm.inference.output import output_format
    >>> output_format("labels.parquet")
    'parquet'

    """
    suffix = pathlib.Path(path).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise SpecfmInputError(
            f"Cannot write predictions to {os.fspath(path)!r}: the file name must end in one of "
            f"{', '.join(OUTPUT_FORMATS)}, which choose the format."
        )
    if OUTPUT_FORMATS[suffix] == "parquet":
        _need_parquet()
    return OUTPUT_FORMATS[suffix]


def _need_parquet():
    try:
        import pandas  # noqa: F401 - astropy reads Parquet through pandas
        import pyarrow  # noqa: F401
    except ImportError as error:
        raise MissingDependencyError(
            "Parquet output needs pyarrow and pandas: pip install 'specfm[parquet]' (or "
            "write .ecsv or .fits instead)."
        ) from error


def _fits_ready(table):
    """Return a copy of ``table`` whose ``meta`` is one JSON keyword FITS can hold."""
    out = table.copy(copy_data=False)
    out.meta = {_FITS_META_KEY: json.dumps(dict(table.meta), default=str)}
    return out


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def appendable(path):
    """Return True when the output ``path`` can grow by `append_table` (ECSV).

    Parameters
    ----------
    path : str or path-like
        The output file.

    Returns
    -------
    bool

    """
    return output_format(path) == "ascii.ecsv"


def _mark(n_rows):
    return f"{WRITE_MARK}{n_rows} rows\n"


def write_table_atomic(table, path, mark=False):
    """Write ``table`` to ``path`` through a temporary file and an atomic rename.

    Parameters
    ----------
    table : `~astropy.table.QTable`
        The table.
    path : str or path-like
        The output; its extension chooses the format (see `output_format`). It is
        replaced only once the new file is complete.
    mark : bool
        For an ECSV output, end it with a `WRITE_MARK` line, so that rows can be
        appended to it with `append_table`.

    Raises
    ------
    SpecfmInputError
        For an unknown extension.
    OutputWriteError
        When the file cannot be written (a full disk, a read-only folder); ``path`` is
        then left as it was.

    """
    path = pathlib.Path(path)
    fmt = output_format(path)
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part",
                                             dir=directory)
    except OSError as error:
        raise _write_error(path, error) from error
    os.close(handle)
    try:
        if fmt == "fits":
            with warnings.catch_warnings():
                # dex units are not FITS-standard; astropy reads them back with QTable.
                warnings.filterwarnings("ignore", message=".*could not be saved in native FITS",
                                        category=AstropyUserWarning)
                _fits_ready(table).write(temporary, format=fmt, overwrite=True)
        else:
            table.write(temporary, format=fmt, overwrite=True)
            if mark and fmt == "ascii.ecsv":
                with open(temporary, "a", encoding="utf-8") as handle:
                    handle.write(_mark(len(table)))
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        if isinstance(error, OSError) and not isinstance(error, OutputWriteError):
            raise _write_error(path, error) from error
        raise


def _ecsv_parts(text):
    """Split ECSV text into its header (comment lines and the column names) and its rows."""
    end = 0
    while text.startswith("#", end):
        end = text.index("\n", end) + 1
    end = text.index("\n", end) + 1  # the line of column names
    return text[:end], text[end:]


def _file_header(path, size):
    """Return the header of the ECSV file ``path`` as `_ecsv_parts` splits it."""
    lines = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            lines.append(line)
            if not line.startswith("#"):
                break
            if sum(map(len, lines)) > size:
                break
    return "".join(lines)


def append_table(table, path, mark=True):
    """Append the rows of ``table`` to an ECSV output with the same columns.

    The rows and a closing `WRITE_MARK` line are written in one call and synced to disk.
    If the write fails, the file is cut back to its previous length.

    Parameters
    ----------
    table : `~astropy.table.QTable`
        The new rows, with the ``meta`` of the file.
    path : str or path-like
        An ECSV output written by `write_table_atomic` (``mark=True``) or by earlier calls.
    mark : bool
        End the rows with a `WRITE_MARK` line (default). Without it, the rows are the
        first part of a write that `append_mark` completes; until then, `repair_appended`
        would cut them off (rows of one file appended as it is read in pieces).

    Returns
    -------
    bool
        False, and nothing is written, when ``table`` would not be written with the same
        header (other columns, units or meta): the caller then rewrites the whole file.

    Raises
    ------
    OutputWriteError
        When the file cannot be written (a full disk, a read-only folder); it is then as
        it was before the call.

    """
    import io

    path = pathlib.Path(path)
    buffer = io.StringIO()
    table.write(buffer, format="ascii.ecsv")
    header, rows = _ecsv_parts(buffer.getvalue())
    try:
        size = path.stat().st_size
        if _file_header(path, len(header)) != header:
            return False
        _append_bytes(path, (rows + (_mark(len(table)) if mark else "")).encode("utf-8"),
                      size)
    except OSError as error:
        raise _write_error(path, error) from error
    return True


def append_mark(path, n_rows):
    """Close a write of ``n_rows`` rows appended with ``append_table(..., mark=False)``.

    Parameters
    ----------
    path : str or path-like
        The ECSV output.
    n_rows : int
        The rows of the write that the `WRITE_MARK` line closes (for a person reading it).

    Raises
    ------
    OutputWriteError
        When the file cannot be written; it is then as it was before the call.

    """
    path = pathlib.Path(path)
    try:
        _append_bytes(path, _mark(int(n_rows)).encode("utf-8"), path.stat().st_size)
    except OSError as error:
        raise _write_error(path, error) from error


def _append_bytes(path, data, size):
    """Append ``data`` to a file of ``size`` bytes and sync it.

    On any failure (a full disk, Ctrl-C) the file is cut back to ``size`` and the error
    raised again.
    """
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)
            os.fsync(fd)
        raise
    finally:
        os.close(fd)


def repair_appended(path):
    """Cut off an interrupted append at the end of an ECSV output; return bytes removed.

    Whatever follows the last `WRITE_MARK` line is the start of an append that did not
    finish (the process was killed while writing): it is removed, so that the file reads
    as it was after its last complete write. A file without any such line (another
    format, or written whole) is left alone.

    Parameters
    ----------
    path : str or path-like
        The output.

    Returns
    -------
    int
        The number of bytes removed (0 when the file ends with a complete write).

    """
    path = pathlib.Path(path)
    if not path.exists() or not appendable(path):
        return 0
    with open(path, "r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        kept = _end_of_last_mark(handle, size)
        if kept is None or kept == size:
            return 0  # no mark (a file written whole), or it ends with a complete write
        handle.truncate(kept)
        handle.flush()
        os.fsync(handle.fileno())
    return size - kept


def _end_of_last_mark(handle, size, block=1 << 20):
    """Return the offset just after the last complete `WRITE_MARK` line, or None."""
    mark = ("\n" + WRITE_MARK).encode()
    carry, position = b"", size
    while position > 0:  # backwards, a block at a time
        start = max(0, position - block)
        handle.seek(start)
        chunk = handle.read(position - start) + carry  # the bytes from ``start`` on
        limit = len(chunk)
        while (found := chunk.rfind(mark, 0, limit)) >= 0:
            line_end = chunk.find(b"\n", found + 1)
            if line_end >= 0:
                return start + line_end + 1
            limit = found  # a mark line cut short: the one before it counts
        carry = chunk[:len(mark) + 64]  # a mark line that straddles the block boundary
        position = start
    return None


def _write_error(path, error):
    """Return the `OutputWriteError` for an `OSError` met while writing ``path``."""
    reason = error.strerror or str(error)
    if error.errno is not None and error.errno in errno.errorcode:
        reason += f" ({errno.errorcode[error.errno]})"
    kept = (f"{os.fspath(path)} is as it was before this write, so the rows it already holds "
            "are intact and readable" if path.exists() else "nothing was written")
    return OutputWriteError(
        f"Could not write predictions to {os.fspath(path)}: {reason}. {kept}. Free some "
        "space or make the folder writable (or choose another output), then run the same "
        "command again: it resumes after the files already in the output.")


def read_table(path):
    """Read a prediction table written by `write_table_atomic`.

    Parameters
    ----------
    path : str or path-like
        The file (``.ecsv``, ``.fits`` or ``.parquet``).

    Returns
    -------
    `~astropy.table.QTable`
        With units, masks and ``meta`` as written; strings as `str`.

    Raises
    ------
    SpecfmInputError
        For an unknown extension.

    """
    fmt = output_format(path)
    if fmt == "fits":
        table = QTable.read(path, format=fmt, character_as_bytes=False)
        meta = {k.upper(): v for k, v in table.meta.items()}
        if _FITS_META_KEY in meta:
            table.meta = json.loads(meta[_FITS_META_KEY])
    else:
        table = QTable.read(path, format=fmt)
    for name in table.colnames:
        mask = getattr(table[name], "mask", None)
        if mask is not None and not isinstance(mask, np.ndarray | np.bool_ | bool):
            # Parquet gives masked quantities a mask that is a Column; make it an array.
            table[name].mask = np.asarray(mask, dtype=bool)
    return table
