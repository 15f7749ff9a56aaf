"""Prediction tables on disk: ECSV, FITS or Parquet, written atomically, read back whole.

The format follows the file name's extension (`OUTPUT_FORMATS`). Every format keeps the
units, the masks and the table's ``meta`` (the model's name and sha256, ...): ECSV and
Parquet natively, FITS as one JSON header keyword, ``SPECFM``. A table is always written
to a temporary file in the same folder and then renamed over the target
(`os.replace`), so a reader, a crash or Ctrl-C never sees a half-written file.
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

__all__ = ["OUTPUT_FORMATS", "output_format", "read_table", "write_table_atomic"]

OUTPUT_FORMATS = {".ecsv": "ascii.ecsv", ".fits": "fits", ".parquet": "parquet"}
"""Output file extension -> astropy table format."""

_FITS_META_KEY = "SPECFM"


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


def write_table_atomic(table, path):
    """Write ``table`` to ``path`` through a temporary file and an atomic rename.

    Parameters
    ----------
    table : `~astropy.table.QTable`
        The table.
    path : str or path-like
        The output; its extension chooses the format (see `output_format`). It is
        replaced only once the new file is complete.

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
