"""Measure one step of a pre-training run of specfm-base, every table of it in one command.

A run of ``configs/specfm-base-vN.toml`` is measured along the way and at its end by the
same five scripts, against the shipped base on the same stars and rows:
``synthetic_recovery.py --against`` (label sigma per instrument and S/N, and the counts of
the adoption rule), ``generation_inpainting.py --parts synthetic`` (star by star against
the shipped base's ``generation_inpainting_stars.ecsv`` where it lies beside
``--against``, or ``--against-generation``), ``validation_loss.py``
(both models on the run's validation rows), ``hundred_stars.py uncertainty-gap`` and
``context_length.py``; the step is then added to
``benchmarks/results/pretraining_runs`` (``experiments.py pretraining``). Doing it by hand
once measured a stale model under a new step's name (the export was refused because its
folder existed, and the scripts went on with the old model in it). Here the model's step
is read from its own provenance, a new export goes to ``runs/<run>/step<N>`` and never
over an existing folder, and the first script that fails stops the rest.

Usage::

    # export the newest checkpoint (or resume point) of the run and measure it
    python benchmarks/pretraining_step.py configs/specfm-base-v5.toml \\
        --against benchmarks/results/specfm-base-v3/observed_uncertainty/synthetic_recovery.ecsv \\
        --shipped-name "v3 (shipped)" --output-dir benchmarks/results/specfm-base-v5
    # a model already written (the run's finished model, or an earlier export)
    python benchmarks/pretraining_step.py configs/specfm-base-v5.toml \\
        --model runs/specfm-base-v5/model ...
    # only what the adoption rule reads (about half the time)
    python benchmarks/pretraining_step.py ... --only recovery generation

``--dry-run`` prints the commands without running them (it still exports the checkpoint,
since the step comes from it).
"""

import argparse
import json
import pathlib
import shlex
import subprocess
import sys

import _paths as where

__all__ = ["MEASUREMENTS", "commands", "export_step", "main", "measured_step"]

MEASUREMENTS = ("recovery", "generation", "validation", "uncertainty-gap", "context-length")
"""In the order they run: first what the adoption rules read, then the validation loss (which
needs the run's data cache, rendered by ``specfm train``), then the rest."""


def measured_step(model):
    """The training step of a model folder: that of the checkpoint it was exported from,
    else the steps of the finished run (`specfm train` writes both into its provenance)."""
    record = json.loads((pathlib.Path(model) / "config.json").read_text()).get("provenance", {})
    step = (record.get("checkpoint") or {}).get("step", record.get("steps"))
    if step is None:
        raise SystemExit(f"{model} records no training step in its provenance: is it a "
                         "model written by specfm train?")
    return int(step)


def export_step(config, runs_dir):
    """Export the run's newest checkpoint to ``runs_dir/step<N>``; return that folder.

    It is first written to ``runs_dir/exporting`` (replaced if a failed export left it), since
    the step is known only from the checkpoint; an existing ``step<N>`` is never replaced.
    """
    from specfm.training.from_config import export_checkpoint

    staging = pathlib.Path(runs_dir) / "exporting"
    export_checkpoint(config, staging, overwrite=True)
    target = staging.parent / f"step{measured_step(staging)}"
    if target.exists():
        raise SystemExit(f"{target} already exists: measure it with --model {target}, or "
                         f"remove it to export again (the export is left in {staging}).")
    staging.rename(target)
    return target


def commands(config, model, step, output_dir, against, shipped, shipped_name, threads,
             only=MEASUREMENTS, against_generation=None):
    """The scripts' command lines (lists of arguments) that measure ``model``, in order."""
    run = pathlib.Path(config).stem
    out = str(output_dir)
    script = {name: [sys.executable, str(where.HERE / f"{name}.py")] for name in (
        "validation_loss", "synthetic_recovery", "generation_inpainting", "hundred_stars",
        "context_length")}
    threads = ["--threads", str(threads)]
    every = {
        "validation": script["validation_loss"] + [
            str(config), str(shipped), str(model),
            "--names", shipped_name, f"{run} at step {step}", "--output-dir", out, *threads],
        "recovery": script["synthetic_recovery"] + [
            str(model), "--fit-stars", "0", "--cannon-train", "0", "--against", str(against),
            "--output-dir", out, *threads],
        "generation": script["generation_inpainting"] + [
            "--base", str(model), "--parts", "synthetic", "--anchor-pixels", "0",
            "--output-dir", out, *threads,
            *(["--against", str(against_generation)] if against_generation else [])],
        "uncertainty-gap": script["hundred_stars"] + [
            "uncertainty-gap", str(model), "--output-dir", out, *threads],
        "context-length": script["context_length"] + [
            str(model), "--output-dir", str(pathlib.Path(out) / "context_length"), *threads],
    }
    return [(name, every[name]) for name in MEASUREMENTS if name in only]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="the run's configuration, configs/specfm-base-vN.toml")
    parser.add_argument("--model", default=None,
                        help="a model folder of the run to measure (default: export the "
                             "newest checkpoint to runs/<run>/step<N>)")
    parser.add_argument("--against", required=True,
                        help="the shipped base's synthetic_recovery.ecsv on the same stars")
    parser.add_argument("--against-generation", default=None,
                        help="the shipped base's generation_inpainting_stars.ecsv on the "
                             "same stars (default: the one beside --against, if there)")
    parser.add_argument("--shipped", default=str(where.MODELS / "specfm-base"),
                        help="the shipped base's folder (default: the packaged one)")
    parser.add_argument("--shipped-name", default="shipped",
                        help="its name in the validation-loss table, e.g. 'v3 (shipped)'")
    parser.add_argument("--output-dir", required=True,
                        help="results folder of the run, e.g. benchmarks/results/specfm-base-v5")
    parser.add_argument("--only", nargs="+", choices=MEASUREMENTS, default=list(MEASUREMENTS),
                        help="measure only these (default: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dry-run", action="store_true",
                        help="print the commands, run nothing (the export still runs)")
    args = parser.parse_args(argv)
    run = pathlib.Path(args.config).stem
    model = (pathlib.Path(args.model) if args.model
             else export_step(args.config, where.ROOT / "runs" / run))
    step = measured_step(model)
    print(f"{run}: measuring {model} (step {step:,})", flush=True)
    against_generation = args.against_generation
    if against_generation is None:
        beside = pathlib.Path(args.against).parent / "generation_inpainting_stars.ecsv"
        against_generation = beside if beside.is_file() else None
    todo = commands(args.config, model, step, args.output_dir, args.against, args.shipped,
                    args.shipped_name, args.threads, args.only, against_generation)
    for name, argv_ in todo:
        print(f"--- {name}: {shlex.join(argv_)}", flush=True)
        if not args.dry_run:
            subprocess.run(argv_, check=True)
    out = pathlib.Path(args.output_dir)
    if args.dry_run or not {"validation", "recovery"} <= set(args.only):
        print("Not added to the history of pre-training runs: that needs the validation "
              "and recovery tables of this step.")
        return model
    import experiments

    generation = out / "generation_inpainting.ecsv" if "generation" in args.only else None
    experiments.add_pretraining_step(run, step, out / "validation_loss.ecsv",
                                     out / "synthetic_recovery.ecsv", generation=generation)
    print(f"Added {run} at step {step:,} to benchmarks/results/pretraining_runs.")
    return model


if __name__ == "__main__":
    main()
