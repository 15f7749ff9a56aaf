"""Inference throughput and peak memory of the specfm network: one pass vs 512-pixel chunks.

Every configuration (pixel count x mode) runs in a fresh Python process, so that its peak
resident memory (``ru_maxrss``) is its own. Reported per configuration:

* ``spectra_per_s``: spectra predicted per second (batches of ``--batch`` spectra, three
  labels requested, after one warm-up batch; the fastest of ``--repeats`` batches, as
  `timeit` recommends, since on a shared machine other jobs only ever add time);
* ``ms_per_spectrum``: the inverse, in milliseconds of wall time;
* ``cpu_ms_per_spectrum``: process CPU time per spectrum (all threads together; less
  sensitive to other jobs than wall time);
* ``peak_rss_mb``: peak resident memory of the process; ``forward_mb``: its increase
  during inference over the memory held before the first forward pass (model, inputs,
  torch itself).

Usage::

    python benchmarks/speed.py architecture              # default model, 2 threads
    python benchmarks/speed.py architecture --pixels 343 2000 8600 --batch 8 --repeats 3

Writes ``benchmarks/results/model_throughput.ecsv``, ``.rst`` (a table for the docs) and
``.png`` (time per spectrum against pixel count, log-log).
"""

import argparse
import json
import math
import os
import pathlib
import platform

from _timing import peak_rss_mb, run_fresh, timed_runs

__all__ = ["main"]

HERE = pathlib.Path(__file__).resolve().parent
RANGES = {343: (3360.0, 10200.0), 2000: (3700.0, 9000.0), 8600: (15140.0, 16960.0)}


def _model_kwargs(args):
    return dict(d_model=args.d_model, n_heads=args.n_heads, n_latents=args.n_latents,
                n_latent_layers=args.n_latent_layers)


def worker(args):
    import numpy as np
    import torch

    from specfm.model import ModelConfig, Query, SpecFMNetwork, predict_chunked
    from specfm.tokens import DEFAULT_VOCABULARY, TokenBatch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = SpecFMNetwork(ModelConfig(**_model_kwargs(args))).eval()
    n, b = args.n_pixels, args.batch
    lo, hi = RANGES.get(n, (3600.0, 10000.0))
    wave = torch.as_tensor(np.geomspace(lo, hi, n), dtype=torch.float32).expand(b, n)
    rng = np.random.default_rng(1)
    tokens = TokenBatch(
        wavelength=wave.clone(), value=torch.as_tensor(
            1 - 0.3 * rng.random((b, n)), dtype=torch.float32),
        error=torch.full((b, n), 0.01), kind=torch.zeros(b, n, dtype=torch.long),
        ident=torch.full((b, n), -1), valid=torch.ones(b, n, dtype=torch.bool),
        spectrum_index=torch.arange(b), vocabulary=DEFAULT_VOCABULARY)
    queries = Query(["teff", "logg", "fe_h"]).build(b, net.vocabulary)

    def run():
        with torch.inference_mode():
            if args.mode == "one-pass":
                return net(tokens, queries).mean
            return predict_chunked(net, tokens, queries, chunk_size=args.chunk_size,
                                   seed=0, batch_size=args.chunk_batch).mean

    before = peak_rss_mb()
    run()  # warm-up
    elapsed, cpu = timed_runs(run, args.repeats)
    peak = peak_rss_mb()
    n_chunks = 1 if args.mode == "one-pass" else max(1, math.ceil(n / args.chunk_size))
    print(json.dumps({
        "n_pixels": n, "mode": args.mode, "n_chunks": n_chunks,
        "spectra_per_s": b / elapsed,
        "ms_per_spectrum": 1000 * elapsed / b,
        "cpu_ms_per_spectrum": 1000 * cpu / b,
        "peak_rss_mb": peak, "forward_mb": peak - before,
        "n_parameters": net.n_parameters(),
    }))


