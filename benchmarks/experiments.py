"""The history of the experiments: one table per kind, one row per run, each with its config.

An experiment is a configuration in ``configs/experiments/`` (the command that trains it is
at the top of the file) and the benchmark it was judged by. Instead of a folder of copied
result files per run, each run is one row of a history table in ``benchmarks/results/``,
written from the results file of its benchmark run (which may then be thrown away):

* ``xp_runs``: fine-tunes of ``specfm-xp``, judged by ``xp_accuracy.py`` on our Gaia XP
  validation split: scatter, median bias and RMSE of each label, the Teff RMSE below
  7000 K beside XGBoost's, how many of the 18 comparisons with the XGBoost rows of the same
  file the run loses (size of the median bias, sigma and RMSE of Teff, log g and [Fe/H],
  all stars and Teff < 7000 K), the best validation loss of its training and, when
  ``generation_inpainting.py`` was run on it, its XP generation and in-painting errors;
* ``hundred_stars_runs``: runs of the 100-star test (``hundred_stars.py``), one row per
  base model, method and seed, rendered with the mean and spread over the seeds;
* ``pretraining_runs``: a pre-training run of ``specfm-base`` measured along the way, one
  row per run and step: its validation loss beside the shipped model's on the run's own
  validation rows (``validation_loss.py``) and, from ``synthetic_recovery.py --against``,
  in how many instrument x S/N cells its sigma is smaller than the shipped model's and its
  sigma on APOGEE and Gaia XP at S/N 100.

Usage::

    # after: specfm train configs/experiments/xp-seed3.toml
    #        python benchmarks/xp_accuracy.py runs/experiments/xp-seed3/model --output-dir /tmp/x
    python benchmarks/experiments.py xp xp-seed3 /tmp/x/xp_accuracy.ecsv \\
        --model runs/experiments/xp-seed3/model --verdict "not adopted: ..."

    python benchmarks/experiments.py hundred /tmp/h/hundred_stars.ecsv

    # after: validation_loss.py and synthetic_recovery.py --against on an exported checkpoint
    python benchmarks/experiments.py pretraining specfm-base-v3 95000 \\
        benchmarks/results/specfm-base-v3/validation_loss.ecsv \\
        benchmarks/results/specfm-base-v3/synthetic_recovery.ecsv

    python benchmarks/experiments.py render              # rewrite the .rst from the .ecsv

Adding a run whose name (XP), base model, method and seed (100 stars) or name and step
(pre-training) is already in the table replaces that row. Each row keeps the command line
that added it.
"""

import argparse
import json
import shlex
import sys
from pathlib import Path

import _paths as where
import _writing as writer
import numpy as np
from astropy.table import Table
from hundred_stars import FROZEN, LEARNING_RATE, SUBSET_SEED
from xp_accuracy import TEFF_CUT

__all__ = ["add_hundred_stars_run", "add_pretraining_step", "add_xp_run", "cells_lost",
           "main", "render"]

ISSUE_LABELS = ("teff", "logg", "fe_h")
ISSUE_SUBSETS = ("all", f"Teff < {TEFF_CUT:.0f} K")
ISSUE_METRICS = ("bias", "sigma", "rmse")
SPECFM, XGBOOST = "specfm-xp", "xgboost"
XP_RUNS, HUNDRED_RUNS, PRETRAINING_RUNS = "xp_runs", "hundred_stars_runs", "pretraining_runs"
PRETRAINING_CELLS = (("apogee", 100.0), ("gaia_xp", 100.0))
"""The ``synthetic_recovery.py`` cells whose sigma a pre-training row shows."""
HUNDRED_COLUMNS = ("pretrained", "scratch", "zero-shot", "scratch + rehearsal")
"""Rows of ``hundred_stars.ecsv`` kept (the last one only in runs with rehearsal)."""


def _command():
    return " ".join(shlex.quote(a) for a in [sys.executable.split("/")[-1], *sys.argv])


