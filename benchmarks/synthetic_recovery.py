"""Label recovery on held-out synthetic spectra, per instrument and S/N, by specfm-base.

Stars are drawn from the label prior of the Cannon "coolstars" emulator (Teff 3500-8000 K,
logg 0-5, [Fe/H] -2.5...+0.5) and rendered by `specfm.synth.iter_corpus` through each
instrument preset, with the realism of the training corpora (radial-velocity residuals,
extinction for fluxed instruments, continuum errors, bad pixels) at a fixed S/N, and by
default each preset's own noise (for Gaia XP the shape of real XP noise), as the shipped
``specfm-base`` (v2) was trained (``--noise photon``: photon noise alone, as v1 was
trained). The corpus seed (999000001) differs from every training shard
(``SyntheticSource`` seeds 1-4, 11-14 and 31-34 -> shard seeds ``seed * 100003 + k``), so
these stars were never seen. The same stars are
used for every instrument and S/N (only the noise level changes). Their uncertainties are
computed from the noisy flux, as a pipeline reports them (``--uncertainty noiseless``: from
the noiseless spectrum, as specfm rendered until 2026-12-07, which leaks that spectrum to
the network: see the synthetic spectra page).

``specfm-base`` predicts Teff, logg and [Fe/H] (through `specfm.inference.Model.predict`, one
pass); reported per cell: median bias and MAD-based sigma of predicted - true.

Beside it, the information limit: the first ``--fit-stars`` spectra of each cell fitted
with the emulator that made them, rendered through the same instrument
(`specfm.synth.fit_spectrum`: labels, radial velocity, A(V) for Gaia XP, a cubic continuum
factor; least squares from three prior starts, each pixel weighted by its true sigma, the
one it was drawn with), and the ratio of specfm-base's sigma to the fit's on those same
stars (the foundation issue asks for at most 10, and 3 as the aim);
and the classic peer, a quadratic Cannon (`_cannon_baseline.QuadraticCannon`) trained per
instrument on ``--cannon-train`` spectra of the training kind (corpus seed 1, S/N 15-300,
the same realism and noise; for Gaia XP with A(V) as a fourth label) and tested on every
star of each cell.

Usage::

    python benchmarks/synthetic_recovery.py                 # 100 stars per cell, 40 fitted
    python benchmarks/synthetic_recovery.py /tmp/base --n-stars 20 --snr 20 100 --fit-stars 0

``--rv-residual``, ``--continuum-error`` and ``--bad-pixels`` change the realism of the
test spectra (default: that of the training corpora, ``specfm.synth.CorpusConfig``'s
defaults), e.g. all three 0 to ask how much of the network's sigma its handling of them
costs.

With ``--against RESULTS.ecsv`` (another model's results on the same stars) it also counts
the cells where this model's sigma is smaller, per label (the adoption rule of
``configs/specfm-base-v2.toml``), and, per label, in how many Gaia XP cells it is smaller
and its largest ratio to the other model's sigma in the other cells (the second branch of
``configs/specfm-base-v5.toml``'s rule).

Writes ``benchmarks/results/synthetic_recovery.ecsv`` and ``.rst``.
"""

import argparse
import time

import _metrics as stats
import _paths as where
import _through_api as api
import _writing as writer
import _xp_split as xpsplit
import numpy as np

__all__ = ["main"]

NAMES = ("teff", "logg", "fe_h")
PRESETS = ("apogee", "gaia_xp", "gaia_rvs", "galah", "lamost", "boss")
SEED = 999_000_001
EMULATOR = "cannon_coolstars"

REALISM = {"rv_residual": "rv_residual", "continuum_error": "continuum_error",
           "bad_pixels": "bad_pixel_fraction"}
"""Options of the test spectra's realism -> their `specfm.synth.CorpusConfig` fields."""


def realism_settings(args):
    """The test spectra's realism: each option given, else the training corpora's default.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options, with ``None`` for each realism option left out.

    Returns
    -------
    realism : dict
        ``CorpusConfig`` field -> value.
    as_trained : bool
        Whether it is the realism of the training corpora (`CorpusConfig`'s defaults).

    """
    import dataclasses

    from specfm.synth import CorpusConfig

    defaults = {f.name: f.default for f in dataclasses.fields(CorpusConfig)}
    realism = {field: (defaults[field] if getattr(args, option) is None
                       else getattr(args, option))
               for option, field in REALISM.items()}
    return realism, all(realism[f] == defaults[f] for f in realism)