def _plot(table, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6))
    for mode, marker in (("one-pass", "o"), ("chunked-512", "s")):
        rows = table[table["mode"] == mode]
        ax.loglog(rows["n_pixels"], rows["cpu_ms_per_spectrum"], marker=marker,
                  label=f"{mode}, CPU time")
        ax.loglog(rows["n_pixels"], rows["ms_per_spectrum"], marker=marker, ls="--",
                  alpha=0.5, label=f"{mode}, wall time")
    pix = table[table["mode"] == "one-pass"]["n_pixels"]
    ref = table[table["mode"] == "one-pass"]["cpu_ms_per_spectrum"]
    ax.loglog(pix, ref[-1] * (pix / pix[-1]), "k:", lw=1, label="linear (slope 1)")
    ax.set_xlabel("pixels per spectrum")
    ax.set_ylabel("time per spectrum [ms]")
    ax.legend(fontsize=7)
    ax.set_title("specfm inference on a 2-core CPU")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def _slope(x, y):
    import numpy as np

    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixels", type=int, nargs="+", default=[343, 1000, 2000, 4000, 8600])
    parser.add_argument("--batch", type=int, default=8, help="spectra per forward pass")
    parser.add_argument("--repeats", type=int, default=7, help="timed batches")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--chunk-size", type=int, default=512)
    parser.add_argument("--chunk-batch", type=int, default=32, help="chunks per forward")
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--n-heads", type=int, default=4)
    parser.add_argument("--n-latents", type=int, default=64)
    parser.add_argument("--n-latent-layers", type=int, default=4)
    parser.add_argument("--output-dir", default=str(HERE / "results"))
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--n-pixels", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    from astropy.table import Table

    rows = []
    common = [f"--batch={args.batch}", f"--repeats={args.repeats}",
              f"--threads={args.threads}", f"--chunk-size={args.chunk_size}",
              f"--chunk-batch={args.chunk_batch}", f"--d-model={args.d_model}",
              f"--n-heads={args.n_heads}", f"--n-latents={args.n_latents}",
              f"--n-latent-layers={args.n_latent_layers}"]
    for n in args.pixels:
        for mode in ("one-pass", "chunked-512"):
            row = run_fresh(__file__, [f"--n-pixels={n}", f"--mode={mode}", *common],
                            args.threads, f"{n} px {mode}")
            rows.append(row)
            print(f"{n:6d} px  {mode:12s} {row['spectra_per_s']:8.2f} spectra/s  "
                  f"{row['ms_per_spectrum']:8.2f} ms/spectrum "
                  f"({row['cpu_ms_per_spectrum']:7.2f} CPU ms)  peak {row['peak_rss_mb']:7.0f} MB"
                  f"  (+{row['forward_mb']:.0f} MB in inference)", flush=True)
    table = Table(rows=rows, names=list(rows[0]))
    for name in ("spectra_per_s", "ms_per_spectrum", "cpu_ms_per_spectrum", "peak_rss_mb",
                 "forward_mb"):
        table[name].info.format = ".1f"
    one = table[table["mode"] == "one-pass"]
    chunk = table[table["mode"] == "chunked-512"]
    table.meta.update({
        "description": "specfm inference throughput, one pass vs 512-pixel chunks",
        "model": _model_kwargs(args), "batch": args.batch, "repeats": args.repeats,
        "threads": args.threads, "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(), "python": platform.python_version(),
        "loglog_slope_one_pass_cpu": _slope(one["n_pixels"], one["cpu_ms_per_spectrum"]),
        "loglog_slope_chunked_cpu": _slope(chunk["n_pixels"], chunk["cpu_ms_per_spectrum"]),
        "loglog_slope_one_pass_cpu_above_2000": _slope(
            one["n_pixels"][one["n_pixels"] >= 2000],
            one["cpu_ms_per_spectrum"][one["n_pixels"] >= 2000]),
    })
    outdir = pathlib.Path(args.output_dir)
    outdir.mkdir(parents=True, exist_ok=True)
    table.write(outdir / "model_throughput.ecsv", overwrite=True)
    table.write(outdir / "model_throughput.rst", format="ascii.rst", overwrite=True)
    print(f"CPU time ~ pixels^{table.meta['loglog_slope_one_pass_cpu']:.2f} (one pass), "
          f"^{table.meta['loglog_slope_chunked_cpu']:.2f} (chunked); one pass from 2000 "
          f"pixels: ^{table.meta['loglog_slope_one_pass_cpu_above_2000']:.2f}")
    try:
        _plot(table, outdir / "model_throughput.png")
    except ImportError:  # pragma: no cover
        print("matplotlib is not installed: no plot written")
    return table


if __name__ == "__main__":
    main()
