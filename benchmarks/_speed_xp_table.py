"""A survey-sized Gaia XP table through ``specfm predict``: rate and memory by table size.

Real Gaia XP sampled spectra (the first ``--stars`` of the shared Gaia XP / APOGEE table,
put back in W m^-2 nm^-1 by their ``medflux``) are repeated, each copy with its own
``source_id``, into Gaia XP sampled FITS tables of each ``--sizes`` rows, as GaiaXPy and
the Gaia archive write them, with a table of the stars' 7 colours matched by
``source_id``. Each table is predicted by `specfm.predict_files` (what ``specfm predict
TABLE --inputs COLOURS -o OUT.ecsv`` runs: the output is appended to as the run goes,
and rows on disk are not kept) in a fresh process; the table is read
``--rows-per-read`` spectra at a time. Per size: spectra per second end to end (reading,
matching the colours, tokenising, the network, writing the output), and the process's
resident memory once the model is loaded and its peak during the run (sampled every
20 ms), so that memory flat in the number of spectra shows as the same peak at every
size.

For comparison, the smaller tables are also predicted read whole (``--rows-per-read``
equal to their size, as every file was read before 0.1). The reference is
`~specfm.inference.Model.predict` on the same spectra already in memory,
with the same colours and batch size, in a fresh process of its own (issue 21's target 1
is measured that way): the survey path should be within 20% of it.

With ``--dask-workers N`` the largest table (or ``--dask-size``) is also written as
``--dask-files`` files of
consecutive rows and predicted on a local Dask cluster of N one-thread workers
(``specfm predict 'part_*.fits' --workers N``). That run checks its own rows: every
``source_id`` of the table once, none lost and none doubled (the counts are in the table).
Its memory column is the client process's alone (the workers are other processes).

Usage::

    python benchmarks/speed.py xp-table                          # 10,000, 30,000, 100,000
    python benchmarks/speed.py xp-table --sizes 30000 --dask-workers 2
    python benchmarks/speed.py xp-table --sizes 2000 5000 --stars 500

Writes ``benchmarks/results/xp_table_throughput.ecsv`` and ``.rst``.
"""

import argparse
import itertools
import json
import pathlib
import sys
import tempfile
import threading
import time

import _paths as where
import _writing as writer
import numpy as np
from _timing import run_fresh

__all__ = ["main", "write_xp_table"]

MODEL = "specfm-xp"


def write_xp_table(xp, n, folder):
    """Write ``n`` rows of repeated spectra of ``xp`` (an `~specfm.io.XPTable`) as a Gaia XP
    sampled FITS table and its colours table; return their paths."""
    from astropy.io import fits
    from astropy.table import QTable

    medflux = np.asarray(xp.meta["medflux"], dtype=float)[:, None]
    take = np.arange(n) % len(xp)
    flux = (xp.spectra.flux.value * medflux).astype(np.float32)[take]
    error = (xp.spectra.uncertainty.array * medflux).astype(np.float32)[take]
    flux[xp.spectra.mask[take]] = np.nan
    source_id = np.arange(1, n + 1, dtype=np.int64)
    width = flux.shape[1]
    hdu = fits.BinTableHDU.from_columns([
        fits.Column(name="source_id", array=source_id, format="K"),
        fits.Column(name="flux", array=flux, format=f"{width}E", unit="W.m**-2.nm**-1"),
        fits.Column(name="flux_error", array=error, format=f"{width}E",
                    unit="W.m**-2.nm**-1"),
    ])
    spectra = folder / f"xp_sampled_{n}.fits"
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(spectra, overwrite=True)
    colours = QTable(xp.colours[take])
    colours.add_column(source_id, name="source_id", index=0)
    colours_path = folder / f"colours_{n}.fits"
    colours.write(colours_path, overwrite=True)
    return spectra, colours_path


def split_table(spectra, n_files, folder):
    """Write the rows of a Gaia XP sampled FITS table as ``n_files`` files of consecutive
    rows (``part_000.fits``, ...); return their glob pattern."""
    from astropy.io import fits

    folder.mkdir(exist_ok=True)
    with fits.open(spectra) as hdul:
        data = hdul[1].data
        bounds = np.linspace(0, len(data), n_files + 1).astype(int)
        for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
            part = fits.BinTableHDU(data=data[lo:hi], header=hdul[1].header)
            fits.HDUList([fits.PrimaryHDU(), part]).writeto(folder / f"part_{i:03d}.fits")
    return str(folder / "part_*.fits")


def _rss_mb():
    """Memory of this process now, in MB: its resident anonymous memory (Linux ``/proc``).

    Pages of a memory-mapped file that was read (as astropy maps a FITS table) count in
    the resident size, but they are the kernel's file cache, given back under pressure:
    ``RssAnon`` leaves them out.
    """
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no RssAnon in /proc/self/status")


