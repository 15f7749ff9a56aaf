"""Inference throughput and peak memory of the shipped models, through the user API.

For each model folder, input size and batch size, a fresh Python process loads the model
with `specfm.inference.load` and predicts ``--n-spectra`` spectra with
`~specfm.inference.Model.predict` (one pass, all the model's labels), so that its peak
resident memory (``ru_maxrss``) is its own. Inputs are real spectra, repeated:

* ``xp`` (343 pixels): the 20 Gaia XP sampled spectra of ``specfm/data/gaia_xp_example.fits``,
  with their 7 colours as inputs for models trained with colours (``specfm-xp``);
* ``apogee`` (8575 pixels): the APOGEE apStar spectrum ``specfm/data/apStar-dr17-*.fits``
  (its combined spectrum).

Repeated as they are, every spectrum of a batch has the same tokens; ``--bad-pixels F``
masks a fraction ``F`` of each spectrum's pixels at random, differently in each, as the
files of a survey differ (rows then differ in length and in their wavelengths).

When a model's wavelength coverage excludes such an input, a noisy flat spectrum with the
same pixel count on a log-spaced grid over the model's coverage is used instead (column
``input``). Tokens are capped as the model's tokenizer settings say (``max_tokens``), as in
any prediction. Reported: ``spectra_per_s`` (the fastest of ``--repeats`` timed runs after a
warm-up, as `timeit` does), ``ms_per_spectrum``, ``cpu_ms_per_spectrum`` (all threads),
``peak_rss_mb``, and ``load_s`` (loading the model, sha256 check included).

Usage::

    python benchmarks/speed.py shipped                           # the shipped models
    python benchmarks/speed.py shipped /tmp/a /tmp/b --batch 1 16 --n-spectra 32
    python benchmarks/speed.py shipped --device cuda --batch 256 4096 --n-spectra 32768
    python benchmarks/speed.py shipped --sizes apogee --bad-pixels 0.05   # ragged rows

Writes ``benchmarks/results/shipped_throughput.ecsv`` and ``.rst`` (with ``--device
cuda``: ``shipped_throughput_cuda``).
"""

import argparse
import itertools
import json
import os
import pathlib
import time

import _paths as where
import _through_api as api
import _writing as writer
from _timing import peak_rss_mb, run_fresh, timed_runs

__all__ = ["main"]

SIZES = ("xp", "apogee")
APSTAR = "apStar-dr17-2M19485057+5005279.fits"


