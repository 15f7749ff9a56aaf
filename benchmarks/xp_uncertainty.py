"""Are specfm-xp's uncertainties honest? Their calibration on our Gaia XP validation split.

``specfm-xp`` gives every label a ``<label>_err``: the standard deviation of its
prediction of the true value. It was trained (`specfm.training.gaussian_nll`) against
reference labels that have errors of their own, so what should follow a unit normal is

    z = (predicted - APOGEE) / sqrt(predicted_err**2 + APOGEE_err**2).

For every label, for all validation stars with a reference value and for those with
reference Teff < 7000 K, the script reports the MAD-based sigma of z (1 for honest errors;
above 1: the errors are too small), the share of stars with |z| < 1 and < 2 (68.3% and
95.4% for a normal distribution), and the median predicted and reference errors. The
errors are then checked star by star: the stars are split into ``--bins`` bins of equal
size by their combined error, and in each bin the scatter actually seen (MAD-based sigma
and RMSE of predicted - APOGEE) is set against the median combined error (equal for
honest errors; the plot).

Usage::

    python benchmarks/xp_uncertainty.py                       # the shipped specfm-xp
    python benchmarks/xp_uncertainty.py /tmp/model --max-val 500

Writes ``benchmarks/results/xp_uncertainty.ecsv`` and ``.rst`` (the summary),
``xp_uncertainty_bins.ecsv`` and ``.rst`` (the bins) and ``xp_uncertainty.png``.
"""

import argparse

import _metrics as stats
import _paths as where
import _through_api as api
import _writing as writer
import _xp_split as xpsplit
import numpy as np
from xp_accuracy import DIGITS, NAMES, TEFF_CUT, TITLES, UNITS

__all__ = ["binned", "calibration", "main"]

NORMAL_WITHIN_1, NORMAL_WITHIN_2 = 0.6827, 0.9545
"""Shares of a unit normal within 1 and 2 sigma."""


def _combined_error(error, reference_error):
    """``(reference_error, sqrt(error**2 + reference_error**2))``, a missing (non-finite)
    reference error counted as zero."""
    ref_err = np.where(np.isfinite(reference_error), reference_error, 0.0)
    return ref_err, np.sqrt(error**2 + ref_err**2)


def calibration(predicted, error, reference, reference_error):
    """Summary of ``z = (predicted - reference) / sqrt(error**2 + reference_error**2)``.

    Stars without a finite value in any of the four are left out; a missing reference
    error counts as zero.
    """
    ref_err, total = _combined_error(error, reference_error)
    ok = np.isfinite(predicted) & np.isfinite(reference) & np.isfinite(total) & (total > 0)
    z = (predicted[ok] - reference[ok]) / total[ok]
    if not z.size:
        return {"n": 0}
    return {"n": int(z.size), "z_sigma": stats.mad_sigma(z),
            "z_median": float(np.median(z)),
            "within_1": float(np.mean(np.abs(z) < 1)), "within_2": float(np.mean(np.abs(z) < 2)),
            "median_error": float(np.median(error[ok])),
            "median_reference_error": float(np.median(ref_err[ok]))}


def binned(predicted, error, reference, reference_error, n_bins):
    """Rows of the star-by-star check: stars in ``n_bins`` equal-count bins of combined
    error, each with its median combined error and the scatter of predicted - reference."""
    _, total = _combined_error(error, reference_error)
    ok = np.isfinite(predicted) & np.isfinite(reference) & np.isfinite(total)
    order = np.argsort(total[ok])
    d = (predicted[ok] - reference[ok])[order]
    t = total[ok][order]
    rows = []
    for k, part in enumerate(np.array_split(np.arange(d.size), n_bins)):
        if not part.size:
            continue
        rows.append({"bin": k + 1, "n": int(part.size),
                     "combined_error_low": float(t[part[0]]),
                     "combined_error_high": float(t[part[-1]]),
                     "median_combined_error": float(np.median(t[part])),
                     "sigma": stats.mad_sigma(d[part]),
                     "rmse": float(np.sqrt(np.mean(d[part] ** 2)))})
    return rows


