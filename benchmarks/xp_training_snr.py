"""The median S/N of the real Gaia XP spectra that ``specfm-xp`` was trained and judged on.

A network reads spectra cleaner than its training spectra worse, not better (for
``specfm-base`` on synthetic spectra: ``synthetic_recovery.py --snr 1000 --max-snr none``),
which is why a model pre-trained on synthetic spectra stores the top of their S/N range as
its ``max_snr``. ``specfm-xp`` was fine-tuned on real spectra instead; this prints the
range they cover, per split of ``gaia_xp_apogee/train.fits.gz``, with the S/N of
`specfm.tokens.median_snr` (``|flux| / uncertainty`` over the usable pixels, the S/N that
``max_snr`` is compared with).

Usage::

    python benchmarks/xp_training_snr.py

Writes ``benchmarks/results/xp_training_snr.ecsv`` and ``.rst``.
"""

import argparse

import _paths as where
import _writing as writer
import _xp_split as xpsplit
import numpy as np

__all__ = ["main"]

PERCENTILES = (1, 10, 50, 90, 99, 99.9, 100)


def spectra_snr(spectra):
    """Median S/N of each spectrum of a 2-D `~specutils.Spectrum`."""
    from astropy.nddata import StdDevUncertainty

    from specfm.tokens import median_snr

    flux = np.asarray(spectra.flux.value, dtype=float)
    sigma = spectra.uncertainty.represent_as(StdDevUncertainty).array
    valid = np.isfinite(flux) & np.isfinite(sigma)
    if spectra.mask is not None:
        valid &= ~np.asarray(spectra.mask, bool)
    return median_snr(flux, sigma, valid)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    from astropy.table import Table

    path = where.xp_path(args.data)
    rows = []
    for name, split in zip(("training", "validation"), xpsplit.xp_split(path), strict=True):
        snr = spectra_snr(xpsplit.read_xp(path, split).spectra)
        row = {"split": name, "n": int(np.isfinite(snr).sum())}
        for p in PERCENTILES:
            row[f"p{p:g}"] = float(np.nanpercentile(snr, p))
        row["above_300"] = int(np.sum(snr > 300))
        rows.append(row)
    table = Table(rows=rows)
    for p in PERCENTILES:
        table[f"p{p:g}"].info.format = ".0f"
    table.meta.update(writer.run_metadata(
        description="Median S/N (specfm.tokens.median_snr) of the real Gaia XP spectra of "
                    "specfm-xp's training and validation splits", data=str(where.XP_FILE)))
    table.pprint(max_width=200)
    header = ["Split", "Stars"] + [f"{p:g}%" for p in PERCENTILES] + ["Above 300"]
    cells = [[r["split"], str(r["n"])] + [f"{r[f'p{p:g}']:.0f}" for p in PERCENTILES]
             + [str(r["above_300"])] for r in rows]
    writer.write_results(
        table, "xp_training_snr", args.output_dir,
        "Median S/N of the real Gaia XP spectra of specfm-xp's splits: percentiles",
        header, cells,
        notes=["S/N: median over usable pixels of |flux| / uncertainty "
               "(specfm.tokens.median_snr), the S/N that a model's max_snr is compared "
               "with. Splits: xp_accuracy.py's (validation fraction 0.1, seed 0)."])


if __name__ == "__main__":
    main()