def _tile(flux, error, mask, wave, n, make_spectrum, bad_pixels=0.0):
    import astropy.units as u
    import numpy as np
    from astropy.nddata import StdDevUncertainty

    reps = -(-n // flux.shape[0])
    mask = np.tile(mask, (reps, 1))[:n]
    if bad_pixels:  # each spectrum its own bad pixels, as in a survey's files
        mask = mask | (np.random.default_rng(1).random(mask.shape) < bad_pixels)
    return make_spectrum(
        flux=np.tile(flux, (reps, 1))[:n] * u.dimensionless_unscaled, spectral_axis=wave,
        uncertainty=StdDevUncertainty(np.tile(error, (reps, 1))[:n]), mask=mask)


def _inside(wave, coverage):
    import astropy.units as u

    if coverage is None:
        return True
    lo, hi = wave.to_value(u.AA).min(), wave.to_value(u.AA).max()
    return any(a <= lo and hi <= b for a, b in coverage.to_value(u.AA))


def make_inputs(model, size, n, bad_pixels=0.0):
    """Return ``(spectra, inputs, description)`` of ``n`` spectra of one size for a model.

    ``bad_pixels``: the fraction of pixels masked at random in each spectrum on top of its
    own mask, differently in each (so rows differ in their tokens and wavelengths).
    """
    import astropy.units as u
    import numpy as np
    from specutils import Spectrum

    from specfm._compat import make_spectrum
    from specfm.data import get_example_path
    from specfm.io import read_gaia_xp_table

    inputs = None
    if size == "xp":
        xp = read_gaia_xp_table(get_example_path("gaia_xp_example.fits"))
        s = xp.spectra
        desc = "gaia_xp_example.fits (343 px)"
        if model.provenance.get("training_data", {}).get("colours"):
            reps = -(-n // len(xp))
            from astropy.table import vstack

            inputs = vstack([xp.colours] * reps)[:n]
            desc += " + 7 colours"
    else:
        s = Spectrum.read(get_example_path(APSTAR), format="APOGEE apStar")
        desc = f"{APSTAR} (8575 px)"
    flux = np.atleast_2d(np.asarray(s.flux.value, float))
    error = np.atleast_2d(np.asarray(s.uncertainty.array, float))
    mask = (np.zeros(flux.shape, bool) if s.mask is None
            else np.atleast_2d(np.asarray(s.mask, bool)))
    wave = s.spectral_axis
    if not _inside(wave, model.coverage):
        lo, hi = model.coverage.to_value(u.AA)[0]
        n_pix = flux.shape[-1]
        wave = np.geomspace(lo, hi, n_pix) * u.AA
        rng = np.random.default_rng(0)
        flux = 1 + 0.01 * rng.standard_normal((1, n_pix))
        error, mask = np.full((1, n_pix), 0.01), np.zeros((1, n_pix), bool)
        desc = f"flat, {n_pix} px log-spaced over {lo:.0f}-{hi:.0f} AA"
        inputs = None
    if bad_pixels:
        desc += f", {100 * bad_pixels:g}% more pixels masked at random in each"
    return _tile(flux, error, mask, wave, n, make_spectrum, bad_pixels), inputs, desc


def worker(args):

    where.light_torch(args.threads)
    t0 = time.perf_counter()
    model = api.load_model(args.model_path)
    if args.device != "cpu":
        model.to(args.device)
    load_s = time.perf_counter() - t0
    spectra, inputs, desc = make_inputs(model, args.size, args.n_spectra, args.bad_pixels)
    names = list(model.labels)
    precision = args.precision[0]  # one per worker process

    def run():
        api.predict(model, spectra, names, inputs=inputs, batch_size=args.batch_size,
                    precision=precision)

    warm = make_inputs(model, args.size, args.batch_size, args.bad_pixels)
    api.predict(model, warm[0], names, inputs=warm[1], batch_size=args.batch_size,
                precision=precision)  # warm-up
    elapsed, cpu = timed_runs(run, args.repeats)
    n = args.n_spectra
    print(json.dumps({
        "model": model.name, "size": args.size, "batch_size": args.batch_size,
        "n_pixels": int(spectra.flux.shape[-1]), "input": desc,
        "spectra_per_s": n / elapsed, "ms_per_spectrum": 1000 * elapsed / n,
        "cpu_ms_per_spectrum": 1000 * cpu / n,
        "peak_rss_mb": peak_rss_mb(),
        "load_s": load_s, "n_parameters": model.network.n_parameters(),
        "max_tokens": model.tokenizer_config.max_tokens, "sha256": model.sha256,
        "device": _device_name(args.device), "precision": precision,
    }))


def _device_name(device):
    """``cpu``, or the accelerator's name (e.g. ``cuda: NVIDIA H200``)."""
    import torch

    if device.startswith("cuda"):
        return f"cuda: {torch.cuda.get_device_name(torch.device(device))}"
    return device


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*",
                        default=[str(where.MODELS / "specfm-base"),
                                 str(where.MODELS / "specfm-xp")],
                        help="model folders (default: the shipped specfm-base, specfm-xp)")
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=SIZES)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 16, 64],
                        help="batch sizes of Model.predict")
    parser.add_argument("--n-spectra", type=int, default=128, help="spectra per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs")
    parser.add_argument("--device", default="cpu",
                        help="torch device of the network (default cpu; e.g. cuda, whose "
                             "results go to shipped_throughput_cuda)")
    parser.add_argument("--precision", nargs="+", default=["float32"],
                        choices=("float32", "bfloat16"),
                        help="Model.predict precision(s) to time (bfloat16: faster only on "
                             "CPUs or GPUs with bfloat16 units)")
    parser.add_argument("--bad-pixels", type=float, default=0.0,
                        help="fraction of pixels masked at random in each spectrum, "
                             "differently in each, as in a survey's files (default 0: the "
                             "example repeated as it is)")
    where.common_arguments(parser)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model-path", help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    from astropy.table import Table

    rows = []
    for model, size, batch, precision in itertools.product(args.models, args.sizes,
                                                           args.batch, args.precision):
        row = run_fresh(__file__, [f"--model-path={model}", f"--size={size}",
                                   f"--batch-size={batch}", f"--n-spectra={args.n_spectra}",
                                   f"--repeats={args.repeats}", f"--threads={args.threads}",
                                   f"--device={args.device}", f"--precision={precision}",
                                   f"--bad-pixels={args.bad_pixels}"],
                        args.threads, f"{model} {size} batch {batch} {precision}")
        row["model"] = pathlib.Path(model).name
        rows.append(row)
        print(f"{row['model']:14s} {size:6s} ({row['n_pixels']:5d} px) batch "
              f"{batch:3d} {precision:8s}: {row['spectra_per_s']:8.1f} spectra/s "
              f"{row['ms_per_spectrum']:7.2f} ms/spectrum "
              f"({row['cpu_ms_per_spectrum']:7.2f} CPU ms)  peak "
              f"{row['peak_rss_mb']:6.0f} MB", flush=True)
    sha = {r["model"]: r.pop("sha256") for r in rows}
    table = Table(rows=rows, names=list(rows[0]))
    for name in ("spectra_per_s", "ms_per_spectrum", "cpu_ms_per_spectrum", "peak_rss_mb",
                 "load_s"):
        table[name].info.format = ".1f"
    table.meta.update(writer.run_metadata(
        models={pathlib.Path(m).name: m for m in args.models},
        description="Inference throughput of the shipped models through Model.predict",
        threads=args.threads, n_spectra=args.n_spectra, repeats=args.repeats,
        bad_pixels=args.bad_pixels, sha256_loaded=sha))
    table.pprint(max_lines=-1, max_width=200)
    cells = [(r["model"], r["size"], str(r["n_pixels"]), str(r["batch_size"]), r["precision"],
              f"{r['spectra_per_s']:.1f}", f"{r['ms_per_spectrum']:.2f}",
              f"{r['cpu_ms_per_spectrum']:.2f}", f"{r['peak_rss_mb']:.0f}") for r in table]
    on = (f"{os.cpu_count()} CPU cores ({args.threads} torch threads" if args.device == "cpu"
          else f"{rows[0]['device']} ({os.cpu_count()} CPU cores, {args.threads} torch threads")
    name = "shipped_throughput" + ("" if args.device == "cpu"
                                   else "_" + args.device.split(":")[0])
    writer.write_results(
        table, name, args.output_dir,
        f"Shipped models through Model.predict on {on}; {args.n_spectra} spectra per run, "
        f"fastest of {args.repeats})",
        ("Model", "Input", "Pixels", "Batch", "Precision", "Spectra/s", "ms/spectrum",
         "CPU ms/spectrum", "Peak RSS [MB]"), cells,
        notes=("Peak RSS: whole process (Python, torch, model, inputs), one fresh process "
               "per row. Inputs: real example spectra shipped with specfm, repeated; tokens "
               "capped at the model's max_tokens as in any prediction.",))
    return table


if __name__ == "__main__":
    main()