def _value(table, label, subset, method, metric):
    """One metric of one row of an ``xp_accuracy.ecsv`` table (NaN if the row is absent)."""
    rows = table[(table["label"] == label) & (table["subset"] == subset)
                 & (table["method"] == method)]
    return float(rows[metric][0]) if len(rows) else float("nan")


def cells_lost(table):
    """The comparisons in which specfm-xp is worse than XGBoost in an ``xp_accuracy`` table.

    Returns
    -------
    list of tuple
        ``(label, metric, subset)`` of each comparison lost (``bias``: by size).

    """
    lost = []
    for label in ISSUE_LABELS:
        for metric in ISSUE_METRICS:
            for subset in ISSUE_SUBSETS:
                ours = _value(table, label, subset, SPECFM, metric)
                theirs = _value(table, label, subset, XGBOOST, metric)
                if metric == "bias":
                    ours, theirs = abs(ours), abs(theirs)
                if ours > theirs:
                    lost.append((label, metric, subset))
    return lost


def describe_lost(lost):
    """Short text of `cells_lost`: ``"teff rmse (Teff < 7000 K); fe_h bias"`` (a comparison
    named without a subset is lost in both)."""
    if not lost:
        return "none"
    if len(lost) == len(ISSUE_LABELS) * len(ISSUE_METRICS) * len(ISSUE_SUBSETS):
        return "all"
    parts = []
    for label in ISSUE_LABELS:
        for metric in ISSUE_METRICS:
            subsets = [s for (lab, m, s) in lost if (lab, m) == (label, metric)]
            if len(subsets) == len(ISSUE_SUBSETS):
                parts.append(f"{label} {metric}")
            elif subsets:
                parts.append(f"{label} {metric} ({subsets[0]})")
    return "; ".join(parts)


def training_record(model=None, history=None):
    """``(best validation loss, epochs completed)`` from a model folder's provenance (what
    ``specfm train`` wrote into its ``config.json``) or a saved history JSON."""
    if model is not None:
        record = json.loads((Path(model) / "config.json").read_text())["provenance"]
    elif history is not None:
        record = json.loads(Path(history).read_text())
    else:
        return np.nan, -1
    return (float(record.get("best_val_loss", np.nan)),
            int(record.get("epochs_completed", -1)))


def generation_errors(path, part="Gaia XP", prefix="xp"):
    """Median absolute errors of generation and in-painting (specfm, baseline) of one part
    (``"Gaia XP"`` or ``"synthetic APOGEE"``) of a ``generation_inpainting.ecsv``, as
    ``{prefix}_generation``, ``{prefix}_generation_baseline``, ``{prefix}_inpainting`` and
    ``{prefix}_inpainting_baseline`` (NaN where absent). In-painting is the row without
    anchor pixels (files from before the ``anchor_pixels`` column have only that one)."""
    out = dict.fromkeys((f"{prefix}_generation", f"{prefix}_generation_baseline",
                         f"{prefix}_inpainting", f"{prefix}_inpainting_baseline"), np.nan)
    if path is None:
        return out
    table = Table.read(path)
    for row in table:
        if part not in str(row["part"]):
            continue
        if "anchor_pixels" in table.colnames and row["anchor_pixels"] != 0:
            continue
        key = f"{prefix}_generation" if row["task"] == "generation" else f"{prefix}_inpainting"
        out[key], out[f"{key}_baseline"] = float(row["model_mae"]), float(row["baseline_mae"])
    return out


def _read_history(name, output_dir):
    path = Path(output_dir) / f"{name}.ecsv"
    return Table.read(path) if path.exists() else None


def _replace_rows(old, new, key):
    """``old`` without the rows that share ``key`` with a row of ``new``, then ``new``."""
    if old is None:
        return new
    keys = {tuple(str(r[k]) for k in key) for r in new}
    keep = [tuple(str(r[k]) for k in key) not in keys for r in old]
    rows = [dict(zip(old.colnames, r, strict=True)) for r in old[keep]]
    rows += [dict(zip(new.colnames, r, strict=True)) for r in new]
    return Table(rows=rows, names=new.colnames)


