"""Predicting one spectrum file, never raising for a bad one: `predict_file`.

`~specfm.inference.predict_files` (and each Dask task) calls `predict_file` for every file
with one `FileOptions`: the format, the arguments of `~specfm.inference.Model.predict`, and
the table of per-spectrum inputs. It returns a `FileOutcome` with the file's rows, or the
reason it failed, and the warnings it raised. A Gaia XP sampled FITS table is read and
predicted ``rows_per_read`` spectra at a time; given a `PieceSink` (an ECSV output being
appended to), the rows of each piece after the first go to it as they are predicted, so
that memory does not grow with the size of the table either.
"""

import contextlib
import dataclasses
import os
import warnings

import numpy as np

from ..exceptions import OutputWriteError, SpecfmInputError
from .batching import split_pieces
from .inputs_table import file_inputs, photometry_from_file
from .memory import release_now_and_then
from .reading import describe_read_error, iter_spectra, piece_position

__all__ = ["FileOptions", "FileOutcome", "PieceSink", "predict_file"]


@dataclasses.dataclass
class FileOptions:
    """How every file of a run is read and predicted.

    Attributes
    ----------
    format : str or None
        The specutils format of the files (None: specutils identifies each).
    labels : list of str or None
        Labels to predict (None: all of the model's).
    batch_size, method, chunk_size, seed, max_tokens, medium, precision : object
        As for `~specfm.inference.Model.predict`.
    radial_velocity, redshift : object
        As for `~specfm.inference.Model.predict` (a velocity, a header keyword, ...).
    inputs : `~astropy.table.QTable` or None
        Per-spectrum inputs from ``specfm.inference.inputs_table.read_inputs_table``; without
        one (or a matching row), colours from the photometry a reader kept (Gaia XP
        archive files) are used where the model takes them.
    rows_per_read : int
        Spectra read and predicted at a time from a file whose reader can read it in
        slices (Gaia XP sampled FITS tables; `~specfm.inference.reading.iter_spectra`).
        The labels are those of reading it whole, except that a spectrum longer than the
        model's token cap gets another reproducible random subset of pixels.

    """

    format: str | None = None
    labels: list | None = None
    batch_size: int = 64
    method: str = "one_pass"
    chunk_size: int = 512
    seed: int = 0
    max_tokens: object = "model"
    medium: str = "vacuum"
    precision: str = "float32"
    radial_velocity: object = None
    redshift: object = None
    inputs: object = None
    rows_per_read: int = 8192

    @classmethod
    def from_arguments(cls, **kwargs):
        """Build from keyword arguments; unknown ones are a clear error."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(kwargs) - fields)
        if unknown:
            raise SpecfmInputError(
                f"predict_files does not take {', '.join(map(repr, unknown))}; the options "
                f"for every file are {', '.join(sorted(fields))}.")
        return cls(**kwargs)

    def predict_arguments(self):
        """Return the keyword arguments of `~specfm.inference.Model.predict` (not ``inputs``)."""
        return {name: getattr(self, name) for name in (
            "labels", "batch_size", "method", "chunk_size", "seed", "max_tokens", "medium",
            "radial_velocity", "redshift", "precision")}


@dataclasses.dataclass
class FileOutcome:
    """What became of one file.

    Attributes
    ----------
    path : str
        The file's absolute path.
    table : `~astropy.table.QTable` or None
        Its rows, or None when it failed or its rows went to a `PieceSink`.
    error : str or None
        Why it failed.
    rows : int
        The number of its rows (0 when it failed).
    streamed : bool
        Its rows went to a `PieceSink` as they were predicted (``table`` is None).
    warnings : list of tuple
        ``(category, message)`` of the distinct warnings raised while reading and
        predicting it.

    """

    path: str
    table: object = None
    error: str | None = None
    warnings: list = dataclasses.field(default_factory=list)
    rows: int = 0
    streamed: bool = False


class PieceSink:
    """Where `predict_file` sends the rows of a file read in more than one piece.

    The base class writes nothing (every ``write`` is refused, so the rows stay with
    `predict_file`); ``specfm.inference.files`` appends them to an ECSV output.
    `predict_file` calls `begin` when a file's second piece is predicted, `write` with
    each piece's table from the first on, then `end` when the file is done, or `abandon`
    when it fails or the run is interrupted.
    """

    def begin(self, table):
        """Get ready for a file's pieces; ``table`` is its first."""

    def write(self, table):
        """Take one piece's rows; return False to leave them (and the rest) with the caller."""
        return False

    def end(self, rest, n_rows):
        """Close the file: ``n_rows`` rows in all, ``rest`` the tables `write` refused."""

    def abandon(self):
        """Remove what the file wrote: it failed (or the run stopped) after `begin`."""