def _matched_cells(table, other):
    """``[(row of table, row of other)]`` for the instrument x S/N cells both have."""
    theirs = {(r["instrument"], float(r["snr"])): r for r in other}
    return [(r, theirs[(r["instrument"], float(r["snr"]))]) for r in table
            if (r["instrument"], float(r["snr"])) in theirs]


def smaller_sigma_cells(table, other):
    """Count, per label, the instrument x S/N cells where ``table``'s sigma is smaller.

    Parameters
    ----------
    table, other : astropy.table.Table
        Results of this script for two models (matched by instrument and S/N).

    Returns
    -------
    dict
        ``{"cells": cells in both, "teff": k, "logg": k, "fe_h": k}``.

    """
    both = _matched_cells(table, other)
    out = {"cells": len(both)}
    for n in NAMES:
        out[n] = int(sum(mine[f"{n}_sigma"] < their[f"{n}_sigma"] for mine, their in both))
    return out


def _split_cells(table, other, focus):
    """Per label, for the ``focus`` instrument's matched cells and for the others:
    ``(cells where table's sigma is smaller, cells, largest ratio of the sigmas)``
    (the ratio NaN where there are no cells)."""
    both = _matched_cells(table, other)
    out = {}
    for n in NAMES:
        out[n] = {}
        for side, keep in (("focus", True), ("elsewhere", False)):
            pairs = [(mine[f"{n}_sigma"], their[f"{n}_sigma"]) for mine, their in both
                     if (mine["instrument"] == focus) == keep]
            ratios = [m / t for m, t in pairs]
            out[n][side] = (int(sum(m < t for m, t in pairs)), len(pairs),
                            float(max(ratios)) if ratios else float("nan"))
    return out


def focus_and_elsewhere(table, other, focus="gaia_xp"):
    """Per label, how ``table``'s sigma compares with ``other``'s on one instrument and elsewhere.

    The second branch of the adoption rule of ``configs/specfm-base-v5.toml``: smaller in
    every cell of the ``focus`` instrument, and at most 10% larger in every other cell.

    Parameters
    ----------
    table, other : astropy.table.Table
        Results of this script for two models (matched by instrument and S/N).
    focus : str
        The instrument preset whose cells must all be better.

    Returns
    -------
    dict
        ``{label: {"focus_smaller": k, "focus_cells": n, "largest_ratio_elsewhere": r}}``,
        ``r`` being the largest ``table`` sigma / ``other`` sigma over the cells of the other
        instruments (NaN when there are none).

    """
    split = _split_cells(table, other, focus)
    return {n: {"focus_smaller": split[n]["focus"][0], "focus_cells": split[n]["focus"][1],
                "largest_ratio_elsewhere": split[n]["elsewhere"][2]} for n in NAMES}


def elsewhere_and_focus(table, other, focus="gaia_xp"):
    """Per label, ``table``'s sigma against ``other``'s away from one instrument and on it.

    The rule of the grow pilots (``configs/experiments/grow-*.toml``): smaller in at least
    11 of the 15 cells of the other instruments, for Teff and log g, and at most 10%
    larger in every cell of the ``focus`` instrument.

    Parameters
    ----------
    table, other : astropy.table.Table
        Results of this script for two models (matched by instrument and S/N).
    focus : str
        The instrument preset that is only to be held, not improved.

    Returns
    -------
    dict
        ``{label: {"elsewhere_smaller": k, "elsewhere_cells": n, "largest_ratio_focus": r}}``,
        ``r`` being the largest ``table`` sigma / ``other`` sigma over the ``focus`` cells
        (NaN when there are none).

    """
    split = _split_cells(table, other, focus)
    return {n: {"elsewhere_smaller": split[n]["elsewhere"][0],
                "elsewhere_cells": split[n]["elsewhere"][1],
                "largest_ratio_focus": split[n]["focus"][2]} for n in NAMES}