def add_xp_run(run, results=None, config=None, model=None, history=None, generation=None,
               verdict="", output_dir=where.RESULTS):
    """Add (or replace) the row of one specfm-xp run in ``xp_runs``; return the table."""
    row = {"run": run, "config": config or f"configs/experiments/{run}.toml"}
    row["best_val_loss"], row["epochs"] = training_record(model, history)
    table = Table.read(results) if results is not None else None
    sha = ""
    if table is not None:
        sha = (table.meta.get("models", {}).get(SPECFM, {}) or {}).get("sha256") or ""
    row["sha256"] = sha[:8]
    cool = ISSUE_SUBSETS[1]
    for label in ("teff", "logg", "fe_h", "alpha_m"):
        for metric in ("bias", "sigma", "rmse"):
            row[f"{label}_{metric}"] = (np.nan if table is None
                                        else _value(table, label, "all", SPECFM, metric))
    row["teff_rmse_cool"] = np.nan if table is None else _value(table, "teff", cool, SPECFM,
                                                                  "rmse")
    row["xgboost_teff_rmse_cool"] = (np.nan if table is None
                                     else _value(table, "teff", cool, XGBOOST, "rmse"))
    lost = None if table is None else cells_lost(table)
    row["n_lost"] = -1 if lost is None else len(lost)
    row["lost"] = "" if lost is None else describe_lost(lost)
    row.update(generation_errors(generation))
    row["verdict"] = verdict
    row["added_by"] = _command()
    history_table = _replace_rows(_read_history(XP_RUNS, output_dir), Table(rows=[row]),
                                  ("run",))
    history_table.meta.update(description="specfm-xp and its experiments on our Gaia XP "
                              "validation split, one row per run (benchmarks/experiments.py)")
    _write(history_table, XP_RUNS, output_dir)
    return history_table


def hundred_stars_method(meta):
    """How a 100-star run fine-tuned, from its metadata: rehearsal or not, the network inputs,
    the learning rate, frozen parts and the draw of stars (runs made before ``--rehearsal``
    and ``--colours`` existed had neither rehearsal nor a choice of inputs: colours)."""
    n = int(meta.get("rehearsal_stars", 0))
    inputs = "colours" if meta.get("colours", True) else "no colours"
    rate = float(meta.get("learning_rate", LEARNING_RATE))
    inputs += "" if rate == LEARNING_RATE else f", lr {rate:g}"
    frozen = list(meta.get("freeze", []))
    if frozen == list(FROZEN):
        inputs += ", head only"
    elif frozen:
        inputs += ", frozen " + "+".join(frozen)
    subset = int(meta.get("subset_seed", SUBSET_SEED))
    inputs += "" if subset == SUBSET_SEED else f", stars of draw {subset}"
    if not n:
        return f"alone, {inputs}"
    kind = "calibrated" if meta.get("rehearsal_calibrated") else "uncalibrated"
    return f"rehearsal {n} ({kind}, real x{meta.get('repeat')}), {inputs}"


def add_hundred_stars_run(results, output_dir=where.RESULTS, base=None):
    """Add (or replace) the row of one ``hundred_stars.py`` run; return the history table.

    ``base`` names the base model (default: its folder's name, or that of the folder
    above a ``model`` folder); give it where one folder held several versions, e.g.
    ``specfm-base-v2`` for the shipped ``specfm-base`` since v2 (its rows must not
    replace those of v1). The row's configuration is ``configs/<base>.toml`` where that
    exists, else ``configs/experiments/<base>.toml``.
    """
    table = Table.read(results)
    rmse = dict(zip(table["method"], table["rmse_fe_h_poor"], strict=True))
    model = Path(table.meta["models"]["specfm-base"]["path"])
    name = base or (model.parent.name if model.name == "model" else model.name)
    row = {"model": name, "method": hundred_stars_method(table.meta),
           "seed": int(table.meta.get("seed", 0))}
    row.update({k: float(rmse.get(k, np.nan)) for k in HUNDRED_COLUMNS})
    row["ratio"] = row["pretrained"] / row["scratch"]
    row["config"] = (f"configs/{name}.toml" if (where.ROOT / "configs" / f"{name}.toml").exists()
                     else f"configs/experiments/{name}.toml")
    row["added_by"] = _command()
    history_table = _replace_rows(_read_history(HUNDRED_RUNS, output_dir),
                                  Table(rows=[row]), ("model", "method", "seed"))
    history_table.meta.update(description="Metal-poor [Fe/H] RMSE of the 100-star test, one "
                              "row per base model, method and seed (benchmarks/experiments.py)")
    _write(history_table, HUNDRED_RUNS, output_dir)
    return history_table