def _id_column(spectra, n_rows):
    """Return the reader's ``meta["source_id"]`` when it has one value per row, else None."""
    meta = getattr(spectra, "meta", None) or {}
    ids = meta.get("source_id") if hasattr(meta, "get") else None
    if ids is None or np.ndim(ids) != 1 or len(ids) != n_rows:
        return None
    return np.asarray(ids, dtype=np.int64)


def _file_inputs(model, path, spectra, inputs_table):
    """Return the non-spectral inputs of one file: from the user's table, else its photometry."""
    inputs = None
    if inputs_table is not None:
        n = sum(piece.n_spectra for piece in split_pieces(spectra))
        inputs = file_inputs(inputs_table, path, spectra, n)
    if inputs is None:
        inputs = photometry_from_file(spectra, model.vocabulary)
    return inputs


class _ReadError(Exception):
    """Reading a file failed; the message says why (`describe_read_error`)."""


def _read_pieces(path, options):
    """Yield the pieces `iter_spectra` reads; a failure to read is a `_ReadError`."""
    pieces = iter_spectra(path, options.format, options.rows_per_read)
    while True:
        try:
            spectra = next(pieces)
        except StopIteration:
            return
        except Exception as error:
            raise _ReadError(describe_read_error(error, path)) from error
        yield spectra


def _with_file_columns(table, path, spectra):
    """Put the ``file``, ``index`` (and ``source_id``) columns first in a piece's table."""
    n = len(table)
    first, _ = piece_position(spectra)
    table.remove_column("spectrum_index")
    ids = _id_column(spectra, n)
    if ids is not None:
        table.add_column(ids, name="source_id", index=0)
        table["source_id"].info.description = "Source identifier given by the reader"
    table.add_column(np.arange(first, first + n, dtype=np.int64), name="index", index=0)
    table["index"].info.description = "Position of the spectrum in its file"
    table.add_column(np.full(n, path), name="file", index=0)
    table["file"].info.description = "Absolute path of the file the spectrum was read from"
    return table


def _abandon_quietly(sink):
    """Tell a begun sink that its file is abandoned; an error doing so is not raised."""
    if sink is not None:
        with contextlib.suppress(Exception):
            sink.abandon()


def predict_file(model, path, options=None, sink=None):
    """Read and predict one file; never raise for a bad file.

    Parameters
    ----------
    model : `~specfm.inference.Model`
        The model.
    path : str or path-like
        The file.
    options : `FileOptions`, optional
        The format, the arguments of `~specfm.inference.Model.predict` and the inputs
        table; default `FileOptions()`.
    sink : `PieceSink`, optional
        Where the rows of a file read in more than one piece go, piece by piece, instead
        of being held until the file is done. A file of one piece is returned whole.

    Returns
    -------
    FileOutcome
        With a table whose first columns are ``file``, ``index`` (and ``source_id``)
        (None if its rows went to ``sink``), or the reason it failed (then no rows of it,
        even if some of its pieces were predicted).

    Raises
    ------
    OutputWriteError
        When ``sink`` cannot write (a full disk): that stops the run, not just the file.

    """
    from astropy.table import vstack

    options = FileOptions() if options is None else options
    path = os.path.abspath(os.fspath(path))
    outcome = FileOutcome(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tables, began, held = [], None, False  # began: the sink, once a file's pieces go to it
        try:
            for spectra in _read_pieces(path, options):
                inputs = _file_inputs(model, path, spectra, options.inputs)
                table = model.predict(spectra, progress=False, inputs=inputs,
                                      **options.predict_arguments())
                tables.append(_with_file_columns(table, path, spectra))
                outcome.rows += len(table)
                del spectra, inputs, table
                if sink is not None and not held and (len(tables) > 1 or began is not None):
                    if began is None:
                        sink.begin(tables[0])
                        began = sink
                    while tables and sink.write(tables[0]):
                        tables.pop(0)  # on disk: let go of it
                    held = bool(tables)  # refused: the rest is held, as without a sink
                release_now_and_then()  # else freed memory grows with the spectra read
        except _ReadError as error:  # a bad file is reported, not fatal
            outcome.error = str(error)
        except OutputWriteError:
            _abandon_quietly(began)
            raise
        except Exception as error:
            outcome.error = f"{type(error).__name__}: {error}".strip()
        except BaseException:  # Ctrl-C: no part of the file is left in the output
            _abandon_quietly(began)
            raise
        if began is not None:
            if outcome.error is not None:
                began.abandon()
            else:
                try:
                    began.end(tables, outcome.rows)
                except BaseException:  # the mark not written: no part of the file stays
                    _abandon_quietly(began)
                    raise
                outcome.streamed = True
            tables = []
        if outcome.error is not None:
            outcome.rows = 0
        elif tables:
            outcome.table = (tables[0] if len(tables) == 1
                             else vstack(tables, metadata_conflicts="silent"))
    seen = set()
    for w in caught:
        key = (w.category, str(w.message))
        if key not in seen:
            seen.add(key)
            outcome.warnings.append(key)
    return outcome
