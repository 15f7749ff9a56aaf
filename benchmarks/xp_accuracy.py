"""Accuracy on real Gaia XP spectra: specfm-xp against an XGBoost baseline, same split.

Both methods are judged on **our validation split** of ``gaia_xp_apogee/train.fits.gz``
(``specfm.training.split_indices(n_rows, 0.1, seed=0)``, second array: the rows that
``specfm-xp`` never trained on) against the APOGEE DR17 labels.

* ``specfm-xp``: the model folder given (through `specfm.inference.Model.predict`, with the
  seven Gaia/2MASS colours as input tokens, one pass);
* ``xgboost``: one XGBoost booster per label (the Leung & Bovy 2023 kind of
  baseline) on the 343 median-normalised XP fluxes + the 7 colours, fitted on the training
  split rows where that label is known; fixed hyper-parameters (``_xgboost_baseline.XGB_PARAMS``:
  600 trees, depth 6, learning rate 0.05, hist, subsample 0.8, 50% of features per tree,
  seed 0).

Metrics of predicted - reference, per label (teff, logg, fe_h; alpha_m as an extra), for
all validation stars with a reference value, for reference Teff < 7000 K, and for the
stars whose predicted specfm-xp ``teff_err`` is below 1000 K (both methods on the same
stars): median bias, MAD-based sigma (1.4826 x median |d - median d|) and RMSE. The bar
from the published XP models (issue 5) is sigma = 47 K, 0.11 dex, 0.07 dex.

Usage::

    python benchmarks/xp_accuracy.py                          # full run
    python benchmarks/xp_accuracy.py /tmp/model --max-train 2000 --max-val 500
    python benchmarks/xp_accuracy.py teff-outliers            # the analyses below
    python benchmarks/xp_accuracy.py conditioning

Two analyses explain parts of the table, each with its own options (``ANALYSIS --help``):
``teff-outliers`` (``_xp_teff_outliers.py``: what the XP data and the photometry say of the
cool stars read as hot, which carry the Teff RMSE below 7000 K) and ``conditioning``
(``_xp_conditioning.py``: the same validation stars with log g given as an input token).

Writes ``benchmarks/results/xp_accuracy.ecsv``, ``.rst`` and ``.png`` (residuals against
the reference label, both methods), and ``xp_accuracy_bootstrap.ecsv`` / ``.rst``: for each
label and subset, specfm-xp minus XGBoost in |bias|, sigma and RMSE with a 95% interval
from a paired bootstrap of the validation stars (``_metrics.paired_bootstrap``; the noise
of which stars are in the split, not of training), and ``xp_accuracy_groups.ecsv`` /
``.rst``: both methods' sigma and RMSE for giants, dwarfs and hot stars (from the APOGEE
labels) and for quartiles of Gaia G magnitude and of APOGEE S/N.
"""

import argparse
import importlib
import itertools
import sys
import time

import _metrics as stats
import _paths as where
import _through_api as api
import _writing as writer
import _xgboost_baseline as boost
import _xp_split as xpsplit
import numpy as np

__all__ = ["ANALYSES", "main"]

ANALYSES = {"teff-outliers": "_xp_teff_outliers", "conditioning": "_xp_conditioning"}
"""Analyses that explain parts of the accuracy table: first argument -> module."""

NAMES = ("teff", "logg", "fe_h", "alpha_m")
UNITS = {"teff": "K", "logg": "dex", "fe_h": "dex", "alpha_m": "dex"}
TITLES = {"teff": "Teff [K]", "logg": "logg [dex]", "fe_h": "[Fe/H]", "alpha_m": "[alpha/M]"}
DIGITS = {"teff": ".0f", "logg": ".3f", "fe_h": ".3f", "alpha_m": ".3f"}
"""Format of each label's numbers in the tables (K for Teff, dex otherwise)."""
TEFF_CUT = 7000.0
ERR_CUT = 1000.0  # K: specfm-xp predicted Teff uncertainty, for the third subset