def _recovery_sigmas(table, prefix=""):
    """The sigma of each label in the `PRETRAINING_CELLS` of a ``synthetic_recovery`` table."""
    out = {}
    for instrument, snr in PRETRAINING_CELLS:
        rows = table[(table["instrument"] == instrument) & (table["snr"] == snr)]
        for label in ISSUE_LABELS:
            out[f"{prefix}{instrument}_{label}"] = (float(rows[f"{label}_sigma"][0])
                                                    if len(rows) else np.nan)
    return out


def synthetic_generation_errors(path):
    """The model's synthetic APOGEE generation and in-painting errors of a
    ``generation_inpainting.ecsv`` (`generation_errors`; NaN where absent or no file)."""
    errors = generation_errors(path if path is not None and Path(path).exists() else None,
                               "synthetic APOGEE", "apogee")
    return {key: errors[key] for key in ("apogee_generation", "apogee_inpainting")}


def _sha(table):
    return (table.meta.get("models", {}).get("specfm-base", {}) or {}).get("sha256") or ""


def add_pretraining_step(run, step, validation, recovery, generation=None,
                         output_dir=where.RESULTS):
    """Add (or replace) the row of one step of a pre-training run; return the history table.

    Parameters
    ----------
    run : str
        The run's name (that of its ``configs/<run>.toml``).
    step : int
        The training step of the measured checkpoint.
    validation : path-like
        A ``validation_loss.py`` results file holding the checkpoint's row and the shipped
        model's (matched by sha256 to the two models of ``recovery``).
    recovery : path-like
        The checkpoint's ``synthetic_recovery.py`` results, run with ``--against`` the
        shipped model's results on the same stars.
    generation : path-like, optional
        The checkpoint's ``generation_inpainting.py --parts synthetic`` results; the shipped
        model's are read from ``benchmarks/results/generation_inpainting.ecsv``.

    """
    recovery_table = Table.read(recovery)
    against = recovery_table.meta.get("against")
    if not against:
        raise SystemExit(f"{recovery} was not run with --against (the shipped model's results).")
    reference = Table.read(against["file"])
    sha, reference_sha = _sha(recovery_table), _sha(reference)
    losses = Table.read(validation)
    by_sha = {str(r["sha256"]): r for r in losses}
    missing = [s for s in (sha, reference_sha) if s not in by_sha]
    if missing:
        raise SystemExit(f"{validation} has no row for the model(s) {missing} of {recovery} "
                         "and its --against file: score both with validation_loss.py.")
    wins = against["smaller_sigma_cells"]
    row = {"run": run, "step": int(step), "sha256": sha[:12],
           "val_loss": float(by_sha[sha]["val_loss"]),
           "reference": str(by_sha[reference_sha]["model"]), "reference_sha256": reference_sha[:12],
           "reference_val_loss": float(by_sha[reference_sha]["val_loss"]),
           "n_cells": len(recovery_table),
           **{f"cells_{label}": int(wins[label]) for label in ISSUE_LABELS},
           **_recovery_sigmas(recovery_table), **_recovery_sigmas(reference, "reference_"),
           **synthetic_generation_errors(generation),
           **{f"reference_{k}": v for k, v in synthetic_generation_errors(
               where.RESULTS / "generation_inpainting.ecsv").items()},
           "config": f"configs/{run}.toml", "added_by": _command()}
    history_table = _replace_rows(_read_history(PRETRAINING_RUNS, output_dir),
                                  Table(rows=[row]), ("run", "step"))
    history_table.meta.update(description="Pre-training runs of specfm-base measured along "
                              "the way against the shipped model, one row per run and step "
                              "(benchmarks/experiments.py)")
    _write(history_table, PRETRAINING_RUNS, output_dir)
    return history_table


