"""How specfm-base's label sigma depends on how many pixels of a spectrum it reads.

``specfm-base`` is trained on contexts of at most a few hundred pixels
(``max_context_tokens`` of its configuration) drawn from random 1,024-pixel subsets, and
reads a whole spectrum in one pass at prediction. This script asks whether it uses the
pixels beyond its training contexts: the held-out synthetic stars of
``synthetic_recovery.py`` (same corpus seed, emulator, realism and noise), rendered at one
S/N through every preset (so that each spectrum, noise included, is the one of that
script's cell), are read from a random ``N`` of their pixels (normalised as the whole
spectrum, then a random subset, as training contexts are drawn: `specfm.tokens.Tokenizer`
with ``cap_mode="subsample"``), and from every pixel, in one pass each
(`specfm.inference.Model.run_tokens`). With pixels of equal information, a reader that
uses them all has a sigma falling as ``1 / sqrt(N)``; the emulator fit of
``synthetic_recovery.py`` (every pixel) shows where the information ends.

Usage::

    python benchmarks/context_length.py                           # shipped base
    python benchmarks/context_length.py runs/specfm-base-v5/now --pixels 256 1024 all

Writes ``benchmarks/results/context_length.ecsv`` and ``.rst`` (``--output-dir``).
"""

import argparse
import dataclasses
import time

import _metrics as stats
import _paths as where
import _through_api as api
import _writing as writer
import _xp_split as xpsplit
import numpy as np
import synthetic_recovery as recovery

__all__ = ["main", "predict_from_pixels"]


def predict_from_pixels(model, spectra, names, n_pixels, seed=0):
    """Labels (K / dex) read from a random ``n_pixels`` of each spectrum (None: all).

    Parameters
    ----------
    model : `specfm.inference.Model`
        The model.
    spectra : Spectrum
        A batch of spectra on one grid.
    names : sequence of str
        Labels to predict.
    n_pixels : int or None
        Pixels per spectrum, drawn at random after normalising the whole spectrum.
    seed : int
        Seed of the draw (spectrum ``i`` gets ``(seed, i)``).

    Returns
    -------
    dict
        ``{name: values}``.

    """
    import warnings

    from specfm.model import Query
    from specfm.tokens import Tokenizer

    config = model.inference_config(max_tokens=None)
    if n_pixels is not None:
        config = dataclasses.replace(config, max_tokens=int(n_pixels), cap_mode="subsample",
                                     seed=int(seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # coverage warnings: every pixel is inside
        tokens = Tokenizer(config)(spectra)
    if tokens.n_rows != tokens.n_spectra:
        raise RuntimeError("expected one token row per spectrum")
    mean, _ = model.run_tokens(tokens, Query(list(names)))
    out = {}
    for j, name in enumerate(names):
        spec = model.vocabulary[name]
        out[name] = mean[:, j].numpy() * spec.scale + spec.offset
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(where.MODELS / "specfm-base"),
                        help="specfm-base model folder (default: the shipped one)")
    parser.add_argument("--instruments", nargs="+", default=["apogee", "galah", "boss"],
                        help="instrument presets")
    parser.add_argument("--snr", type=float, default=100.0)
    parser.add_argument("--n-stars", type=int, default=100, help="stars per instrument")
    parser.add_argument("--pixels", nargs="+", default=["256", "512", "1024", "2048", "4096",
                                                        "all"],
                        help="pixels read per spectrum: numbers, or all")
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    where.light_torch(args.threads)
    counts = [None if p == "all" else int(p) for p in args.pixels]

    from astropy.table import Table

    from specfm.training import SyntheticSource, load_emulator

    emulator = load_emulator(recovery.EMULATOR, where.data_dir(args.data))
    model = api.load_model(args.model, name="specfm-base")
    unknown = sorted(set(args.instruments) - set(recovery.PRESETS))
    if unknown:
        parser.error(f"unknown instruments {unknown}; choose from {recovery.PRESETS}")
    # every preset, as synthetic_recovery.py renders them: the same stars and noise draws
    instruments = SyntheticSource(recovery.EMULATOR, list(recovery.PRESETS),
                                  args.n_stars).make_instruments()
    spectra, truth = recovery.render_cell(emulator, instruments, args.n_stars,
                                          recovery.SEED, args.snr)
    true = xpsplit.label_arrays(truth, recovery.NAMES)
    rows = []
    for name in args.instruments:
        n_total = int(spectra[name][0].flux.shape[-1])
        for n in counts:
            if n is not None and n >= n_total:
                continue
            t0 = time.perf_counter()
            parts = [predict_from_pixels(model, spec, recovery.NAMES, n)
                     for spec in spectra[name]]
            pred = {k: np.concatenate([p[k] for p in parts]) for k in recovery.NAMES}
            row = {"instrument": name, "snr": args.snr, "n_pixels": n_total,
                   "pixels_read": n_total if n is None else n}
            for k in recovery.NAMES:
                m = stats.metrics(pred[k], true[k])
                row[f"{k}_bias"], row[f"{k}_sigma"], row["n"] = m["bias"], m["sigma"], m["n"]
            row["seconds"] = time.perf_counter() - t0
            rows.append(row)
            print(f"{name:8s} {row['pixels_read']:6d} pixels  Teff +- {row['teff_sigma']:5.0f} K"
                  f"  logg +- {row['logg_sigma']:.3f}  [Fe/H] +- {row['fe_h_sigma']:.3f}",
                  flush=True)
    table = Table(rows=rows)
    table.meta.update(writer.run_metadata(models={"specfm-base": args.model},
                                          snr=args.snr, n_stars=args.n_stars,
                                          seed=recovery.SEED))
    writer.write_results(
        table, "context_length", args.output_dir,
        f"specfm-base reading a random part of each spectrum: sigma of predicted - true "
        f"(held-out synthetic stars, S/N {args.snr:.0f}, {args.n_stars} per instrument)",
        ("Instrument", "Pixels read", "Of", "Teff [K]", "logg [dex]", "[Fe/H] [dex]"),
        [(r["instrument"], f"{r['pixels_read']:,}", f"{r['n_pixels']:,}",
          f"{r['teff_sigma']:.0f}", f"{r['logg_sigma']:.3f}", f"{r['fe_h_sigma']:.3f}")
         for r in rows],
        notes=("Sigma: 1.4826 x median absolute deviation. Each spectrum normalised whole, "
               "then a random subset of its pixels read in one pass (seeded per spectrum); "
               "the same stars and noise for every row of an instrument (the stars of "
               "synthetic_recovery.py).",))
    return table


if __name__ == "__main__":
    main()
