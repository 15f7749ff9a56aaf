"""``predict_files``: predict labels for many spectrum files, resumably, optionally with Dask.

Each file is read with specutils (``Spectrum.read(path, format=...)``, or
``SpectrumList.read`` for formats only registered for lists) and predicted on its own; the
rows of all files form one table with the columns ``file`` (absolute path) and ``index``
(position of the spectrum in the file), ``source_id`` when the reader gives one per
spectrum (Gaia XP), then the columns of `~specfm.inference.Model.predict`.

With an ``output`` file the table is written atomically every ``flush_every`` files (but
not so often that writing takes more than about 5% of the run: each write rewrites the
whole table), at the end, and when the run is interrupted (Ctrl-C), so the file always
holds every file done up to its last write. The run holds one copy of its rows, and a
Gaia XP sampled FITS table is read ``rows_per_read`` spectra at a time.

Running the same call again resumes: files already in the output (same absolute path,
same model sha256) are skipped and the new rows appended. Files that cannot
be read or predicted are logged with the reason, skipped and listed in the summary; they
are tried again on the next run.
"""

import os
import sys
import time
import warnings

import numpy as np
from astropy import log
from astropy.table import vstack
from tqdm.auto import tqdm

from ..exceptions import CoverageWarning, OutputConflictError
from ..pretrained import available_models
from .api import resolve_model
from .inputs_table import read_inputs_table
from .one_file import FileOptions, PieceSink, predict_file
from .output import (
    append_mark,
    append_table,
    appendable,
    output_format,
    read_table,
    repair_appended,
    write_table_atomic,
)
from .reading import check_format, expand_paths, identify_format, read_spectra

__all__ = ["predict_files"]


FORMAT_HINT_FILES = 20
"""From this many files to do without a ``format``, `predict_files` logs the format of the
first one, to pass instead (specutils otherwise tries every reader's test on every file:
``benchmarks/speed.py survey`` shows what that costs)."""


def _label_names(model, labels):
    if labels is None:
        return list(model.labels)
    return [labels] if isinstance(labels, str) else list(labels)


def _existing_output(output, overwrite):
    """Return the existing output table to resume, or None."""
    if output is None or overwrite or not os.path.exists(output):
        return None
    try:
        removed = repair_appended(output)
        if removed:
            log.warning(f"specfm predict: {os.fspath(output)} ended with {removed} bytes of a "
                        "write that was interrupted; they were removed, and the files whose "
                        "rows they began are predicted again.")
        return read_table(output)
    except Exception as error:
        raise OutputConflictError(
            f"{os.fspath(output)} exists but cannot be read as a prediction table ({error}). "
            "Pass overwrite=True (--overwrite) to replace it, or write elsewhere."
        ) from error


def _check_resumable(existing, output, model, labels, method, precision):
    meta = existing.meta
    theirs = meta.get("model_sha256")
    if theirs != model.sha256:
        raise OutputConflictError(
            f"{os.fspath(output)} holds predictions of model {meta.get('model')!r} (sha256 "
            f"{str(theirs)[:12]}), not of {model.name!r} (sha256 {str(model.sha256)[:12]}); "
            "results of two models are never mixed in one file. Pass overwrite=True "
            "(--overwrite) to replace it, or write to another file."
        )
    if "file" not in existing.colnames:
        raise OutputConflictError(f"{os.fspath(output)} has no 'file' column to resume from.")
    if list(meta.get("labels", labels)) != labels or meta.get("method", method) != method:
        raise OutputConflictError(
            f"{os.fspath(output)} holds labels {meta.get('labels')} predicted with method "
            f"{meta.get('method')!r}; this run asks for {labels} with {method!r}. Use the same "
            "options to resume, or pass overwrite=True (--overwrite) to start again."
        )
    theirs = meta.get("precision", "float32")
    if theirs != precision:
        raise OutputConflictError(
            f"{os.fspath(output)} holds predictions made in {theirs}; this run asks for "
            f"{precision}. Use precision={theirs!r} (--precision {theirs}) to resume, or "
            "pass overwrite=True (--overwrite) to start again."
        )