def _write(table, name, output_dir):
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    table.write(output_dir / f"{name}.ecsv", overwrite=True)
    render(output_dir)


def _stat(fn, values):
    """``fn`` of the values, NaN if any is NaN (a row missing from some runs)."""
    values = np.asarray(values, dtype=float)
    return float(fn(values)) if np.all(np.isfinite(values)) else float("nan")


def _text(value):
    """A table cell's text ('' where masked)."""
    return "" if np.ma.is_masked(value) else str(value)


def _render_xp(table, output_dir):
    f = writer.fmt
    rows = sorted(table, key=lambda r: (r["run"] != SPECFM, r["run"]))  # shipped first
    cells = [(r["run"], _text(r["sha256"]), f(r["best_val_loss"], ".3f"),
              "" if r["epochs"] < 0 else str(r["epochs"]),
              f(r["teff_sigma"], ".0f"), f(r["teff_bias"], "+.0f"), f(r["teff_rmse"], ".0f"),
              f(r["teff_rmse_cool"], ".0f"), f(r["xgboost_teff_rmse_cool"], ".0f"),
              f(r["logg_sigma"], ".3f"), f(r["logg_bias"], "+.3f"),
              f(r["fe_h_sigma"], ".3f"), f(r["fe_h_bias"], "+.3f"),
              f(r["alpha_m_sigma"], ".3f"),
              "" if r["n_lost"] < 0 else str(r["n_lost"]), _text(r["lost"]),
              f(r["xp_generation"], ".4f"), f(r["xp_inpainting"], ".4f"))
             for r in rows]
    writer.write_rst(
        Path(output_dir) / f"{XP_RUNS}.rst",
        "specfm-xp and its experiments on our Gaia XP validation split, one row per run",
        ("Run", "sha256", "Best val. loss", "Epochs", "Teff sigma", "Teff bias", "Teff RMSE",
         f"Teff RMSE < {TEFF_CUT:.0f} K", f"XGBoost RMSE < {TEFF_CUT:.0f} K", "logg sigma",
         "logg bias", "[Fe/H] sigma", "[Fe/H] bias", "[alpha/M] sigma", "Lost",
         "Comparisons lost to XGBoost", "XP generation", "XP in-painting"),
        cells,
        notes=("Teff in K, others in dex; sigma: MAD-based, bias: median, all validation "
               "stars. Lost: of the 18 comparisons with XGBoost (size of the median bias, "
               "sigma and RMSE of Teff, log g and [Fe/H], for all stars and for "
               f"Teff < {TEFF_CUT:.0f} K), how many the run's model is worse in, against the "
               "XGBoost rows of its own xp_accuracy.py run (a comparison named without a "
               "subset is lost in both). Best validation loss: of the training run, with its "
               "own objective (comparable between runs of one objective only). XP generation "
               "and in-painting: median absolute flux error of generation_inpainting.py on "
               "real XP spectra, where it was run. specfm-xp is the shipped model; each "
               "other run is the configuration of its name in configs/experiments/ "
               "(xp-28epochs became specfm-xp: the same weights).",
               *(f"{r['run']} ({_text(r['config'])}): {_text(r['verdict'])}" for r in rows)))