def render_cell(emulator, instruments, n_stars, seed, snr, snr_high=None, **realism):
    """Render stars of one S/N (or an S/N range) through every instrument.

    Parameters
    ----------
    emulator : specfm.synth emulator
        What makes the spectra.
    instruments : tuple of Instrument
        What ``SyntheticSource.make_instruments`` gives.
    n_stars, seed : int
        How many stars, and the corpus seed that draws them.
    snr : float
        The S/N of every spectrum, or the bottom of their range with ``snr_high``.
    snr_high : float, optional
        The top of the range of S/N the spectra are drawn from.
    **realism
        `specfm.synth.CorpusConfig` settings of the realism (``rv_residual``,
        ``continuum_error``, ``bad_pixel_fraction``); its defaults, those of the training
        corpora, where left out.

    Returns
    -------
    spectra : dict
        ``{name: [Spectrum batches]}``.
    truth : astropy.table.Table
        The stars' labels, in the order of the spectra.

    """
    from astropy.table import vstack

    from specfm.synth import CorpusConfig, iter_corpus

    corpus = CorpusConfig(instruments=instruments, n_spectra=n_stars, seed=seed,
                          snr_range=(snr, snr if snr_high is None else snr_high),
                          shard_size=n_stars,
                          batch_size=min(64, n_stars), **realism)
    spectra, truth = {i.name: [] for i in instruments}, []
    for batch, table in iter_corpus(emulator, corpus):
        truth.append(table)
        for name in spectra:
            spectra[name].append(batch[name])
    return spectra, vstack(truth)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(where.MODELS / "specfm-base"),
                        help="specfm-base model folder (default: the shipped one)")
    parser.add_argument("--instruments", nargs="+", default=list(PRESETS),
                        help="instrument presets")
    parser.add_argument("--snr", type=float, nargs="+", default=[20.0, 50.0, 100.0])
    parser.add_argument("--n-stars", type=int, default=100, help="stars per cell")
    parser.add_argument("--seed", type=int, default=SEED, help="corpus seed (held out)")
    parser.add_argument("--batch", type=int, default=64, help="prediction batch size")
    parser.add_argument("--fit-stars", type=int, default=40,
                        help="spectra per cell fitted with the true emulator (0: none)")
    parser.add_argument("--max-tokens", default="model",
                        help="pixels per row at prediction: 'model' (the model's chunks, "
                             "default), 'all' (the whole spectrum in one pass) or a number")
    parser.add_argument("--uncertainty", choices=("observed", "noiseless"), default="observed",
                        help="the synthetic spectra's uncertainties: from the noisy flux, as a "
                             "pipeline reports them (default), or from the noiseless spectrum "
                             "(specfm's renders before 2026-12-07, which leak it)")
    parser.add_argument("--max-snr", default="model",
                        help="read spectra of a higher median S/N at this S/N, with noise "
                             "added: 'model' (the model's own setting, default), 'none' or a "
                             "number (Model.predict's max_snr)")
    parser.add_argument("--cannon-train", type=int, default=2000,
                        help="training spectra per instrument of the Cannon (0: no Cannon)")
    parser.add_argument("--noise", choices=("preset", "photon"), default="preset",
                        help="noise of the synthetic spectra: each preset's own (default; "
                             "for Gaia XP the shape of real XP noise; what the shipped "
                             "specfm-base v2 was trained on) or photon noise alone (what v1 "
                             "was trained on)")
    parser.add_argument("--against", metavar="ECSV", default=None,
                        help="a results file of another model on the same stars (e.g. "
                             "benchmarks/results/specfm-base-v1/synthetic_recovery.ecsv): "
                             "count the cells where this model's sigma is smaller, per label")
    parser.add_argument("--rv-residual", type=float, metavar="KM_S",
                        help="sigma of the test spectra's radial-velocity residuals (default: "
                             "the training corpora's, CorpusConfig.rv_residual)")
    parser.add_argument("--continuum-error", type=float,
                        help="sigma of the Legendre coefficients of the test spectra's "
                             "continuum error (default: CorpusConfig.continuum_error)")
    parser.add_argument("--bad-pixels", type=float, metavar="FRACTION",
                        help="largest fraction of bad pixels per test spectrum (default: "
                             "CorpusConfig.bad_pixel_fraction)")
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    where.light_torch(args.threads)
    realism, as_trained = realism_settings(args)
    max_tokens = {"model": "model", "all": None}.get(args.max_tokens)
    if max_tokens is None and args.max_tokens != "all":
        max_tokens = int(args.max_tokens)
    max_snr = ({"model": "model", "none": None}[args.max_snr]
               if args.max_snr in ("model", "none") else float(args.max_snr))

    from astropy.table import Table

    from specfm.training import SyntheticSource, load_emulator

    emulator = load_emulator(EMULATOR, where.data_dir(args.data))
    model = api.load_model(args.model, name="specfm-base")
    rows = []
    n_extrapolated = None
    # the instruments as a training source with this noise setting renders them
    instruments = SyntheticSource(EMULATOR, list(args.instruments), args.n_stars,
                                  noise=args.noise,
                                  uncertainty=args.uncertainty).make_instruments()
    # the fit weighs pixels by their true sigma (the information limit), not by sigma
    # estimated from the noisy flux: the same stars and noise, noiseless uncertainties
    true_sigma = (SyntheticSource(EMULATOR, list(args.instruments), args.n_stars,
                                  noise=args.noise, uncertainty="noiseless").make_instruments()
                  if args.fit_stars and args.uncertainty != "noiseless" else None)
    cannons = (_train_cannons(emulator, instruments, args.cannon_train)
               if args.cannon_train else {})
    for snr in args.snr:
        t0 = time.perf_counter()
        spectra, truth = render_cell(emulator, instruments, args.n_stars, args.seed, snr,
                                     **realism)
        t_render = time.perf_counter() - t0
        to_fit = spectra
        if true_sigma is not None:
            to_fit, _ = render_cell(emulator, true_sigma, args.n_stars, args.seed, snr,
                                    **realism)
        n_extrapolated = int(np.sum(truth["extrapolated"]))
        true = xpsplit.label_arrays(truth, NAMES)
        for name in args.instruments:
            t0 = time.perf_counter()
            pred = {n: [] for n in NAMES}
            for spec in spectra[name]:
                values, _ = api.predict(model, spec, NAMES, batch_size=args.batch,
                                        max_tokens=max_tokens, max_snr=max_snr)
                for n in NAMES:
                    pred[n].append(values[n])
            pred = {n: np.concatenate(v) for n, v in pred.items()}
            row = {"instrument": name, "snr": snr,
                   "n_pixels": int(spectra[name][0].flux.shape[-1]), "n": 0}
            for n in NAMES:
                m = stats.metrics(pred[n], true[n])
                row[f"{n}_bias"], row[f"{n}_sigma"] = m["bias"], m["sigma"]
                row["n"] = m["n"]
            row["predict_seconds"] = time.perf_counter() - t0
            if cannons:
                row.update(_cannon_columns(cannons[name], spectra[name], true))
            if args.fit_stars:
                row.update(_emulator_fit(to_fit[name], instruments, name, emulator, truth,
                                         pred, min(args.fit_stars, args.n_stars)))
            rows.append(row)
            print(f"S/N {snr:5.0f}  {name:9s} n={row['n']:4d}  Teff {row['teff_bias']:+7.0f} "
                  f"+- {row['teff_sigma']:5.0f} K  logg {row['logg_bias']:+.3f} +- "
                  f"{row['logg_sigma']:.3f}  [Fe/H] {row['fe_h_bias']:+.3f} +- "
                  f"{row['fe_h_sigma']:.3f}  (render {t_render:.1f} s, predict "
                  f"{row['predict_seconds']:.1f} s)", flush=True)
            if cannons:
                print(f"{'':21s}Cannon: Teff +- {row['cannon_teff_sigma']:5.0f} K  logg +- "
                      f"{row['cannon_logg_sigma']:.3f}  [Fe/H] +- "
                      f"{row['cannon_fe_h_sigma']:.3f}", flush=True)
            if args.fit_stars:
                print(f"{'':21s}emulator fit of {row['n_fit']}: Teff +- "
                      f"{row['fit_teff_sigma']:5.1f} K  logg +- {row['fit_logg_sigma']:.4f}  "
                      f"[Fe/H] +- {row['fit_fe_h_sigma']:.4f}  (specfm / fit: "
                      f"{row['teff_ratio']:.0f}, {row['logg_ratio']:.0f}, "
                      f"{row['fe_h_ratio']:.0f}; {row['fit_seconds']:.2f} s per fit)", flush=True)

    table = Table(rows=rows)
    for n in NAMES:
        for kind in ("bias", "sigma"):
            table[f"{n}_{kind}"].info.format = ".0f" if n == "teff" else ".3f"
        if cannons:
            for kind in ("bias", "sigma"):
                table[f"cannon_{n}_{kind}"].info.format = ".0f" if n == "teff" else ".3f"
        if args.fit_stars:
            table[f"fit_{n}_sigma"].info.format = ".1f" if n == "teff" else ".4f"
            table[f"{n}_ratio"].info.format = ".1f"
    table["predict_seconds"].info.format = ".1f"
    table.meta.update(writer.run_metadata(
        models={"specfm-base": args.model},
        description="Recovery of Teff, logg, [Fe/H] from held-out synthetic spectra",
        emulator=EMULATOR, corpus_seed=args.seed, n_stars=args.n_stars, noise=args.noise,
        max_tokens=args.max_tokens, max_snr=args.max_snr, uncertainty=args.uncertainty,
        model_max_snr=model.tokenizer_config.max_snr,
        n_extrapolated=n_extrapolated,
        corpus_defaults="CorpusConfig defaults (A(V) 0-2, jitter 0.05), fixed S/N",
        realism=realism, realism_of_training=as_trained,
    ))
    table.pprint(max_lines=-1, max_width=200)
    cells = [(r["instrument"], f"{r['snr']:.0f}", str(r["n"]),
              f"{writer.fmt(r['teff_bias'], '+.0f')} / {writer.fmt(r['teff_sigma'], '.0f')}",
              f"{writer.fmt(r['logg_bias'], '+.3f')} / {writer.fmt(r['logg_sigma'], '.3f')}",
              f"{writer.fmt(r['fe_h_bias'], '+.3f')} / {writer.fmt(r['fe_h_sigma'], '.3f')}")
             + ((f"{r['cannon_teff_sigma']:.0f} / {r['cannon_logg_sigma']:.3f} / "
                 f"{r['cannon_fe_h_sigma']:.3f}",) if cannons else ())
             + ((f"{r['fit_teff_sigma']:.1f} / {r['fit_logg_sigma']:.4f} / "
                 f"{r['fit_fe_h_sigma']:.4f}",
                 f"{r['teff_ratio']:.0f} / {r['logg_ratio']:.0f} / {r['fe_h_ratio']:.0f}")
                if args.fit_stars else ())
             for r in table]
    header = ("Instrument", "S/N", "N", "Teff [K]", "logg [dex]", "[Fe/H] [dex]")
    notes = ["Bias: median of predicted - true; sigma: 1.4826 x median absolute deviation. "
             "The same stars for every instrument and S/N."]
    if not as_trained:
        notes.append("Realism of the test spectra not that of the training corpora: "
                     f"radial-velocity residuals {realism['rv_residual']} km/s, continuum "
                     f"error {realism['continuum_error']}, at most "
                     f"{realism['bad_pixel_fraction']:.0%} bad pixels.")
    if cannons:
        header += ("Cannon sigma",)
        notes.append(f"Cannon: a quadratic Cannon per instrument, trained on {args.cannon_train} "
                     "spectra of the training kind (corpus seed 1, S/N 15-300); its sigma of "
                     "Teff [K] / logg / [Fe/H] on every star of the cell.")
    if args.fit_stars:
        header += ("emulator fit sigma", "specfm / fit")
        notes.append(f"Emulator fit: the first {args.fit_stars} stars of each cell fitted with "
                     "the emulator that made them (specfm.synth.fit_spectrum, pixels weighted by "
                     "the true sigma they were drawn with); its sigma of "
                     "Teff [K] / logg / [Fe/H], and specfm-base's sigma on the same stars "
                     "divided by it.")
    if args.against:
        reference = Table.read(args.against, format="ascii.ecsv")
        table.meta["against"], compared = against_notes(table, reference, args.against)
        for note in compared:
            print(note)
        notes.extend(compared)
    writer.write_results(
        table, "synthetic_recovery", args.output_dir,
        f"specfm-base on held-out synthetic spectra (Cannon coolstars, {args.n_stars} stars "
        "per cell): bias / sigma of predicted - true", header, cells, notes=notes)
    return table