def _choose_model(model, files, format, registry, existing, device):
    """Load the model; with none named, the one of the output being resumed, else by coverage."""
    if model is None and existing is not None:
        name = existing.meta.get("model")
        if name in available_models(registry):
            model = name
    if model is None:
        for path in files[:5]:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    spectra = read_spectra(path, format)
            except Exception:  # unreadable files are reported later
                continue
            chosen = resolve_model(None, spectra=spectra, registry=registry)
            log.info(f"specfm predict: using {chosen.name} for every file ({chosen.choice})")
            break
        else:
            chosen = resolve_model(None, registry=registry)
    else:
        chosen = resolve_model(model, registry=registry)
    if device is not None:
        chosen.to(device)
    return chosen


def _rewrite_whole(output, chunk, meta, on_disk=True):
    """Write ``output`` once, whole and marked: the rows it has (if ``on_disk``), then ``chunk``.

    The fallback of an append that cannot be made (a new file, or other columns than the
    file's): slower, as it reads the output back, but never leaves the file half-written.
    """
    before = read_table(output) if on_disk else None
    write_table_atomic(_stack([before, chunk], meta), output, mark=True)


def _stack(tables, meta):
    tables = [t for t in tables if t is not None and len(t)]
    if not tables:
        return None
    if len(tables) == 1:
        out = tables[0]  # no copy: a survey-sized table is not duplicated at every write
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # meta of the parts is replaced just below
            out = vstack(tables, join_type="outer", metadata_conflicts="silent")
    first = [n for n in ("file", "index", "source_id") if n in out.colnames]
    order = first + [n for n in out.colnames if n not in first]
    if out.colnames != order:
        out = out[order]
    out.meta = dict(meta)
    return out