def _render_hundred(table, output_dir):
    runs = sorted(table, key=lambda r: (r["model"], r["method"], r["seed"]))
    rows = []
    for model, method in dict.fromkeys((r["model"], r["method"]) for r in runs):
        mine = [r for r in runs if (r["model"], r["method"]) == (model, method)]
        rows += [dict(zip(table.colnames, r, strict=True), summary=f"seed {r['seed']}")
                 for r in mine]
        for stat, fn in (("mean", np.mean), ("std", np.std)):
            rows.append({"model": model, "method": method, "summary": f"{stat} of {len(mine)}",
                         **{k: _stat(fn, [r[k] for r in mine])
                            for k in (*HUNDRED_COLUMNS, "ratio")}})
    f = writer.fmt
    cells = [(r["model"], r["method"], r["summary"], f(r["pretrained"], ".3f"),
              f(r["scratch"], ".3f"), f(r["ratio"], ".2f"), f(r["zero-shot"], ".3f"),
              f(r["scratch + rehearsal"], ".3f")) for r in rows]
    writer.write_rst(
        Path(output_dir) / f"{HUNDRED_RUNS}.rst",
        "The 100-star test per base model and training seed: metal-poor ([Fe/H] < -1) "
        "[Fe/H] RMSE on our XP validation split",
        ("Base model", "Method", "Run", "Fine-tuned", "From scratch", "Ratio",
         "Zero-shot", "Scratch + rehearsal"), cells,
        notes=("specfm-base: the shipped model; every other base model is specfm-base "
               "continued by the configuration of the same name in configs/experiments/ "
               "(its header says what it tests). Method: fine-tuned on the 100 stars alone or "
               "with synthetic rehearsal spectra (see hundred_stars.py; real x5: each real "
               "star shown 5 times per epoch), whether the networks read the colours, and "
               f"the learning rate where it is not {LEARNING_RATE:g}; head only: every part "
               "of specfm-base but its output head frozen; stars of draw N: 100 other "
               f"stars (--subset-seed N, not {SUBSET_SEED}). Scratch + rehearsal: the control, "
               "random weights trained like the fine-tuned network on the same real and "
               "synthetic spectra (runs with rehearsal and that control only). The seed "
               "changes the training runs (initialisation of the scratch network, contexts "
               "and batches), not the 100 stars. Ratio: "
               "fine-tuned / from scratch (target: at most 0.5). std: population standard "
               "deviation (numpy.std).",))


def _render_pretraining(table, output_dir):
    f = writer.fmt
    rows = sorted(table, key=lambda r: (r["run"], r["step"]))
    cells = [(r["run"], f"{r['step']:,}", _text(r["sha256"]), f(r["val_loss"], ".3f"),
              f(r["reference_val_loss"], ".3f"),
              " / ".join(str(r[f"cells_{label}"]) for label in ISSUE_LABELS)
              + f" of {r['n_cells']}",
              *(" / ".join(f(r[f"{prefix}{i}_{label}"], spec)
                           for label, spec in zip(ISSUE_LABELS, (".0f", ".3f", ".3f"),
                                                  strict=True))
                for i, _ in PRETRAINING_CELLS for prefix in ("", "reference_")),
              *(f"{f(r[k], '.4f')} ({f(r['reference_' + k], '.4f')})"
                if np.isfinite(r[k]) else "" for k in ("apogee_generation", "apogee_inpainting")))
             for r in rows]
    references = sorted({(_text(r["reference"]), _text(r["reference_sha256"])) for r in rows})
    names = {"apogee": "APOGEE", "gaia_xp": "Gaia XP"}
    writer.write_rst(
        Path(output_dir) / f"{PRETRAINING_RUNS}.rst",
        "specfm-base pre-training runs measured along the way against the shipped model",
        ("Run", "Step", "sha256", "Val. loss", "Shipped's val. loss",
         "Cells with smaller sigma (Teff / log g / [Fe/H])",
         *(f"{names.get(i, i)} S/N {snr:.0f} sigma{suffix}" for i, snr in PRETRAINING_CELLS
           for suffix in ("", ", shipped")),
         "APOGEE generation (shipped)", "APOGEE in-painting (shipped)"),
        cells,
        notes=("Val. loss: benchmarks/validation_loss.py on the run's own validation rows, "
               "the checkpoint and the shipped model side by side (lower is better). Cells: "
               "of the instrument x S/N cells of benchmarks/synthetic_recovery.py (held-out "
               "stars, each preset's own noise), those where the checkpoint's sigma is "
               "smaller than the shipped model's on the same stars. Sigma: Teff [K] / log g / "
               "[Fe/H] [dex]. Generation and in-painting: median absolute flux error on "
               "synthetic APOGEE spectra (benchmarks/generation_inpainting.py --parts "
               "synthetic), where it was run. The shipped model: "
               + ", ".join(f"{name} (sha256 {sha})" for name, sha in references) + ".",))