def _plot(ref, preds, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(preds), len(NAMES), figsize=(3.2 * len(NAMES),
                                                              2.6 * len(preds)),
                             squeeze=False)
    limits = {"teff": 500, "logg": 1.0, "fe_h": 0.5, "alpha_m": 0.25}
    for i, (method, pred) in enumerate(preds.items()):
        for j, name in enumerate(NAMES):
            ax = axes[i, j]
            d = pred[name] - ref[name]
            ok = np.isfinite(d)
            ax.scatter(ref[name][ok], d[ok], s=1, alpha=0.3, rasterized=True)
            ax.axhline(0, color="k", lw=0.5)
            ax.set_ylim(-limits[name], limits[name])
            if ok.any():
                ax.set_xlim(*np.nanpercentile(ref[name][ok], [0.5, 99.5]))
            ax.set_xlabel(f"APOGEE {TITLES[name]}")
            ax.set_title(f"{method}: sigma {stats.mad_sigma(d):.3g}", fontsize=9)
            if j == 0:
                ax.set_ylabel("predicted - reference")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


GIANT_LOGG = 3.5  # APOGEE log g below which a star counts as a giant (for the groups)
GROUP_LABELS = ("teff", "logg", "fe_h")


def star_groups(ref, magnitude, snr):
    """``[(group, kind, boolean mask)]``: the validation stars by kind of star (from the
    APOGEE labels), by Gaia G magnitude and by APOGEE S/N (quartiles of each)."""
    cool = ref["teff"] < TEFF_CUT
    groups = [(f"giants (log g < {GIANT_LOGG:g}), Teff < {TEFF_CUT:.0f} K", "kind of star",
               cool & (ref["logg"] < GIANT_LOGG)),
              (f"dwarfs (log g >= {GIANT_LOGG:g}), Teff < {TEFF_CUT:.0f} K", "kind of star",
               cool & (ref["logg"] >= GIANT_LOGG)),
              (f"Teff >= {TEFF_CUT:.0f} K", "kind of star", ref["teff"] >= TEFF_CUT)]
    for name, kind, values, digits in (("G", "Gaia G [mag]", magnitude, ".1f"),
                                       ("APOGEE S/N", "APOGEE S/N", snr, ".0f")):
        edges = np.nanpercentile(values, [0, 25, 50, 75, 100])
        for k, (lo, hi) in enumerate(itertools.pairwise(edges)):
            upper = values <= hi if k == 3 else values < hi
            groups.append((f"{name} {lo:{digits}}-{hi:{digits}}", kind,
                           (values >= lo) & upper))
    return groups


def _write_groups(preds, ref, val, args):
    """Write ``xp_accuracy_groups.{ecsv,rst}``: both methods by kind of star and brightness."""
    from astropy.table import Table

    meta = xpsplit.label_arrays(val.meta, ("gaiaedr3_phot_g_mean_mag", "snr"))
    rows = []
    for group, kind, select in star_groups(ref, meta["gaiaedr3_phot_g_mean_mag"],
                                           meta["snr"]):
        for method, pred in preds.items():
            row = {"group": group, "kind": kind, "method": method, "n": int(select.sum())}
            for name in GROUP_LABELS:
                m = stats.metrics(pred[name][select], ref[name][select])
                row.update({f"{name}_bias": m["bias"], f"{name}_sigma": m["sigma"],
                            f"{name}_rmse": m["rmse"]})
            rows.append(row)
    table = Table(rows=rows)
    table.meta.update(writer.run_metadata(
        models={"specfm-xp": args.model},
        description="Accuracy of specfm-xp and XGBoost by kind of star, Gaia G magnitude "
                    "and APOGEE S/N (groups made from the reference labels and photometry)",
        giant_logg=GIANT_LOGG, teff_cut=TEFF_CUT,
        quartiles="G and APOGEE S/N groups: quartiles of the validation stars"))
    def cell(r, n):  # "sigma / RMSE", empty where the group has no reference value
        if not np.isfinite(r[f"{n}_rmse"]):
            return ""
        return f"{writer.fmt(r[f'{n}_sigma'], DIGITS[n])} / {writer.fmt(r[f'{n}_rmse'], DIGITS[n])}"

    cells = [(r["group"], r["method"], str(r["n"]), *(cell(r, n) for n in GROUP_LABELS))
             for r in table]
    writer.write_results(
        table, "xp_accuracy_groups", args.output_dir,
        "Accuracy by kind of star, Gaia G magnitude and APOGEE S/N (our validation split): "
        "sigma (MAD) / RMSE of predicted - APOGEE",
        ("Group", "Method", "N", "Teff [K]", "log g", "[Fe/H]"),
        cells,
        notes=(f"Giants and dwarfs: APOGEE log g below or above {GIANT_LOGG:g}, for stars "
               f"with APOGEE Teff < {TEFF_CUT:.0f} K; G and S/N groups: quartiles of the "
               "validation stars (Gaia G of the XP spectra; S/N of the APOGEE spectra, i.e. "
               "of the reference labels). N counts the stars of the group; [Fe/H] is known "
               "for fewer (none of the hot stars). Median biases are in the ECSV table.",))