class _PeakWatch:
    """The largest resident memory seen while the block runs (sampled every 20 ms), over
    the whole block and over each half of its time.

    Memory that grows with the spectra read shows as a second-half peak above the first
    half's; a working set that is reached early and then reused shows as equal halves.
    """

    def __enter__(self):
        self._start, self._stop = time.perf_counter(), threading.Event()
        self._samples = [(0.0, _rss_mb())]
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.wait(0.02):
            self._samples.append((time.perf_counter() - self._start, _rss_mb()))

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        end = time.perf_counter() - self._start
        self._samples.append((end, _rss_mb()))
        self.peak = max(rss for _, rss in self._samples)
        self.peak_first_half = max(rss for t, rss in self._samples if t <= end / 2)
        self.peak_second_half = max(rss for t, rss in self._samples if t >= end / 2)
        return False


def _worker(argv):
    """In a fresh process: time one run; print a JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("what", choices=("survey", "in-memory", "dask"))
    parser.add_argument("spectra")
    parser.add_argument("colours")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--rows-per-read", type=int)
    parser.add_argument("--output")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--expected", type=int)
    args = parser.parse_args(argv)
    import warnings

    from astropy.table import QTable

    import specfm
    from specfm.inference.inputs_table import file_inputs, read_inputs_table

    model = specfm.load_pretrained(MODEL)
    import gc

    gc.collect()
    before = _rss_mb()
    with warnings.catch_warnings(), _PeakWatch() as watch:
        warnings.simplefilter("ignore")
        if args.what == "survey":
            t0 = time.perf_counter()
            table = specfm.predict_files(
                [args.spectra], model=model, inputs=args.colours, output=args.output,
                batch_size=args.batch_size, rows_per_read=args.rows_per_read, progress=False,
                keep_rows=False)  # as specfm predict -o runs it
            seconds = time.perf_counter() - t0
            failed = table.meta["summary"]["failed"]
            if failed:
                raise RuntimeError(f"files failed: {failed}")
        elif args.what == "dask":
            t0 = time.perf_counter()  # includes starting the cluster, as a user's run does
            table = specfm.predict_files(
                args.spectra, model=model, inputs=args.colours, output=args.output,
                batch_size=args.batch_size, rows_per_read=args.rows_per_read,
                n_workers=args.workers, progress=False, keep_rows=False)
            seconds = time.perf_counter() - t0
            failed = table.meta["summary"]["failed"]
            if failed:
                raise RuntimeError(f"files failed: {failed}")
        else:
            from specfm.io import read_gaia_xp_sampled

            spectra = read_gaia_xp_sampled(args.spectra)
            inputs = file_inputs(read_inputs_table(QTable.read(args.colours),
                                                   model.vocabulary),
                                 args.spectra, spectra, len(spectra.flux))
            model.predict(spectra[:args.batch_size], inputs=inputs[:args.batch_size],
                          batch_size=args.batch_size, progress=False)  # warm
            t0 = time.perf_counter()
            table = model.predict(spectra, inputs=inputs, batch_size=args.batch_size,
                                  progress=False)
            seconds = time.perf_counter() - t0
    n_rows = table.meta["summary"]["rows"] if "summary" in table.meta else len(table)
    counts = {}
    if args.expected:
        from specfm.inference.output import read_table

        ids = np.asarray(read_table(args.output)["source_id"], dtype=np.int64)
        distinct = np.unique(ids)
        counts = {"rows_lost": int(args.expected - np.isin(np.arange(1, args.expected + 1),
                                                           distinct).sum()),
                  "rows_doubled": int(len(ids) - len(distinct))}
    print(json.dumps({"seconds": seconds, "spectra": n_rows, "rss_before_mb": before,
                      "rss_peak_mb": watch.peak, "rss_peak_first_half_mb": watch.peak_first_half,
                      "rss_peak_second_half_mb": watch.peak_second_half, **counts}))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--worker" in argv:
        return _worker(argv)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000],
                        help="rows of the tables (default 10000 30000 100000)")
    parser.add_argument("--stars", type=int, default=2000,
                        help="real stars repeated to fill the tables (default 2000)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--rows-per-read", type=int, default=8192)
    parser.add_argument("--dask-workers", type=int, default=0,
                        help="also predict the largest table, split into files, on a local "
                             "Dask cluster of this many workers (default: no Dask run)")
    parser.add_argument("--dask-files", type=int, default=8,
                        help="files the table is split into for the Dask run")
    parser.add_argument("--dask-size", type=int, default=None,
                        help="the table size of the Dask run (default: the largest)")
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    from astropy.table import Table

    from specfm.io import read_gaia_xp_table

    xp = read_gaia_xp_table(where.xp_path(args.data), rows=slice(0, args.stars))
    rows = []
    script = pathlib.Path(__file__).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for n in sorted(args.sizes):
            spectra, colours = write_xp_table(xp, n, tmp)
            common = [str(spectra), str(colours), "--batch-size", str(args.batch_size)]
            runs = [("specfm predict (survey path)", "survey",
                     ["--rows-per-read", str(args.rows_per_read), "--output",
                      str(tmp / f"labels_{n}.ecsv")])]
            if n < max(args.sizes):  # as before rows_per_read: the table in memory whole
                runs.append(("specfm predict, table read whole", "survey",
                             ["--rows-per-read", str(n), "--output",
                              str(tmp / f"whole_{n}.ecsv")]))
            if n == min(args.sizes):
                runs.append(("Model.predict, in memory (reference)", "in-memory", []))
            if args.dask_workers and n == (args.dask_size or max(args.sizes)):
                pattern = split_table(spectra, args.dask_files, tmp / f"parts_{n}")
                runs.append((f"specfm predict, {args.dask_files} files, Dask "
                             f"{args.dask_workers} workers", "dask",
                             ["--rows-per-read", str(args.rows_per_read), "--workers",
                              str(args.dask_workers), "--expected", str(n), "--output",
                              str(tmp / f"dask_{n}.ecsv")]))
            for label, what, extra in runs:
                source = pattern if what == "dask" else str(spectra)
                threads = 1 if what == "dask" else args.threads  # the workers: one each
                got = run_fresh(script, [what, source, *common[1:], *extra], threads,
                                f"{what} {n}")
                rate = got["spectra"] / got["seconds"]
                rows.append({"run": label, "spectra": got["spectra"],
                             "seconds": got["seconds"], "spectra_per_s": rate,
                             "rss_before_mb": got["rss_before_mb"],
                             "rss_peak_mb": got["rss_peak_mb"],
                             "rss_growth_mb": got["rss_peak_mb"] - got["rss_before_mb"],
                             "rss_peak_first_half_mb": got["rss_peak_first_half_mb"],
                             "rss_peak_second_half_mb": got["rss_peak_second_half_mb"],
                             "rows_lost": got.get("rows_lost", -1),
                             "rows_doubled": got.get("rows_doubled", -1)})
                print(f"{label:38s} {n:7d} spectra: {rate:7.0f}/s, peak memory "
                      f"{got['rss_peak_mb']:.0f} MB ({rows[-1]['rss_growth_mb']:+.0f} MB "
                      "during the run)", flush=True)
            spectra.unlink()
    table = Table(rows=rows)
    for col in ("rows_lost", "rows_doubled"):
        table[col] = np.ma.masked_less(table[col], 0)  # checked by the Dask run only
    for col in ("seconds", "spectra_per_s", "rss_before_mb", "rss_peak_mb", "rss_growth_mb",
                "rss_peak_first_half_mb", "rss_peak_second_half_mb"):
        table[col].info.format = ".4g"
    reference = [r["spectra_per_s"] for r in rows if r["run"].startswith("Model.predict")]
    table.meta.update(writer.run_metadata(
        models={MODEL: where.MODELS / MODEL}, stars=args.stars, sizes=list(args.sizes),
        batch_size=args.batch_size, rows_per_read=args.rows_per_read, threads=args.threads,
        dask_workers=args.dask_workers, dask_files=args.dask_files))
    cells = [(r["run"], f"{r['spectra']:,}", f"{r['seconds']:.1f}",
              f"{r['spectra_per_s']:.0f}",
              f"{r['spectra_per_s'] / reference[0]:.2f}" if reference else "",
              f"{r['rss_before_mb']:.0f}", f"{r['rss_peak_mb']:.0f}",
              f"{r['rss_peak_first_half_mb']:.0f} / {r['rss_peak_second_half_mb']:.0f}",
              "" if r["rows_lost"] < 0 else f"{r['rows_lost']} / {r['rows_doubled']}")
             for r in rows]
    writer.write_results(
        table, "xp_table_throughput", args.output_dir,
        f"A Gaia XP sampled FITS table with colours through specfm.predict_files, {MODEL}, "
        f"batch {args.batch_size}, {args.threads} threads",
        ("Run", "Spectra", "Seconds", "Spectra/s", "Rate / reference",
         "Memory after loading (MB)", "Peak memory in the run (MB)",
         "Peak, first / second half of the run (MB)", "Rows lost / doubled"), cells,
        notes=(f"The tables repeat the first {args.stars} stars of the Gaia XP / APOGEE "
               "table, each copy with its own source_id; each run is a fresh process, "
               "timed from after loading the model; memory is the process's resident "
               "size after loading the model and its peak during the run, also over the first and "
               "the second half of the run's time (memory that grows with the spectra "
               "read would make the second larger). The Dask run "
               "is timed from before its cluster starts, and its memory is the client's "
               "alone.",))
    return table


if __name__ == "__main__":
    main()