def render(output_dir=where.RESULTS):
    """Rewrite the ``.rst`` of every history table from its ``.ecsv``."""
    for name, fn in ((XP_RUNS, _render_xp), (HUNDRED_RUNS, _render_hundred),
                     (PRETRAINING_RUNS, _render_pretraining)):
        table = _read_history(name, output_dir)
        if table is not None:
            fn(table, output_dir)
            print(f"wrote {Path(output_dir) / name}.rst ({len(table)} runs)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default=str(where.RESULTS),
                        help="where the history tables are (default: benchmarks/results)")
    sub = parser.add_subparsers(dest="kind", required=True)
    xp = sub.add_parser("xp", help="add a specfm-xp run (an xp_accuracy.py results file)")
    xp.add_argument("run", help="name of the run (that of its configs/experiments/ file)")
    xp.add_argument("results", nargs="?", default=None,
                    help="its xp_accuracy.ecsv (none: a run that was not evaluated)")
    xp.add_argument("--config", default=None,
                    help="the configuration that trains it (default: "
                         "configs/experiments/RUN.toml)")
    source = xp.add_mutually_exclusive_group()
    source.add_argument("--model", default=None,
                        help="its model folder (for the training record in config.json)")
    source.add_argument("--history", default=None, help="or a saved training history JSON")
    xp.add_argument("--generation", default=None,
                    help="its generation_inpainting.ecsv, if that was run")
    xp.add_argument("--verdict", default="", help="adopted or not, and why, in a sentence")
    hundred = sub.add_parser("hundred", help="add 100-star runs (hundred_stars.ecsv files)")
    hundred.add_argument("results", nargs="+")
    hundred.add_argument("--base", default=None,
                         help="name of the base model (default: from its folder), e.g. "
                              "specfm-base-v2")
    pre = sub.add_parser("pretraining", help="add a step of a pre-training run "
                         "(validation_loss.ecsv and synthetic_recovery.ecsv with --against)")
    pre.add_argument("run", help="name of the run (that of its configs/ file)")
    pre.add_argument("step", type=int, help="training step of the measured checkpoint")
    pre.add_argument("validation", help="validation_loss.ecsv with the checkpoint and the "
                                        "shipped model")
    pre.add_argument("recovery", help="the checkpoint's synthetic_recovery.ecsv (--against)")
    pre.add_argument("--generation", default=None,
                     help="the checkpoint's generation_inpainting.ecsv (--parts synthetic)")
    sub.add_parser("render", help="rewrite the .rst tables from the .ecsv")
    args = parser.parse_args(argv)
    if args.kind == "xp":
        return add_xp_run(args.run, args.results, config=args.config, model=args.model,
                          history=args.history, generation=args.generation,
                          verdict=args.verdict, output_dir=args.output_dir)
    if args.kind == "hundred":
        table = None
        for path in args.results:
            table = add_hundred_stars_run(path, output_dir=args.output_dir, base=args.base)
        return table
    if args.kind == "pretraining":
        return add_pretraining_step(args.run, args.step, args.validation, args.recovery,
                                    generation=args.generation, output_dir=args.output_dir)
    render(args.output_dir)
    return None


if __name__ == "__main__":
    main()