def predict_files(paths, model=None, format=None, output=None, client=None, n_workers=None,
                  batch_size=64, labels=None, method="one_pass", overwrite=False,
                  progress=None, flush_every=20, files_per_task=None, registry=None,
                  device=None, inputs=None, keep_rows=True, **kwargs):
    """Predict labels for every spectrum in many files; resumable; optionally with Dask.

    Parameters
    ----------
    paths : str, path-like or iterable of them
        Files and glob patterns (see `~specfm.inference.reading.expand_paths`).
    model : `~specfm.inference.Model`, str or path-like, optional
        A loaded model, a shipped model's name or a model folder. By default: the model of
        the output being resumed, else the shipped model that best covers the first
        readable file (logged), used for every file.
    format : str, optional
        The specutils format of the files (``"APOGEE apStar"``, ``"Gaia XP sampled"``,
        ...); by default specutils identifies each file, trying every reader's test on
        it, which for an apStar file costs about as much as predicting it
        (``benchmarks/speed.py survey``); from ``FORMAT_HINT_FILES`` files on, the format
        of the first is logged, to pass here.
    output : str or path-like, optional
        Write the table here (``.ecsv``, ``.fits`` or ``.parquet``) as the run goes, every
        ``flush_every`` files and at the end (also after Ctrl-C). An ECSV output grows by
        appending the new rows (`~specfm.inference.output.append_table`), so a
        survey-sized run never rewrites it; FITS and Parquet outputs are rewritten whole,
        atomically. If it exists and holds predictions of the same model (sha256), labels
        and method, the files it holds are skipped and the new rows appended (an append
        that a crash cut short is removed first, and its files predicted again); if it
        holds another model's, an `~specfm.exceptions.OutputConflictError` is raised
        unless ``overwrite``.
    client : distributed.Client, optional
        Spread the files over this Dask cluster's workers (each loads the model once; the
        model folder and the files must be readable by the workers).
    n_workers : int, optional
        Start a local Dask cluster of this many worker processes (one thread each) for
        the run. Ignored when ``client`` is given.
    batch_size : int
        Spectra per batch inside a file (`~specfm.inference.Model.predict`).
    labels : str or list of str, optional
        Labels to predict (default: all of the model's).
    method : {"one_pass", "chunked"}
        As for `~specfm.inference.Model.predict`.
    overwrite : bool
        Replace an existing output instead of resuming it.
    progress : bool, optional
        Show a progress bar over files (with rate and time left) on standard error;
        default: when standard error is a terminal.
    flush_every : int
        Write the output after this many newly finished files, or later where writing
        would otherwise take more than about 5% of the run's time.
    files_per_task : int, optional
        Files per Dask task (default: enough for about four tasks per worker, at most 32).
    registry : str or path-like, optional
        Folder of models (see `specfm.pretrained.registry_dir`).
    device : str, optional
        Torch device for the model (e.g. ``"cuda"``), in this process and on the workers.
    inputs : str, path-like or `~astropy.table.Table`, optional
        Colours or known labels for the spectra: a table with ``source_id`` or ``file``
        (and ``index``) columns and columns named like the model's input tokens
        (``specfm.inference.inputs_table``). Without it, Gaia XP archive files give the
        colours their photometry allows.
    keep_rows : bool
        Also return every row (default). With an ECSV ``output``, False returns a table
        without rows (``meta`` and its summary only) and lets go of each file's rows once
        they are on disk, so that memory does not grow with the run (``specfm predict``
        does this). With an ECSV ``output``, a file read in pieces (``rows_per_read``)
        is appended piece by piece in this process, whatever ``keep_rows``; a Dask worker
        returns its rows whole.
    **kwargs
        The other fields of `~specfm.inference.one_file.FileOptions`, passed to
        `~specfm.inference.Model.predict` for every file (``max_tokens``, ``seed``,
        ``chunk_size``, ``radial_velocity``, ...), and ``rows_per_read`` (spectra read
        at a time from a Gaia XP sampled FITS table, default 8192).

    Returns
    -------
    `~astropy.table.QTable`
        One row per spectrum: ``file``, ``index``, (``source_id``), then the columns of
        `~specfm.inference.Model.predict` without ``spectrum_index``; with an ``output``,
        every row it holds (none with ``keep_rows=False`` and an ECSV output). ``meta``
        is that of `~specfm.inference.Model.predict`, plus
        ``meta["summary"]`` (not written):
        ``done``, ``skipped`` and ``rows`` (counts of this run) and ``failed``
        (``{path: reason}``).

    Raises
    ------
    FileFormatError
        For a ``format`` no specutils reader has (before any file is read).
    OutputConflictError
        When ``output`` holds results that must not be mixed with this run's.
    SpecfmInputError
        For an unknown model, output extension or keyword argument.
    KeyboardInterrupt
        Passed on after the output was written with everything done so far.

    """
    check_format(format)
    files, failed = expand_paths(paths)
    if output is not None:
        output_format(output)
    existing = _existing_output(output, overwrite)
    model = _choose_model(model, files, format, registry, existing, device)
    names = _label_names(model, labels)
    if existing is not None:
        _check_resumable(existing, output, model, names, method,
                         kwargs.get("precision", "float32"))
        done_before = set(existing["file"])
    else:
        done_before = set()
    todo = [(i, f) for i, f in enumerate(files) if f not in done_before]
    if format is None and len(todo) >= FORMAT_HINT_FILES:
        _hint_format(todo[0][1], len(todo))
    options = FileOptions.from_arguments(
        format=format, labels=labels, batch_size=batch_size, method=method,
        inputs=None if inputs is None else read_inputs_table(inputs, model.vocabulary),
        **kwargs)
    show = sys.stderr.isatty() if progress is None else bool(progress)
    tables, meta = {}, dict(existing.meta) if existing is not None else {}
    counts = {"done": 0, "rows": 0, "coverage": 0, "written": 0}  # written: files done then
    warned = set()

    order = [i for i, _ in todo]
    done = {"upto": 0, "table": existing}  # the files order[:upto], stacked once
    writes = _WriteClock()
    appending = output is not None and appendable(output)
    if appending:
        # ECSV: finished files are appended to the output and (unless keep_rows) let go
        done["chunks"] = [existing] if keep_rows and existing is not None else []
        done["on_disk"] = existing is not None
        done["table"] = existing = None  # on disk; held only in done["chunks"] if kept

    def flush(final=False):
        # Take the finished files that follow those already taken, in file order, once,
        # and let go of their own tables, so that the run holds one copy of its rows.
        upto = done["upto"]
        while upto < len(order) and order[upto] in tables:
            upto += 1
        new = [tables.pop(i) for i in order[done["upto"]:upto]]
        done["upto"] = upto
        if appending:
            if final:
                new += [tables.pop(i) for i in order[upto:] if i in tables]
            return _append(new, final)
        if new:
            done["table"] = _stack([done["table"], *new], meta)
        rest = [tables[i] for i in order[upto:] if i in tables]
        table = _stack([done["table"], *rest], meta)
        if output is not None and counts["done"] > counts["written"]:
            with writes:
                write_table_atomic(table, output)
            counts["written"] = counts["done"]
        return table

    def _append(new, final):
        # Files finished out of order wait for those before them (a Dask run), so that the
        # rows stay in file order; the last flush appends whatever is left.
        chunk = _stack(new, meta)
        if chunk is not None:
            with writes:
                if not (done["on_disk"] and append_table(chunk, output)):
                    # a new file, or other columns than the file's: write it whole, once
                    _rewrite_whole(output, chunk, meta, done["on_disk"])
            done["on_disk"] = True
            if keep_rows:
                done["chunks"].append(chunk)
        return _stack(done["chunks"], meta) if final else None

    # A file read in pieces (a survey-sized table) is appended piece by piece (in this
    # process; a Dask worker sends each file's rows back whole).
    sink = _AppendSink(output, done, meta, flush, keep_rows) if appending else None
    bar = tqdm(total=len(todo), unit="file", desc="specfm predict", disable=not show,
               file=sys.stderr, dynamic_ncols=True)
    outcomes = _outcomes(model, todo, options, client, n_workers, files_per_task, device,
                         sink)
    since_flush = 0
    try:
        for index, outcome in outcomes:
            bar.update(1)
            _report(outcome, failed, warned)
            counts["coverage"] += any(issubclass(c, CoverageWarning)
                                      for c, _ in outcome.warnings)
            if outcome.table is not None or outcome.streamed:
                tables[index] = outcome.table  # None when its rows are on disk already
                counts["done"] += 1
                counts["rows"] += outcome.rows
                if not meta and outcome.table is not None:  # (a streamed file set it)
                    meta.update(outcome.table.meta)
            else:
                tables[index] = None  # failed: nothing to stack, but the order goes on
            since_flush += 1
            if (output is not None and since_flush >= max(1, int(flush_every))
                    and writes.may_write()):
                flush()
                since_flush = 0
    finally:
        outcomes.close()  # at once, not when collected: cancels Dask tasks, stops a cluster
        bar.close()
        table = flush(final=True)
    if table is None:
        table = _empty_like()
        table.meta = meta or {"model": model.name, "model_sha256": model.sha256}
    table.meta["summary"] = {
        "done": counts["done"],
        "skipped": len(files) - len(todo),
        "failed": failed,
        "rows": counts["rows"],
    }
    if counts["coverage"]:
        warnings.warn(
            f"{counts['coverage']} files hold spectra that extend beyond the coverage of "
            f"model {model.name!r}; the pixels outside it were not used and those rows have "
            "flag & 1 set (PredictionFlag.COVERAGE).", CoverageWarning, stacklevel=2)
    return table


