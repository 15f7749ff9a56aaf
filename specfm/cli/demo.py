"""Predict stellar labels for the bundled example spectra with the shipped models.

``specfm demo`` reads the APOGEE apStar example with specutils and the Gaia XP example (20
stars), shows what the adapter did to their pixels (one line per spectrum: pixels in, valid
tokens out, pixels dropped and why, the wavelength range the tokens cover), then predicts
their labels with the shipped models, chosen automatically by wavelength coverage (the XP
stars with their photometric colours), and prints the tables, the XP ones beside their APOGEE
reference labels.
"""

import numpy as np
from astropy.table import Table, vstack

from ..data import get_example_path, read_example
from ..tokens import tokenize

__all__ = ["EXAMPLES", "predict_examples", "run", "setup_parser", "summarise"]

EXAMPLES = (
    ("APOGEE apStar", "apStar-dr17-2M19485057+5005279.fits", "continuum"),
    ("Gaia XP", "gaia_xp_example.fits", "median"),
)
"""The bundled files the demo reads: ``(source, file name, normalisation)``."""


def setup_parser(parser):
    """Add the demo's arguments (none yet) to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-parser of ``specfm demo``.

    """
    return parser


def summarise(batch, source):
    """Return one table row per input spectrum of a token batch.

    Parameters
    ----------
    batch : specfm.tokens.TokenBatch
        The result of `specfm.tokens.tokenize`.
    source : str
        What the spectra are, for the ``source`` column.

    Returns
    -------
    astropy.table.Table
        Columns ``source``, ``spectrum`` (index in the input), ``pixels``, ``tokens``
        (valid flux tokens), the pixels dropped as ``masked``, ``nonfinite`` (flux),
        ``bad_unc`` (uncertainty) and ``outside`` (the coverage), ``min_wave`` and
        ``max_wave`` (vacuum Angstrom, of the valid flux tokens) and ``normalisation``.

    """
    wavelength = batch.wavelength.detach().cpu().numpy()
    is_flux = batch.is_flux.detach().cpu().numpy()
    rows = []
    for report in batch.reports:
        picked = list(report.rows)
        waves = wavelength[picked][is_flux[picked]] if picked else np.empty(0)
        rows.append(
            (
                source,
                report.index,
                report.n_pixels,
                report.n_tokens,
                report.n_masked,
                report.n_nonfinite,
                report.n_bad_uncertainty,
                report.n_outside_coverage,
                float(waves.min()) if waves.size else np.nan,
                float(waves.max()) if waves.size else np.nan,
                report.normalisation,
            )
        )
    names = (
        "source",
        "spectrum",
        "pixels",
        "tokens",
        "masked",
        "nonfinite",
        "bad_unc",
        "outside",
        "min_wave",
        "max_wave",
        "normalisation",
    )
    table = Table(rows=rows, names=names)
    table["min_wave"].format = table["max_wave"].format = ".1f"
    table["min_wave"].unit = table["max_wave"].unit = "Angstrom"
    return table


def run(args):
    """Tokenise the bundled examples and print a summary.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed arguments (unused).

    Returns
    -------
    int
        0.

    """
    from .._meta import version

    print(f"specfm {version}: tokenising the bundled example spectra")
    tables = []
    for source, name, normalisation in EXAMPLES:
        spectra = read_example(name)
        batch = tokenize(spectra, normalisation=normalisation)
        print(f"  {source} ({name}): {batch!r}")
        tables.append(summarise(batch, source))
    summary = vstack(tables)
    print()
    print("\n".join(summary.pformat(max_lines=-1, max_width=-1)))
    print()
    print(f"{len(summary)} spectra, {int(np.sum(summary['tokens']))} valid flux tokens.")
    print()
    predict_examples()
    return 0


def _show(table, columns):
    shown = table[[c for c in columns if c in table.colnames]]
    for name in shown.colnames:
        if name != "flag" and getattr(shown[name], "unit", None) is not None:
            shown[name].info.format = ".0f" if name.startswith("teff") else ".2f"
    print("\n".join(shown.pformat(max_lines=-1, max_width=-1)))


def predict_examples():
    """Predict the labels of the bundled examples with the shipped models and print them.

    Returns
    -------
    list of astropy.table.QTable
        The prediction tables (apStar, then Gaia XP).

    """
    from ..inference import load_pretrained
    from ..io import read_gaia_xp_table
    from ..pretrained import available_models

    if not available_models():
        print("No shipped model is installed: skipping prediction.")
        return []
    labels = ["teff", "teff_err", "logg", "logg_err", "fe_h", "fe_h_err", "flag"]
    apstar = read_example(EXAMPLES[0][1])
    model = load_pretrained(spectra=apstar)
    table = model.predict(apstar)
    print(f"APOGEE apStar example, predicted by {model.name} ({table.meta['model_choice']}):")
    _show(table, labels)
    xp = read_gaia_xp_table(get_example_path(EXAMPLES[1][1]))
    model = load_pretrained(spectra=xp.spectra)
    predicted = model.predict(xp.spectra, inputs=xp.colours)
    for name in ("teff", "logg", "fe_h"):
        predicted[f"apogee_{name}"] = xp.labels[name]
    print()
    print(f"Gaia XP examples with colours, predicted by {model.name}, beside APOGEE DR17:")
    _show(predicted, [*labels[:-1], "apogee_teff", "apogee_logg", "apogee_fe_h"])
    return [table, predicted]
