"""Does a known label, given as an input, tighten the others? (specfm-xp, Gaia XP)

On stars of our validation split of the XP table, ``specfm-xp`` predicts Teff, [Fe/H] and
[alpha/M] twice through `specfm.inference.Model.predict`: with the 7 colours as inputs (as
usual), and with the colours plus the star's APOGEE log g given as a known label with an
uncertainty of ``--logg-error`` dex (standing in for an asteroseismic log g). Reported per
label: MAD-based sigma and RMSE of predicted - APOGEE, and the median predicted
uncertainty, for both runs.

Usage::

    python benchmarks/xp_accuracy.py conditioning                  # 2000 validation stars
    python benchmarks/xp_accuracy.py conditioning --n-stars 200

Writes ``benchmarks/results/conditioning.ecsv`` and ``.rst``.
"""

import argparse

import _metrics as stats
import _paths as where
import _through_api as api
import _writing as writer
import _xp_split as xpsplit
import numpy as np

__all__ = ["main"]

NAMES = ("teff", "fe_h", "alpha_m")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(where.MODELS / "specfm-xp"))
    parser.add_argument("--n-stars", type=int, default=2000)
    parser.add_argument("--logg-error", type=float, default=0.03)
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    where.light_torch(args.threads)
    import astropy.units as u
    from astropy.table import Table

    model = api.load_model(args.model, name="specfm-xp")
    path = where.xp_path(args.data)
    _, val = xpsplit.xp_split(path)
    xp = xpsplit.read_xp(path, xpsplit.subsample(val, args.n_stars, seed=2))
    truth = xpsplit.label_arrays(xp.labels, ("logg", *NAMES))
    known = np.isfinite(truth["logg"])
    colours = {n: xp.colours[n] for n in xpsplit.COLOURS if n in xp.colours.colnames}
    with_logg = dict(colours)
    with_logg["logg"] = np.ma.MaskedArray(np.nan_to_num(truth["logg"]), mask=~known) * u.dex(
        u.cm / u.s**2)
    with_logg["logg_err"] = np.full(len(known), args.logg_error) * u.dex
    runs = {"colours": colours, "colours + log g": with_logg}
    rows = []
    for run, inputs in runs.items():
        values, errors = api.predict(model, xp.spectra, NAMES, inputs=inputs)
        for name in NAMES:
            m = stats.metrics(values[name][known], truth[name][known])
            rows.append({"inputs": run, "label": name, "n": m["n"], "sigma": m["sigma"],
                         "rmse": stats.rmse(values[name][known], truth[name][known]),
                         "median_error": float(np.nanmedian(errors[name][known]))})
            r = rows[-1]
            print(f"{run:16s} {name:8s} n={r['n']}  sigma {r['sigma']:.4g}  rmse "
                  f"{r['rmse']:.4g}  median predicted error {r['median_error']:.4g}",
                  flush=True)
    table = Table(rows=rows)
    for col in ("sigma", "rmse", "median_error"):
        table[col].info.format = ".4g"
    table.meta.update(writer.run_metadata(models={"specfm-xp": args.model},
                                          n_stars=args.n_stars, logg_error=args.logg_error))
    units = {"teff": "K", "fe_h": "dex", "alpha_m": "dex"}
    cells = [(r["inputs"], f"{r['label']} [{units[r['label']]}]", str(r["n"]),
              writer.fmt(r["sigma"], ".3g"), writer.fmt(r["rmse"], ".3g"),
              writer.fmt(r["median_error"], ".3g")) for r in table]
    writer.write_results(
        table, "conditioning", args.output_dir,
        f"specfm-xp on {int(np.sum(known))} validation stars, without and with their APOGEE "
        f"log g (+- {args.logg_error} dex) as an input",
        ("Inputs", "Label", "N", "MAD sigma", "RMSE", "Median predicted error"), cells,
        notes=("Residuals are predicted - APOGEE DR17.",))
    return table


if __name__ == "__main__":
    main()
