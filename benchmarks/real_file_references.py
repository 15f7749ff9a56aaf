"""The real survey files of the shared data against the references their headers give.

What a user checks first: the Doppler-template fit that every APOGEE file carries in its
header (``RV_TEFF``/``RV_LOGG``/``RV_FEH`` in apStar, ``RVTEFF``/``RVLOGG``/``RVFEH`` in
apVisit; a coarse grid, so only large differences mean much), and for the solar twin
18 Sco (a Gaia XP archive file) its literature values (Teff 5,810 K, log g 4.44,
[Fe/H] +0.05; e.g. Melendez et al. 2014, ApJ 791, 14). apVisit spectra are read in the
rest frame (their header's ``VRAD`` removed). A star is "near" when Teff is within
350 K, log g within 0.7 dex and [Fe/H] within 0.6 dex (`TOLERANCE`);
``tests/inference/test_real_file_references.py`` holds the shipped models to these cases.

Usage::

    python benchmarks/real_file_references.py            # about 30 s
    python benchmarks/real_file_references.py --base runs/specfm-base-v2/now

Writes ``benchmarks/results/real_file_references.ecsv`` and ``.rst``.
"""

import argparse
import warnings

import _paths as where
import _through_api as api
import _writing as writer

__all__ = ["CASES", "TOLERANCE", "main", "predict_case"]

TOLERANCE = {"teff": 350.0, "logg": 0.7, "fe_h": 0.6}
"""How far from its reference a prediction may be and still count as near it."""

APSTAR_KEYS = ("RV_TEFF", "RV_LOGG", "RV_FEH")
APVISIT_KEYS = ("RVTEFF", "RVLOGG", "RVFEH")

CASES = [
    # file, specutils format (None: identified), model kind, velocity, reference
    ("apStar-dr17-2M17335483-2753043.fits", "APOGEE apStar", "base", None, APSTAR_KEYS),
    ("apStar-dr17-2M19485057+5005279.fits", "APOGEE apStar", "base", None, APSTAR_KEYS),
    ("apVisit-r13-5095-55844-128.fits", "APOGEE apVisit", "base", "VRAD", APVISIT_KEYS),
    ("apVisit-r13-9518-57729-104.fits", "APOGEE apVisit", "base", "VRAD", APVISIT_KEYS),
    ("18Sco-XP-spectra.csv", None, "xp", None, {"teff": 5810.0, "logg": 4.44, "fe_h": 0.05}),
]
"""Each real file with a reference: how to read it, which model reads it, and the reference
(header keywords for Teff, log g, [Fe/H], or literature values)."""


def predict_case(case, data, models):
    """Read one case's file and predict it; return ``(reference, prediction, table)``.

    Parameters
    ----------
    case : tuple
        An entry of `CASES`.
    data : pathlib.Path
        The shared data folder.
    models : dict
        ``{"base": Model, "xp": Model}``.

    Returns
    -------
    reference, prediction : dict
        ``{label: float}`` in K and dex.
    table : astropy.table.QTable
        The prediction table.

    """
    from specfm._compat import SpectrumClass

    name, fmt, kind, velocity, reference = case
    path = str(data / "real_spectra" / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # readers' header and unit warnings
        spectrum = SpectrumClass.read(path, format=fmt) if fmt else SpectrumClass.read(path)
    if not isinstance(reference, dict):
        header = spectrum.meta["header"]
        reference = {k: float(header[key]) for k, key in zip(TOLERANCE, reference, strict=True)}
    table = models[kind].predict(spectrum, labels=list(TOLERANCE), radial_velocity=velocity)
    prediction = {k: float(table[k][0].value) for k in TOLERANCE}
    return reference, prediction, table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=str(where.MODELS / "specfm-base"),
                        help="model for the APOGEE files (default: the shipped specfm-base)")
    parser.add_argument("--xp", default=str(where.MODELS / "specfm-xp"),
                        help="model for the Gaia XP file (default: the shipped specfm-xp)")
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    where.light_torch(args.threads)

    from astropy.table import Table

    data = where.data_dir(args.data)
    models = {"base": api.load_model(args.base), "xp": api.load_model(args.xp)}
    rows, cells = [], []
    for case in CASES:
        reference, prediction, table = predict_case(case, data, models)
        off = {k: prediction[k] - reference[k] for k in TOLERANCE}
        near = all(abs(off[k]) <= TOLERANCE[k] for k in TOLERANCE)
        model = models[case[2]]
        rows.append({"file": case[0], "model": model.name, "frame": table.meta["frame"],
                     "near": near, "flag": int(table["flag"][0]),
                     **{f"{k}_ref": reference[k] for k in TOLERANCE},
                     **{k: prediction[k] for k in TOLERANCE},
                     **{f"{k}_err": float(table[f"{k}_err"][0].value) for k in TOLERANCE}})
        cells.append((case[0], model.name,
                      f"{reference['teff']:.0f} / {reference['logg']:.2f} / "
                      f"{reference['fe_h']:+.2f}",
                      f"{prediction['teff']:.0f} / {prediction['logg']:.2f} / "
                      f"{prediction['fe_h']:+.2f}",
                      f"{off['teff']:+.0f} / {off['logg']:+.2f} / {off['fe_h']:+.2f}",
                      "yes" if near else "no"))
        print(" | ".join(cells[-1]))
    n_near = sum(r["near"] for r in rows)
    table = Table(rows=rows, meta=writer.run_metadata(
        models={"base": args.base, "xp": args.xp}, tolerance=TOLERANCE))
    note = (f"{n_near} of {len(rows)} near their reference (Teff within "
            f"{TOLERANCE['teff']:.0f} K, log g within {TOLERANCE['logg']} dex, [Fe/H] within "
            f"{TOLERANCE['fe_h']} dex). References: the Doppler-template fit in each APOGEE "
            "file's header; for 18 Sco, literature values. apVisit spectra read in the rest "
            "frame (header VRAD removed).")
    print(note)
    writer.write_results(table, "real_file_references", args.output_dir,
                         "Real files against their references: Teff [K] / log g / [Fe/H] [dex]",
                         ("File", "Model", "Reference", "specfm", "specfm - reference", "Near"),
                         cells, notes=(note,))


if __name__ == "__main__":
    main()
