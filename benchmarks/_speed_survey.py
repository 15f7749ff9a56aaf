"""Files per second at survey scale: where the time goes, and 1 vs 2 Dask workers.

The real APOGEE apStar files of ``../shared/data/real_spectra`` are linked ``--copies``
times into a temporary folder (distinct names, the same bytes), and predicted with the
shipped model chosen for them (``specfm-base``) through `specfm.predict_files`, which is
what ``specfm predict`` runs:

1. **Profile** (in this process, no Dask): one run under `cProfile`; the time is split
   into *reading* (specutils' ``Spectrum.read``), *tokenising* (`specfm.tokens.Tokenizer`:
   unit conversion, continuum normalisation, chunking), the *network* forward pass
   (`specfm.model.SpecFMNetwork.forward`), *writing* the output table, and the rest.
2. **Without a format**: the same files, not profiled, once with ``format="APOGEE
   apStar"`` and once with no format, as ``specfm predict FILES`` without ``--format``
   runs: specutils then identifies every file by trying each reader's test on it.
3. **Scaling**: the same files with a Dask ``LocalCluster`` of 1 and of 2 worker
   processes (one thread each), wall time from submission to the written output,
   including starting the cluster and loading the model once per worker.

Usage::

    python benchmarks/speed.py survey                       # 40 copies of each file
    python benchmarks/speed.py survey --copies 5 --workers 1

Writes ``benchmarks/results/survey_throughput.ecsv`` and ``.rst``.
"""

import argparse
import cProfile
import pathlib
import pstats
import tempfile
import time

import _paths as where
import _writing as writer

__all__ = ["main"]

APSTAR = ("apStar-dr17-2M17335483-2753043.fits", "apStar-dr17-2M19485057+5005279.fits")

# profile entries (file suffix, function name) -> stage, summed as cumulative time
STAGES = {
    "reading": [("specutils/io/registers.py", "_read"), ("astropy/io/registry/core.py",
                                                         "read")],
    "tokenising": [("specfm/tokens/tokenizer.py", "__call__")],
    "network": [("specfm/model/network.py", "forward")],
    "writing": [("specfm/inference/output.py", "write_table_atomic")],
}


def link_files(data, copies, folder):
    paths = []
    for k in range(copies):
        for name in APSTAR:
            target = folder / f"copy{k:04d}-{name}"
            target.symlink_to(data / "real_spectra" / name)
            paths.append(target)
    return paths


def stage_times(profile):
    stats = pstats.Stats(profile)
    out = {}
    for stage, keys in STAGES.items():
        best = 0.0
        for (filename, _, func), (_, _, _, cumulative, _) in stats.stats.items():
            if any(filename.endswith(f) and func == fn for f, fn in keys):
                best = max(best, cumulative)
        out[stage] = best
    return out


def run(paths, output, format="APOGEE apStar", **kwargs):
    import warnings

    import specfm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        table = specfm.predict_files([str(p) for p in paths], format=format,
                                     output=str(output), progress=False, **kwargs)
        return time.perf_counter() - t0, table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=40)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--model", default="specfm-base")
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    where.light_torch(args.threads)
    from astropy.table import Table

    data = where.data_dir(args.data)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "files").mkdir()
        paths = link_files(data, args.copies, tmp / "files")
        n = len(paths)
        run(paths[:2], tmp / "warm.ecsv", model=args.model)  # imports, caches
        profile = cProfile.Profile()
        profile.enable()
        seconds, table = run(paths, tmp / "profiled.ecsv", model=args.model)
        profile.disable()
        profile.dump_stats(tmp / "profile.out")
        stages = stage_times(str(tmp / "profile.out"))
        stages["other"] = max(seconds - sum(stages.values()), 0.0)
        print(f"in process: {n} files, {len(table)} spectra in {seconds:.1f} s = "
              f"{n / seconds:.2f} files/s (profiled)", flush=True)
        for stage, t in stages.items():
            print(f"  {stage:10s} {t:7.2f} s  {100 * t / seconds:5.1f}%", flush=True)
        rows.append({"run": "in process (profiled)", "workers": 0, "files": n,
                     "spectra": len(table), "seconds": seconds,
                     "files_per_s": n / seconds,
                     **{f"{k}_share": v / seconds for k, v in stages.items()}})
        for label, format in (("in process, format given", "APOGEE apStar"),
                              ("in process, format identified per file", None)):
            seconds, table = run(paths, tmp / f"plain_{format}.ecsv", format=format,
                                 model=args.model)
            rows.append({"run": label, "workers": 0, "files": n, "spectra": len(table),
                         "seconds": seconds, "files_per_s": n / seconds})
            print(f"{label}: {n / seconds:.2f} files/s ({seconds:.1f} s)", flush=True)
        for workers in args.workers:
            seconds, table = run(paths, tmp / f"dask{workers}.ecsv", model=args.model,
                                 n_workers=workers)
            rows.append({"run": f"Dask LocalCluster, {workers} worker(s)",
                         "workers": workers, "files": n, "spectra": len(table),
                         "seconds": seconds, "files_per_s": n / seconds})
            print(f"dask {workers} worker(s): {n / seconds:.2f} files/s "
                  f"({seconds:.1f} s, cluster start and model loading included)", flush=True)
    table = Table(rows=rows)
    for col in table.colnames:
        if col.endswith("_share") or col in ("seconds", "files_per_s"):
            table[col].info.format = ".3g"
    table.meta.update(writer.run_metadata(copies=args.copies, files=list(APSTAR),
                                          model=args.model, threads=args.threads))
    cells = []
    for r in table:
        shares = ""
        if r["run"] == "in process (profiled)":
            shares = ", ".join(f"{k} {100 * r[f'{k}_share']:.0f}%"
                               for k in (*STAGES, "other"))
        cells.append((r["run"], str(r["files"]), f"{r['seconds']:.1f}",
                      f"{r['files_per_s']:.2f}", shares))
    writer.write_results(table, "survey_throughput", args.output_dir,
                         "specfm.predict_files on real apStar files (8575 pixels each), "
                         f"{args.model}",
                         ("Run", "Files", "Seconds", "Files/s", "Where the time goes"),
                         cells, notes=("Dask runs include starting the cluster and loading the "
                                       "model on each worker; one thread per worker.",))
    return table


if __name__ == "__main__":
    main()