def _write_bootstrap(paired, args, n_val):
    """Write ``xp_accuracy_bootstrap.{ecsv,rst}``: specfm-xp - XGBoost, with intervals."""
    from astropy.table import Table

    table = Table(rows=paired)
    table.meta.update(writer.run_metadata(
        models={"specfm-xp": args.model},
        description="specfm-xp minus XGBoost per metric, on the same validation stars, "
                    "with paired bootstrap intervals (validation-sample noise only)",
        n_validation=n_val, n_resamples=stats.BOOTSTRAP_RESAMPLES, seed=args.bootstrap_seed,
        interval="2.5th-97.5th percentile of the resampled differences",
        better="share of resamples in which specfm-xp's value is strictly smaller",
        bias="compared by size: |median bias|"))
    def cell(r, m, d):
        return (f"{r[m + '_difference']:+{d}} [{r[m + '_low']:+{d}}, "
                f"{r[m + '_high']:+{d}}]")

    cells = [(r["label"], r["subset"], str(r["n"]),
              *(cell(r, m, DIGITS[r["label"]]) for m in ("bias", "sigma", "rmse")),
              " / ".join(f"{100 * r[m + '_a_better']:.0f}" for m in ("bias", "sigma", "rmse")))
             for r in table]
    writer.write_results(
        table, "xp_accuracy_bootstrap", args.output_dir,
        "specfm-xp minus XGBoost on the same validation stars (negative: specfm-xp is "
        "better), with 95% paired bootstrap intervals",
        ("Label", "Subset", "N", "Bias size difference", "Sigma difference", "RMSE difference",
         "specfm-xp better (%)"),
        cells,
        notes=(f"{stats.BOOTSTRAP_RESAMPLES} resamples of the stars of each row with "
               f"replacement (seed {args.bootstrap_seed}), the same draw for both methods; "
               "the interval is the 2.5th-97.5th percentile of the resampled differences. "
               "Bias is compared by size (the absolute median). specfm-xp better: the share "
               "of resamples in which its bias size / sigma / RMSE is the smaller. The "
               "intervals cover the noise of which stars happen to be in the validation split, not "
               "how either method varies when trained again (for specfm-xp, see the "
               "runs with other seeds below).",))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ANALYSES:
        return importlib.import_module(ANALYSES[argv[0]]).main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    xpsplit.split_arguments(parser, train_help="XGBoost training rows")
    parser.add_argument("--xgb-jobs", type=int, default=1, help="XGBoost threads")
    parser.add_argument("--bootstrap-seed", type=int, default=0,
                        help="seed of the paired bootstrap resamples")
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    where.light_torch(args.threads)

    path, train_rows, val_rows = xpsplit.split_rows(args)
    val = xpsplit.read_xp(path, val_rows)
    ref = xpsplit.label_arrays(val.labels, NAMES)

    t0 = time.perf_counter()
    spec, spec_err = api.predict_validation(args, val, NAMES)
    t_spec = time.perf_counter() - t0

    t0 = time.perf_counter()
    train = xpsplit.read_xp(path, train_rows)
    xgb_models = boost.fit_xgboost(boost.xgb_features(train),
                                   xpsplit.label_arrays(train.labels, NAMES), NAMES,
                                   params={"nthread": args.xgb_jobs})
    xgb = boost.predict_xgboost(xgb_models, boost.xgb_features(val))
    t_xgb = time.perf_counter() - t0
    print(f"xgboost: fitted and predicted in {t_xgb:.1f} s")

    preds = {"specfm-xp": spec, "xgboost": xgb}
    cool = ref["teff"] < TEFF_CUT
    # stars whose specfm-xp Teff uncertainty is small: a cut any user can make on the
    # predicted teff_err (XGBoost has none); both methods are judged on the same stars
    confident = spec_err["teff"] < ERR_CUT
    n_confident = int(confident.sum())
    print(f"teff_err < {ERR_CUT:.0f} K: {n_confident} of {len(confident)} stars")
    way_off = np.abs(spec["teff"] - ref["teff"]) > 2 * ERR_CUT
    n_way_off, n_way_off_flagged = int(way_off.sum()), int((way_off & ~confident).sum())
    print(f"specfm-xp Teff off by more than {2 * ERR_CUT:.0f} K: {n_way_off} stars, "
          f"{n_way_off_flagged} of them with teff_err >= {ERR_CUT:.0f} K")
    # where the Teff RMSE of cool stars comes from: stars the reference calls cool that a
    # method puts far off, and how good APOGEE's own solution for them is
    ref_err = xpsplit.label_arrays(val.labels, ["teff_err"])["teff_err"]
    n_cool = int(cool.sum())
    outliers = {}
    for method, pred in preds.items():
        d = pred["teff"] - ref["teff"]
        far = cool & (np.abs(d) > 2 * ERR_CUT)
        outliers[method] = {
            "n": int(far.sum()),
            "n_predicted_hotter": int(np.sum(far & (d > 0))),
            "median_apogee_teff_err": (float(np.nanmedian(ref_err[far])) if far.any()
                                       else float("nan")),
            "n_without_fe_h": int(np.sum(far & ~np.isfinite(ref["fe_h"]))),
            "share_of_squared_error": float(np.nansum(d[far] ** 2) / np.nansum(d[cool] ** 2)),
        }
    cool_ref = {"median_apogee_teff_err": float(np.nanmedian(ref_err[cool])),
                "n_without_fe_h": int(np.sum(cool & ~np.isfinite(ref["fe_h"])))}
    # one sentence, printed here and written under the table
    outlier_text = (
        f"Stars with reference Teff < {TEFF_CUT:.0f} K that a method puts more than "
        f"{2 * ERR_CUT:.0f} K off: "
        + "; ".join(
            f"{m} {o['n']} ({o['n_predicted_hotter']} too hot; "
            f"{o['share_of_squared_error']:.0%} of its squared Teff "
            f"error there, median APOGEE teff_err {o['median_apogee_teff_err']:.0f} K, "
            f"{o['n_without_fe_h']} without an APOGEE [Fe/H])"
            for m, o in outliers.items())
        + f"; all {n_cool} such stars: median APOGEE teff_err "
        f"{cool_ref['median_apogee_teff_err']:.0f} K, {cool_ref['n_without_fe_h']} "
        "without [Fe/H].")
    print(outlier_text)
    rows, paired = [], []
    for name in NAMES:
        for subset, select in (("all", np.ones(len(val_rows), bool)),
                               (f"Teff < {TEFF_CUT:.0f} K", cool),
                               (f"teff_err < {ERR_CUT:.0f} K", confident)):
            for method, pred in preds.items():
                m = stats.metrics(pred[name][select], ref[name][select])
                rows.append({"label": name, "unit": UNITS[name], "subset": subset,
                             "method": method, **m,
                             "paper_sigma": xpsplit.PAPER_BAR.get(name, np.nan)})
            boot = stats.paired_bootstrap(spec[name][select], xgb[name][select],
                                          ref[name][select], seed=args.bootstrap_seed)
            paired.append({"label": name, "unit": UNITS[name], "subset": subset,
                           "n": boot["n"],
                           **{f"{m}_{k}": boot[m][k] for m in ("bias", "sigma", "rmse")
                              for k in ("difference", "low", "high", "a_better")}})

    from astropy.table import Table

    table = Table(rows=rows)
    for col in ("bias", "sigma", "rmse"):
        table[col].info.format = ".4g"
    table.meta.update(writer.run_metadata(
        models={"specfm-xp": args.model},
        description="Accuracy on our validation split of the Gaia XP / APOGEE table",
        split="specfm.training.split_indices(n_rows, 0.1, seed=0)[1]",
        n_train_xgboost=len(train_rows), n_validation=len(val_rows),
        xgboost_params=dict(boost.XGB_PARAMS, nthread=args.xgb_jobs),
        xgboost_rounds=boost.XGB_ROUNDS,
        xgboost_features="343 median-normalised XP fluxes + 7 colours (NaN where masked)",
        paper_bar="sigma 47 K (Teff), 0.11 dex (logg), 0.07 dex ([Fe/H])",
        specfm_predict_seconds=t_spec, xgboost_fit_predict_seconds=t_xgb,
        mean_predicted_error={n: float(np.nanmedian(spec_err[n])) for n in NAMES},
        n_teff_err_below_cut=n_confident, teff_err_cut=ERR_CUT,
        n_teff_off_by_2_cuts=n_way_off, n_of_those_with_teff_err_above_cut=n_way_off_flagged,
        cool_teff_outliers=outliers, cool_reference=cool_ref,
    ))
    table.pprint(max_lines=-1, max_width=200)

    cells = []
    for r in table:
        d = DIGITS[r["label"]]
        cells.append((r["label"], r["subset"], r["method"], str(r["n"]), writer.fmt(r["bias"], d),
                      writer.fmt(r["sigma"], d), writer.fmt(r["rmse"], d),
                      writer.fmt(r["paper_sigma"], ".0f" if r["label"] == "teff" else ".2f")))
    writer.write_results(
        table, "xp_accuracy", args.output_dir,
        f"Gaia XP accuracy on our validation split ({len(val_rows)} stars; XGBoost fitted on "
        f"{len(train_rows)} training stars): predicted - APOGEE reference",
        ("Label", "Subset", "Method", "N", "Bias", "Sigma (MAD)", "RMSE", "Paper sigma"),
        cells,
        notes=("Bias: median of predicted - reference; sigma: 1.4826 x median absolute "
               "deviation; Teff in K, others in dex. Paper sigma: the bar from the published "
               "XP models (47 K, 0.11 dex, 0.07 dex). "
               f"teff_err < {ERR_CUT:.0f} K: the {n_confident} of {len(confident)} "
               "stars whose specfm-xp Teff uncertainty is below that (a cut on its own "
               "predicted error; both methods on the same stars). Of the "
               f"{n_way_off} stars whose specfm-xp Teff is off by more than "
               f"{2 * ERR_CUT:.0f} K, {n_way_off_flagged} have teff_err >= {ERR_CUT:.0f} K. "
               + outlier_text,))
    _write_bootstrap(paired, args, n_val=len(val_rows))
    _write_groups(preds, ref, val, args)
    try:
        _plot(ref, preds, f"{args.output_dir}/xp_accuracy.png")
    except ImportError:  # pragma: no cover
        print("matplotlib is not installed: no plot written")
    return table


if __name__ == "__main__":
    main()