def against_notes(table, reference, name):
    """How ``table``'s sigma compares with ``reference``'s on the same stars, for the rules.

    Parameters
    ----------
    table, reference : astropy.table.Table
        Results of this script: this model's, and the other model's (read from ``name``).
    name : str
        What to call the reference (its file).

    Returns
    -------
    meta : dict
        The counts of `smaller_sigma_cells`, `focus_and_elsewhere` and
        `elsewhere_and_focus`, with ``file``: for the results file's ``meta["against"]``.
    notes : list of str
        One sentence for each of the three, for the table's notes.

    """
    wins = smaller_sigma_cells(table, reference)
    focus = focus_and_elsewhere(table, reference)
    away = elsewhere_and_focus(table, reference)
    meta = {"file": name, "smaller_sigma_cells": dict(wins),
            "gaia_xp_and_elsewhere": focus, "elsewhere_and_gaia_xp": away}
    compared = wins.pop("cells")
    notes = [f"Against {name} (the same stars): sigma smaller in "
             + ", ".join(f"{n} {k} of {compared}" for n, k in wins.items()) + " cells."]
    for counts, smaller_in, ratio_in, (smaller, cells, ratio) in (
            (focus, "the Gaia XP cells", "the other cells",
             ("focus_smaller", "focus_cells", "largest_ratio_elsewhere")),
            (away, "the cells other than Gaia XP", "the Gaia XP cells",
             ("elsewhere_smaller", "elsewhere_cells", "largest_ratio_focus"))):
        notes.append(f"Sigma smaller in {smaller_in}: " + ", ".join(
            f"{n} {f[smaller]} of {f[cells]}" for n, f in counts.items())
            + f"; largest ratio to it in {ratio_in}: " + ", ".join(
            f"{n} {f[ratio]:.2f}" for n, f in counts.items()) + ".")
    return meta, notes