def _plot(bins_by_label, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(bins_by_label), figsize=(3.3 * len(bins_by_label), 3.2))
    for ax, (name, rows) in zip(np.atleast_1d(axes), bins_by_label.items(), strict=True):
        x = np.array([r["median_combined_error"] for r in rows])
        ax.plot(x, [r["sigma"] for r in rows], "o-", label="MAD sigma")
        ax.plot(x, [r["rmse"] for r in rows], "s--", label="RMSE")
        lo, hi = min(x.min(), min(r["sigma"] for r in rows)), max(r["rmse"] for r in rows)
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.6, label="honest errors")
        if name == "teff":  # from tens to thousands of K; the dex labels span a few times
            ax.set_xscale("log")
            ax.set_yscale("log")
        ax.set_xlabel(f"combined error, {TITLES[name]}")
        ax.set_title(name, fontsize=9)
    np.atleast_1d(axes)[0].set_ylabel("scatter of predicted - APOGEE")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    xpsplit.split_arguments(parser)
    parser.add_argument("--bins", type=int, default=6, help="bins of combined error")
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    where.light_torch(args.threads)

    path, _, val_rows = xpsplit.split_rows(args)
    val = xpsplit.read_xp(path, val_rows)
    ref = xpsplit.label_arrays(val.labels, NAMES)
    errors = xpsplit.label_arrays(val.labels, [f"{n}_err" for n in NAMES])
    ref_err = {n: errors.get(f"{n}_err", np.full(len(val_rows), np.nan)) for n in NAMES}
    pred, err = api.predict_validation(args, val, NAMES)

    cool = ref["teff"] < TEFF_CUT
    rows, bin_rows, bins_by_label = [], [], {}
    for name in NAMES:
        for subset, select in (("all", np.ones(len(val_rows), bool)),
                               (f"Teff < {TEFF_CUT:.0f} K", cool)):
            cal = calibration(pred[name][select], err[name][select], ref[name][select],
                              ref_err[name][select])
            rows.append({"label": name, "unit": UNITS[name], "subset": subset, **cal})
        bins_by_label[name] = binned(pred[name], err[name], ref[name], ref_err[name],
                                     args.bins)
        bin_rows += [{"label": name, "unit": UNITS[name], **r} for r in bins_by_label[name]]

    from astropy.table import Table

    meta = writer.run_metadata(
        models={"specfm-xp": args.model},
        split="specfm.training.split_indices(n_rows, 0.1, seed=0)[1]",
        n_validation=len(val_rows),
        z="(predicted - APOGEE) / sqrt(predicted_err**2 + APOGEE_err**2)")
    table = Table(rows=rows)
    table.meta.update(meta, description="Calibration of specfm-xp's uncertainties")
    table.pprint(max_lines=-1, max_width=200)
    bins = Table(rows=bin_rows)
    bins.meta.update(meta, description="Scatter against combined error, in bins of "
                                       "equal size (all validation stars)")
    bins.pprint(max_lines=-1, max_width=200)

    writer.write_results(
        table, "xp_uncertainty", args.output_dir,
        f"Calibration of specfm-xp's uncertainties on our validation split "
        f"({len(val_rows)} stars)",
        ("Label", "Subset", "N", "Sigma of z", "Median z", "abs(z) < 1", "abs(z) < 2",
         "Median err", "Median APOGEE err"),
        [(r["label"], r["subset"], str(r["n"]), writer.fmt(r["z_sigma"], ".2f"),
          writer.fmt(r["z_median"], "+.2f"), f"{r['within_1']:.1%}", f"{r['within_2']:.1%}",
          writer.fmt(r["median_error"], DIGITS[r["label"]]),
          writer.fmt(r["median_reference_error"], DIGITS[r["label"]])) for r in table],
        notes=("z = (predicted - APOGEE) / sqrt(predicted_err^2 + APOGEE_err^2); for honest "
               f"errors its MAD-based sigma is 1 and {NORMAL_WITHIN_1:.1%} / "
               f"{NORMAL_WITHIN_2:.1%} of stars have abs(z) < 1 / 2 "
               "(a sigma above 1: errors too small; below 1: too large). Errors in K for "
               "Teff, dex otherwise.",))
    writer.write_results(
        bins, "xp_uncertainty_bins", args.output_dir,
        f"specfm-xp: scatter seen against the combined error, {args.bins} bins of equal "
        f"size (all {len(val_rows)} validation stars)",
        ("Label", "Bin", "N", "Combined error range", "Median combined error", "Sigma (MAD)",
         "RMSE"),
        [(r["label"], str(r["bin"]), str(r["n"]),
          f"{r['combined_error_low']:{DIGITS[r['label']]}}-"
          f"{r['combined_error_high']:{DIGITS[r['label']]}}",
          writer.fmt(r["median_combined_error"], DIGITS[r["label"]]),
          writer.fmt(r["sigma"], DIGITS[r["label"]]), writer.fmt(r["rmse"], DIGITS[r["label"]]))
         for r in bins],
        notes=("Combined error: sqrt(predicted_err^2 + APOGEE_err^2). For honest Gaussian "
               "errors the sigma and the RMSE of each bin are about its median combined "
               "error (the bins' spread of errors widens the RMSE a little).",))
    try:
        _plot(bins_by_label, f"{args.output_dir}/xp_uncertainty.png")
    except ImportError:  # pragma: no cover
        print("matplotlib is not installed: no plot written")
    return table


if __name__ == "__main__":
    main()