def _hint_format(path, n_files):
    found = identify_format(path)
    if found is not None:
        log.info(
            f"specfm predict: no format was given, so specutils identifies each of the "
            f"{n_files} files by trying every reader's test on it, which can take as long as "
            f"predicting it. The first file is {found!r}; if they all are, pass "
            f"format={found!r} (specfm predict --format {found!r}).")


class _WriteClock:
    """Times the writes of the output, so that writing stays a small share of a run.

    Each write rewrites the whole table, which grows with the run; writing after every
    ``flush_every`` files alone would make the time spent writing grow as the square of
    the number of files. `may_write` is False until, since the last write ended, at least
    ``1 / WRITING_SHARE - 1`` times as long as that write took has passed.
    """

    WRITING_SHARE = 0.05

    def __init__(self):
        self.cost, self.ended = 0.0, time.monotonic()

    def __enter__(self):
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.ended = time.monotonic()
        self.cost = self.ended - self.started
        return False

    def may_write(self):
        wait = self.cost * (1.0 / self.WRITING_SHARE - 1.0)
        return time.monotonic() - self.ended >= wait


class _AppendSink(PieceSink):
    """Appends the pieces of a file read in pieces to an ECSV output as they are predicted.

    The pieces are appended without a `~specfm.inference.output.WRITE_MARK`, and the mark
    goes after the last one, so that the file counts as done in the output only once all
    its rows are there: a crash in between leaves rows that the resume cuts off
    (`~specfm.inference.output.repair_appended`), a failed file or Ctrl-C has them cut off
    at once. Files finished before it are appended first, to keep the file order.
    """

    def __init__(self, output, done, meta, flush, keep_rows):
        self.output, self.done, self.meta, self.flush = output, done, meta, flush
        self.keep_rows = keep_rows

    def begin(self, table):
        self.flush()  # the files before this one, each closed by its mark
        if not self.meta:
            self.meta.update(table.meta)
        if not self.done["on_disk"]:  # the header alone, as a complete write of 0 rows
            write_table_atomic(_stack([table], self.meta)[:0], self.output, mark=True)
            self.done["on_disk"] = True
        self.kept = len(self.done["chunks"])

    def write(self, table):
        table = _stack([table], self.meta)
        if table is None:
            return True
        if not append_table(table, self.output, mark=False):
            return False  # other columns than the file's: the rest is rewritten at the end
        if self.keep_rows:
            self.done["chunks"].append(table)
        return True

    def end(self, rest, n_rows):
        chunk = _stack(rest, self.meta)
        if chunk is None:
            append_mark(self.output, n_rows)
        else:  # the output, this file's pieces so far included, and the rest, once
            _rewrite_whole(self.output, chunk, self.meta)
            if self.keep_rows:
                self.done["chunks"].append(chunk)

    def abandon(self):
        repair_appended(self.output)
        del self.done["chunks"][self.kept:]