CANNON_SEED = 1
"""Corpus seed of the Cannon's training spectra (that of specfm-base's first source)."""


def _arrays(spec):
    """Flux and uncertainty arrays of a batch, with masked pixels' uncertainty infinite."""
    flux = np.asarray(spec.flux.value, float)
    sigma = np.asarray(spec.uncertainty.array, float).copy()
    if spec.mask is not None:
        sigma[np.asarray(spec.mask, bool)] = np.inf
    return flux, sigma


def _train_cannons(emulator, instruments, n_train):
    """Train one quadratic Cannon per instrument on spectra of the training kind."""
    import astropy.units as u
    from _cannon_baseline import QuadraticCannon
    t0 = time.perf_counter()
    spectra, truth = render_cell(emulator, instruments, n_train, CANNON_SEED, 15.0, 300.0)
    parts = {name: [_arrays(batch) for batch in batches] for name, batches in spectra.items()}
    del spectra
    known = xpsplit.label_arrays(truth, NAMES)
    labels = np.column_stack([known[n] for n in NAMES])
    cannons = {}
    for inst in instruments:
        flux = np.vstack([a[0] for a in parts[inst.name]])
        sigma = np.vstack([a[1] for a in parts[inst.name]])
        # for fluxed spectra (Gaia XP) the extinction is a fourth label, as it shapes them
        extra = [truth["av"].to_value(u.mag)] if inst.fluxed else []
        cannons[inst.name] = QuadraticCannon(np.column_stack([labels, *extra]), flux, sigma)
    print(f"Cannons trained on {n_train} spectra per instrument "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    return cannons


def _cannon_columns(cannon, batches, true):
    """The Cannon's bias and sigma on every star of a cell."""
    got = np.vstack([cannon.test(*_arrays(spec)) for spec in batches])[:, :len(NAMES)]
    out = {}
    for j, n in enumerate(NAMES):
        m = stats.metrics(got[:, j], true[n])
        out[f"cannon_{n}_bias"], out[f"cannon_{n}_sigma"] = m["bias"], m["sigma"]
    return out


def _emulator_fit(batches, instruments, name, emulator, truth, pred, n_fit):
    """Fit the first ``n_fit`` spectra of a cell with the true emulator; return columns."""
    from astropy.table import vstack

    from specfm.synth import fit_spectrum

    instrument = next(i for i in instruments if i.name == name)
    t0 = time.perf_counter()
    fits, left = [], n_fit
    for spec in batches:
        if left <= 0:
            break
        take = min(left, spec.flux.shape[0])
        fits.append(fit_spectrum(spec[:take], instrument, emulator, seed=0, progress=False))
        left -= take
    fits = vstack(fits)
    seconds = (time.perf_counter() - t0) / len(fits)
    true = xpsplit.label_arrays(truth[:len(fits)], NAMES)
    fitted = xpsplit.label_arrays(fits, NAMES)
    out = {"n_fit": len(fits), "fit_seconds": seconds}
    for n in NAMES:
        fit_sigma = stats.metrics(fitted[n], true[n])["sigma"]
        net_sigma = stats.metrics(pred[n][:len(fits)], true[n])["sigma"]
        out[f"fit_{n}_sigma"] = fit_sigma
        out[f"{n}_ratio"] = net_sigma / fit_sigma
    return out


if __name__ == "__main__":
    main()
