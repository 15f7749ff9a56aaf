"""Summarise several runs of ``xp_accuracy.py`` (the shipped model and the experiments).

Each run is an ``xp_accuracy.ecsv``; its name is the folder it is in (``specfm-xp`` for
``benchmarks/results``), its model the sha256 in its metadata. For every run the table
gives the ``specfm-xp`` rows' Teff scatter and RMSE (all stars and below 7000 K), the
log g, [Fe/H] and [alpha/M] scatter, and how many of the issue's 18 comparisons with the
XGBoost rows of the same file (|bias|, sigma and RMSE of teff, logg and fe_h, for all stars
and for Teff < 7000 K) the model loses. Nothing is recomputed: the numbers are those of
the files.

Usage (the runs of ``docs/benchmarks.rst``)::

    python benchmarks/xp_runs_summary.py benchmarks/results/xp_accuracy.ecsv \\
        benchmarks/results/experiments/*/xp_accuracy.ecsv \\
        --output-dir benchmarks/results/experiments

Writes ``xp_runs.ecsv`` and ``.rst`` in ``--output-dir``.
"""

import argparse
from pathlib import Path

import _paths as where
import _writing as writer
import numpy as np
from astropy.table import Table
from xp_accuracy import TEFF_CUT

__all__ = ["main"]

ISSUE_LABELS = ("teff", "logg", "fe_h")
ISSUE_SUBSETS = ("all", f"Teff < {TEFF_CUT:.0f} K")
ISSUE_METRICS = ("bias", "sigma", "rmse")
SPECFM, XGBOOST = "specfm-xp", "xgboost"


def _value(table, label, subset, method, metric):
    """One metric of one row of an ``xp_accuracy.ecsv`` table (NaN if the row is absent)."""
    rows = table[(table["label"] == label) & (table["subset"] == subset)
                 & (table["method"] == method)]
    return float(rows[metric][0]) if len(rows) else float("nan")


def cells_lost(table):
    """The issue's comparisons in which specfm-xp is worse than XGBoost: a list of
    ``(label, metric, subset)``."""
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
    """Short text of `cells_lost`: ``"teff rmse (Teff < 7000 K); fe_h bias"`` (no subset:
    both subsets)."""
    n_all = len(ISSUE_LABELS) * len(ISSUE_METRICS) * len(ISSUE_SUBSETS)
    if not lost:
        return "none"
    if len(lost) == n_all:
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


def read_run(path):
    """``dict`` of one run's summary numbers."""
    path = Path(path)
    table = Table.read(path)
    name = path.parent.name
    name = SPECFM if name == "results" else name
    sha = (table.meta.get("models", {}).get(SPECFM, {}) or {}).get("sha256") or ""
    cool = ISSUE_SUBSETS[1]
    lost = cells_lost(table)
    return {
        "run": name, "sha256": sha[:8],
        "teff_sigma": _value(table, "teff", "all", SPECFM, "sigma"),
        "teff_rmse": _value(table, "teff", "all", SPECFM, "rmse"),
        "teff_rmse_cool": _value(table, "teff", cool, SPECFM, "rmse"),
        "xgboost_teff_rmse_cool": _value(table, "teff", cool, XGBOOST, "rmse"),
        "logg_sigma": _value(table, "logg", "all", SPECFM, "sigma"),
        "fe_h_sigma": _value(table, "fe_h", "all", SPECFM, "sigma"),
        "alpha_m_sigma": _value(table, "alpha_m", "all", SPECFM, "sigma"),
        "n_lost": len(lost), "lost": describe_lost(lost),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="xp_accuracy.ecsv files")
    parser.add_argument("--output-dir", default=str(where.RESULTS / "experiments"))
    args = parser.parse_args(argv)
    runs = [read_run(p) for p in args.runs]
    table = Table(rows=runs)
    for col in ("teff_sigma", "teff_rmse", "teff_rmse_cool", "xgboost_teff_rmse_cool"):
        table[col].info.format = ".0f"
    for col in ("logg_sigma", "fe_h_sigma", "alpha_m_sigma"):
        table[col].info.format = ".3f"
    table.meta.update(writer.run_metadata(
        description="specfm-xp runs of xp_accuracy.py side by side",
        files=[str(p) for p in args.runs],
        comparisons=f"|bias|, sigma, RMSE of {', '.join(ISSUE_LABELS)} for "
                    f"{' and '.join(ISSUE_SUBSETS)} against the XGBoost rows of each file"))
    table.pprint(max_lines=-1, max_width=200)
    cool = np.asarray(table["teff_rmse_cool"], float)
    print(f"Teff RMSE below {TEFF_CUT:.0f} K across runs: {np.nanmin(cool):.0f}-"
          f"{np.nanmax(cool):.0f} K")
    cells = [(r["run"], r["sha256"], writer.fmt(r["teff_sigma"], ".0f"),
              writer.fmt(r["teff_rmse"], ".0f"), writer.fmt(r["teff_rmse_cool"], ".0f"),
              writer.fmt(r["xgboost_teff_rmse_cool"], ".0f"),
              writer.fmt(r["logg_sigma"], ".3f"), writer.fmt(r["fe_h_sigma"], ".3f"),
              writer.fmt(r["alpha_m_sigma"], ".3f"), str(r["n_lost"]), r["lost"])
             for r in table]
    writer.write_results(
        table, "xp_runs", args.output_dir,
        "specfm-xp and its experiments on our Gaia XP validation split, from each run's "
        "xp_accuracy.ecsv",
        ("Run", "sha256", "Teff sigma", "Teff RMSE", f"Teff RMSE < {TEFF_CUT:.0f} K",
         f"XGBoost RMSE < {TEFF_CUT:.0f} K", "logg sigma", "[Fe/H] sigma", "[alpha/M] sigma",
         "Lost", "Comparisons lost to XGBoost"),
        cells,
        notes=("Teff in K, others in dex; sigma: MAD-based, all validation stars. Lost: of "
               "the issue's 18 comparisons with XGBoost (size of the median bias, sigma "
               "and RMSE of Teff, log g and [Fe/H], for all stars and for "
               f"Teff < {TEFF_CUT:.0f} K), "
               "how many the run's model is worse in, against the XGBoost rows of its own "
               "file (a comparison named without a subset is lost in both). specfm-xp is "
               "the shipped model; xp-28epochs is the experiment that became it (the same "
               "weights).",))
    return table


if __name__ == "__main__":
    main()