def _empty_like():
    from astropy.table import QTable

    table = QTable()
    table["file"] = np.array([], dtype=str)
    table["index"] = np.array([], dtype=np.int64)
    return table


def _report(outcome, failed, warned):
    """Log a failed file, and each distinct warning (other than coverage) once per run.

    Warnings are logged rather than re-issued: at survey scale the same reader warning
    comes from thousands of files, and a warnings filter set to "error" must not turn one
    file's header quirk into the failure of the whole run.
    """
    if outcome.error is not None:
        failed[outcome.path] = outcome.error
        reason = outcome.error if len(outcome.error) <= 160 else outcome.error[:157] + "..."
        log.warning(f"specfm predict: skipped {outcome.path}: {reason}")
    for category, message in outcome.warnings:
        if issubclass(category, CoverageWarning) or (category, message) in warned:
            continue
        warned.add((category, message))
        log.warning(f"specfm predict: {category.__name__} from {outcome.path} (logged once): "
                    f"{message}")


def _outcomes(model, todo, options, client, n_workers, files_per_task, device, sink=None):
    """Yield ``(index, FileOutcome)`` for every ``(index, path)`` of ``todo``, any order.

    ``sink`` (a `PieceSink`) takes the rows of files read in pieces, in this process only.
    """
    if client is None and n_workers is None:
        for index, path in todo:
            yield index, predict_file(model, path, options, sink)
        return
    if not todo:
        return
    from .distributed import dask_outcomes

    yield from dask_outcomes(model, todo, options, client, n_workers, files_per_task, device)

