"""Non-spectral inputs for files: rows of a user's table matched to each file's spectra.

``specfm predict --inputs colours.ecsv`` (or ``predict_files(..., inputs=table)``) gives the
model colours or known labels for spectra read from files. A row belongs to a spectrum by
its ``source_id`` (when the file's reader gives one per spectrum, as the Gaia XP readers
do), or else by its ``file`` (the file's name or path) and, for files of several spectra,
its ``index`` in the file. The columns used are those named like the model's input tokens
(``bp_rp``, ``g_rp``, ``logg``, ...; with ``<name>_err`` when present); a spectrum without
a row gets no such token.
"""

import os
import weakref

import numpy as np
from astropy.table import QTable, Table
from astropy.utils.masked import Masked

from ..exceptions import SpecfmInputError
from .reading import piece_position

__all__ = ["file_inputs", "photometry_from_file", "read_inputs_table"]

_KEYS = ("source_id", "file", "index")


def read_inputs_table(table, vocabulary):
    """Read and check an inputs table once, before any file is predicted.

    Parameters
    ----------
    table : str, path-like or `~astropy.table.Table`
        A table file (any format `astropy.table.Table.read` reads) or a table.
    vocabulary : `~specfm.tokens.Vocabulary`
        The model's vocabulary.

    Returns
    -------
    `~astropy.table.QTable`
        The table, with only the key columns and those the model can take.

    Raises
    ------
    SpecfmInputError
        If the table cannot be read, has neither ``source_id`` nor ``file``, or no column
        that the model takes.

    """
    if isinstance(table, str | os.PathLike):
        try:
            table = QTable.read(os.fspath(table))
        except Exception as error:
            raise SpecfmInputError(f"Cannot read the inputs table {os.fspath(table)}: "
                                   f"{error}") from error
    table = QTable(table)
    if "source_id" not in table.colnames and "file" not in table.colnames:
        raise SpecfmInputError(
            "The inputs table needs a source_id column (to match Gaia source ids) or a file "
            "column (the file's name, with index for files of several spectra); it has "
            + ", ".join(table.colnames))
    names = {spec.name for spec in vocabulary}
    used = [c for c in table.colnames
            if c in names or (c.endswith("_err") and c[:-4] in names)]
    if not [c for c in used if not c.endswith("_err")]:
        raise SpecfmInputError(
            "No column of the inputs table is an input this model takes; it takes "
            + ", ".join(sorted(names)) + f"; the table has {', '.join(table.colnames)}.")
    return table[[c for c in table.colnames if c in _KEYS] + used]


_SOURCE_INDEX = {}  # id(table) -> (weak reference to the table, index)


def _source_index(table):
    """Return ``(sorted source_ids, their rows)`` of an inputs table, built once per table.

    A survey-sized file is matched slice by slice; the index is not rebuilt for each.
    Where a source_id has several rows, the last one is used. (Tables are not hashable,
    so the cache is keyed by identity, and an entry goes with its table.)
    """
    cached = _SOURCE_INDEX.get(id(table))
    if cached is not None and cached[0]() is table:
        return cached[1]
    ids = np.asarray(table["source_id"], dtype=np.int64)
    rows = np.arange(len(ids))[::-1]  # last row first, so that a stable sort keeps it first
    order = np.argsort(ids[rows], kind="stable")
    index = (ids[rows][order], rows[order])
    key = id(table)
    _SOURCE_INDEX[key] = (weakref.ref(table), index)
    weakref.finalize(table, _SOURCE_INDEX.pop, key, None)
    return index


def _rows_for(table, path, source_ids, n, first_index=0, n_in_file=None):
    """Return, per spectrum, the index of its row in ``table`` (or -1).

    The spectra are ``n`` consecutive ones of the file, from position ``first_index`` of
    its ``n_in_file`` (default: the whole file).
    """
    n_in_file = n if n_in_file is None else int(n_in_file)
    if source_ids is not None and "source_id" in table.colnames:
        known, rows = _source_index(table)
        wanted = np.asarray(source_ids, dtype=np.int64)
        if not known.size:
            return np.full(len(wanted), -1)
        at = np.minimum(np.searchsorted(known, wanted), known.size - 1)
        return np.where(known[at] == wanted, rows[at], -1)
    if "file" not in table.colnames:
        return np.full(n, -1)
    files = [str(f) for f in table["file"]]
    mine = [i for i, f in enumerate(files)
            if f == path or os.path.basename(f) == os.path.basename(path)]
    out = np.full(n, -1)
    if "index" in table.colnames:
        for i in mine:
            k = int(table["index"][i]) - first_index
            if 0 <= k < n:
                out[k] = i
    elif len(mine) == 1:
        out[:] = mine[0]
    elif len(mine) == n_in_file:
        out[:] = mine[first_index:first_index + n]
    elif mine:
        raise SpecfmInputError(
            f"The inputs table has {len(mine)} rows for {os.path.basename(path)}, which holds "
            f"{n_in_file} spectra: add an index column (position in the file) to say which is "
            "which.")
    return out


def file_inputs(table, path, spectra, n_spectra):
    """Return the ``inputs`` of `~specfm.inference.Model.predict` for one file's spectra.

    Parameters
    ----------
    table : `~astropy.table.QTable`
        From `read_inputs_table`.
    path : str
        The file.
    spectra : object
        What was read from it (``meta["source_id"]`` is used when present, and for a
        piece of a larger file ``meta["first_index"]`` and ``meta["rows_in_file"]``, as
        `~specfm.inference.reading.iter_spectra` sets them).
    n_spectra : int
        How many spectra it holds (or, for a piece of a larger file, the piece).

    Returns
    -------
    `~astropy.table.QTable` or None
        One row per spectrum, masked where no row of ``table`` matched; None when none
        did.

    """
    meta = getattr(spectra, "meta", None) or {}
    ids = meta.get("source_id") if hasattr(meta, "get") else None
    ids = ids if ids is not None and np.ndim(ids) == 1 and len(ids) == n_spectra else None
    first, in_file = piece_position(spectra)
    rows = _rows_for(table, os.path.abspath(path), ids, n_spectra, first, in_file)
    if not (rows >= 0).any():
        return None
    out = QTable()
    safe = np.where(rows >= 0, rows, 0)
    for name in table.colnames:
        if name in _KEYS:
            continue
        column = table[name][safe]
        if hasattr(column, "unit") and column.unit is not None:
            values = Masked(np.asarray(getattr(column, "value", column), float) * column.unit,
                            mask=rows < 0)
        else:
            values = np.ma.masked_array(np.asarray(column, float), mask=rows < 0)
        out[name] = values
    return out


def photometry_from_file(spectra, vocabulary):
    """Return colour inputs from the photometry a reader kept (Gaia XP archive files).

    Parameters
    ----------
    spectra : object
        What a reader returned; its ``meta["photometry"]`` is used (see
        `specfm.io.read_gaia_xp_continuous`).
    vocabulary : `~specfm.tokens.Vocabulary`
        The model's vocabulary: only colours it takes are returned.

    Returns
    -------
    dict or None

    """
    from ..io import photometry_inputs

    meta = getattr(spectra, "meta", None) or {}
    photometry = meta.get("photometry") if hasattr(meta, "get") else None
    if not isinstance(photometry, Table):
        return None
    colours = photometry_inputs(photometry) or {}
    names = {spec.name for spec in vocabulary}
    colours = {k: v for k, v in colours.items() if k in names}
    return colours or None
