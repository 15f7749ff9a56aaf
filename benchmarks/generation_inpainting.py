"""How well do the shipped models write spectra from labels and fill gaps in them?

Two parts, each reported as the median absolute error of the normalised flux (the scale
`specfm.inference.Model.normalise` shows; continuum = 1) over the pixels concerned, next to
a baseline a person could use without the model:

``synthetic`` (``specfm-base``, APOGEE preset)
    Held-out stars of the Cannon "coolstars" emulator (corpus seed 999000001, as in
    ``synthetic_recovery.py``), rendered through the APOGEE preset at S/N 1000, so the
    reference is nearly noiseless. *Generation*: ``model.generate`` from the true Teff,
    logg and [Fe/H] on the APOGEE grid, against the rendered spectrum; baseline: the mean
    spectrum of the same stars. *In-painting*: for each star, one random 30 A region is
    hidden (`~specfm.inference.Model.inpaint` with ``regions=``); baseline: linear
    interpolation across the gap.
``xp`` (``specfm-xp``, real Gaia XP)
    Stars of our validation split of the XP table (never trained on). *Generation* from
    the APOGEE labels (Teff, logg, [Fe/H], [alpha/M]) and the 7 colours; baseline: the
    mean validation spectrum. *In-painting*: a random block of 10% of the pixels (about
    680 A) hidden per star; baseline: linear interpolation.

Each in-painting is run twice on the same gaps: as ``Model.inpaint`` does by default, and
with ``anchor_pixels`` (``--anchor-pixels``, 3 by default): that many known pixels on
each side of the gap also hidden and predicted, and the difference interpolated across the
gap added to its prediction. The filled flux is compared with the spectrum as
``Model.normalise`` shows it, the scale ``Model.inpaint`` returns.

Each star's error is written too (``generation_inpainting_stars.ecsv``: part, task, star,
the start of its gap, its error). ``--against`` an earlier run's star file (the same
stars and gaps: the same ``--n-stars`` and ``--parts``) compares the two models star by
star: the difference of the medians with a paired bootstrap interval (stars drawn with
replacement, the same draw for both), written to ``generation_inpainting_against``. A
median of 100 stars moves by some per cent with the stars drawn; the paired interval says
whether a difference is more than that.

Usage::

    python benchmarks/generation_inpainting.py                # both parts
    python benchmarks/generation_inpainting.py --parts xp --n-stars 50
    python benchmarks/generation_inpainting.py --base runs/NEW/model --parts synthetic \
        --anchor-pixels 0 --output-dir DIR \
        --against benchmarks/results/generation_inpainting_stars.ecsv

Writes ``benchmarks/results/generation_inpainting.ecsv``, ``.rst`` and ``.png``,
``generation_inpainting_stars.ecsv`` and, with ``--against``,
``generation_inpainting_against.ecsv`` and ``.rst``.
"""

import argparse
import pathlib
import warnings

import _metrics as stats
import _paths as where
import _through_api as api
import _writing as writer
import _xp_split as xpsplit
import numpy as np

__all__ = ["main"]

SEED = 999_000_001


def mae(a, b):
    d = np.abs(np.asarray(a) - np.asarray(b))
    return float(np.nanmedian(d)) if np.isfinite(d).any() else np.nan


def normalised(model, spectra):
    out = model.normalise(spectra)
    return out if isinstance(out, list) else [out]


def interpolate_gap(wave, flux, hole):
    keep = ~hole & np.isfinite(flux)
    return np.interp(wave[hole], wave[keep], flux[keep])


def inpaint_errors(model, spectra, refs, regions, inputs=None, anchors=(0,)):
    """Per-star model MAE over the hidden pixels for each number of anchor pixels
    (``{anchor_pixels: array}``), and the linear interpolation's."""
    err_model, err_interp = {k: [] for k in anchors}, []
    for i, (spec, ref, region) in enumerate(zip(spectra, refs, regions, strict=True)):
        one = None
        if inputs is not None:
            one = {k: v[i:i + 1] for k, v in inputs.items()}
        wave = ref.spectral_axis.value
        truth = np.where(ref.mask, np.nan, ref.flux.value)
        for k in anchors:
            filled = model.inpaint(spec, regions=region, inputs=one, fill_masked=False,
                                   anchor_pixels=k)
            hole = filled.meta["inpainted"]
            err_model[k].append(mae(filled.flux.value[hole], truth[hole]))
        err_interp.append(mae(interpolate_gap(wave, truth, hole), truth[hole]))
    return {k: np.array(v) for k, v in err_model.items()}, np.array(err_interp)


def inpainting_rows(part, task, errors, interp, regions):
    """One table row per number of anchor pixels (each with its per-star errors)."""
    starts = np.array([region[0].value for region in regions])
    return [{"part": part, "task": task if k == 0 else f"{task}, {k} anchor pixels",
             "anchor_pixels": k, "n": len(err), "model_mae": np.nanmedian(err),
             "baseline": "linear interpolation", "baseline_mae": np.nanmedian(interp),
             "errors": np.asarray(err), "gap_start": starts}
            for k, err in errors.items()]


def generation_row(part, errors, baseline_errors):
    """The generation row (with its per-star errors)."""
    return {"part": part, "task": "generation", "anchor_pixels": 0, "n": len(errors),
            "model_mae": np.median(errors), "baseline": "mean spectrum",
            "baseline_mae": np.median(baseline_errors), "errors": np.asarray(errors),
            "gap_start": np.full(len(errors), np.nan)}


def star_table(rows):
    """Each star's error of each row, in one long table (part, task, star, gap_start,
    model_error)."""
    from astropy.table import Table

    cols = {"part": [], "task": [], "star": [], "gap_start": [], "model_error": []}
    for r in rows:
        cols["part"] += [r["part"]] * r["n"]
        cols["task"] += [r["task"]] * r["n"]
        cols["star"] += list(range(r["n"]))
        cols["gap_start"] += list(r["gap_start"])
        cols["model_error"] += list(r["errors"])
    table = Table(cols)
    table["gap_start"].unit = "Angstrom"
    return table


def compare_stars(new, old):
    """Paired comparison of two runs' star tables, task by task (`star_table`).

    Tasks in only one of them are left out. Raises `SystemExit` where a task's stars or
    gaps differ, since a paired comparison then means nothing.
    """
    rows = []
    for part, task in dict.fromkeys(zip(new["part"], new["task"], strict=True)):
        a = new[(new["part"] == part) & (new["task"] == task)]
        b = old[(old["part"] == part) & (old["task"] == task)]
        if len(b) == 0:
            continue
        same = len(a) == len(b) and np.array_equal(a["star"], b["star"]) and np.allclose(
            np.asarray(a["gap_start"], float), np.asarray(b["gap_start"], float),
            rtol=0, atol=1e-6, equal_nan=True)
        if not same:
            raise SystemExit(
                f"--against: {part}, {task}: the two runs did not use the same stars and "
                f"gaps ({len(a)} and {len(b)} stars); run both with the same --n-stars "
                "and --parts")
        out = stats.paired_median_difference(a["model_error"], b["model_error"])
        rows.append({"part": part, "task": task, "n": out["n"],
                     "model_mae": float(np.nanmedian(a["model_error"])),
                     "against_mae": float(np.nanmedian(b["model_error"])),
                     "difference": out["difference"], "low": out["low"], "high": out["high"],
                     "share_better": out["a_better"]})
    return rows


def part_synthetic(args, rng):
    import astropy.units as u

    from specfm.synth import CorpusConfig, get_instrument, iter_corpus
    from specfm.training import load_emulator

    model = api.load_model(args.base, name="specfm-base")
    emulator = load_emulator("cannon_coolstars", where.data_dir(args.data))
    apogee = get_instrument("apogee", uncertainty=args.uncertainty)
    corpus = CorpusConfig(instruments=(apogee,), n_spectra=args.n_stars, seed=SEED,
                          snr_range=(1000.0, 1000.0), shard_size=args.n_stars,
                          batch_size=min(64, args.n_stars), bad_pixel_fraction=0.0)
    spectra, truth = [], []
    for batch, table in iter_corpus(emulator, corpus):
        spec = batch["apogee"]
        spectra += [spec[i] for i in range(spec.flux.shape[0])]
        truth.append(table)
    from astropy.table import vstack

    truth = xpsplit.label_arrays(vstack(truth), ("teff", "logg", "fe_h"))
    refs = normalised(model, spectra)
    ref_flux = np.array([np.where(r.mask, np.nan, r.flux.value) for r in refs])
    mean_flux = np.nanmean(ref_flux, axis=0)
    gen_err, base_err = [], []
    for i, ref in enumerate(refs):
        labels = {"teff": truth["teff"][i] * u.K,
                  "logg": truth["logg"][i] * u.dex(u.cm / u.s**2),
                  "fe_h": truth["fe_h"][i] * u.dex}
        ok = ~ref.mask
        gen = model.generate(labels, ref.spectral_axis[ok])
        gen_err.append(mae(gen.flux.value, ref_flux[i][ok]))
        base_err.append(mae(mean_flux[ok], ref_flux[i][ok]))
    regions = []
    for ref in refs:
        wave = ref.spectral_axis.value[~ref.mask]
        lo = rng.uniform(wave.min() + 50, wave.max() - 80)
        regions.append([lo, lo + 30.0] * u.AA)
    inp, interp = inpaint_errors(model, spectra, refs, regions, anchors=args.anchors)
    part = "synthetic APOGEE (specfm-base)"
    return [generation_row(part, gen_err, base_err),
            *inpainting_rows(part, "in-painting 30 A", inp, interp, regions)], None


def part_xp(args, rng):
    import astropy.units as u

    model = api.load_model(args.xp, name="specfm-xp")
    path = where.xp_path(args.data)
    _, val = xpsplit.xp_split(path)
    rows = xpsplit.subsample(val, args.n_stars, seed=1)
    xp = xpsplit.read_xp(path, rows)
    names = [n for n in xpsplit.LABELS if n in xp.labels.colnames]
    known = np.all([~np.ma.getmaskarray(xp.labels[n]) for n in names], axis=0)
    spectra = [xp.spectra[int(i)] for i in np.nonzero(known)[0]]
    labels = xp.labels[known]
    colours = xp.colours[known]
    refs = normalised(model, spectra)
    ref_flux = np.array([np.where(r.mask, np.nan, r.flux.value) for r in refs])
    mean_flux = np.nanmean(ref_flux, axis=0)
    inputs = {n: colours[n] for n in xpsplit.COLOURS if n in colours.colnames}
    gen_err, base_err, example = [], [], None
    for i, ref in enumerate(refs):
        given = {n: labels[n][i] for n in names}
        given.update({n: v[i] for n, v in inputs.items()})
        ok = ~ref.mask
        gen = model.generate(given, ref.spectral_axis[ok])
        gen_err.append(mae(gen.flux.value, ref_flux[i][ok]))
        base_err.append(mae(mean_flux[ok], ref_flux[i][ok]))
        if example is None:
            example = (ref, gen)
    regions = []
    for ref in refs:
        wave = ref.spectral_axis.value[~ref.mask]
        width = 0.1 * (wave.max() - wave.min())
        lo = rng.uniform(wave.min() + 20, wave.max() - width - 20)
        regions.append([lo, lo + width] * u.AA)
    inp, interp = inpaint_errors(model, spectra, refs, regions, inputs=inputs,
                                 anchors=args.anchors)
    part = "real Gaia XP (specfm-xp)"
    return [generation_row(part, gen_err, base_err),
            *inpainting_rows(part, "in-painting 10% block", inp, interp, regions)], example


def write_comparison(stars, args):
    """Compare ``stars`` with ``--against``'s, print it and write
    ``generation_inpainting_against``."""
    from astropy.table import Table

    rows = compare_stars(stars, Table.read(args.against))
    if not rows:
        raise SystemExit(f"--against {args.against}: no task in common with this run")
    table = Table(rows=rows)
    table.meta.update(stars.meta, against=str(args.against))
    cells = []
    for r in rows:
        pct = {k: 100 * r[k] / r["against_mae"] for k in ("difference", "low", "high")}
        print(f"{r['part']:32s} {r['task']:38s} {r['model_mae']:.5f} against "
              f"{r['against_mae']:.5f}: {pct['difference']:+.1f}% "
              f"[{pct['low']:+.1f}%, {pct['high']:+.1f}%]", flush=True)
        cells.append((r["part"], r["task"], str(r["n"]), f"{r['model_mae']:.5f}",
                      f"{r['against_mae']:.5f}", f"{pct['difference']:+.1f}%",
                      f"[{pct['low']:+.1f}%, {pct['high']:+.1f}%]",
                      f"{r['share_better']:.0%}"))
    writer.write_results(
        table, "generation_inpainting_against", args.output_dir,
        "Flux errors against an earlier run on the same stars and gaps (median over stars)",
        ("Data (model)", "Task", "N", "This run", "Earlier run", "Difference",
         "95% interval", "Resamples better"), cells,
        notes=(f"Earlier run: {args.against}. Difference: this run's median less the earlier "
               "run's, in per cent of the earlier run's; interval: the central 95% of the "
               "differences over 2,000 paired bootstrap resamples of the stars (the same "
               "draw for both runs: star sample noise only); resamples better: the share "
               "in which this run's median is the smaller.",))
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=str(where.MODELS / "specfm-base"))
    parser.add_argument("--xp", default=str(where.MODELS / "specfm-xp"))
    parser.add_argument("--parts", nargs="+", default=["synthetic", "xp"],
                        choices=["synthetic", "xp"])
    parser.add_argument("--n-stars", type=int, default=100)
    parser.add_argument("--uncertainty", choices=("observed", "noiseless"), default="observed",
                        help="synthetic spectra's uncertainties: from the noisy flux "
                             "(default) or from the noiseless spectrum (the renders of "
                             "before 2026-12-07, which leak it)")
    parser.add_argument("--anchor-pixels", type=int, default=3,
                        help="in-paint a second time with this many anchor pixels on each "
                             "side of the gap (0: only once, without)")
    parser.add_argument("--against", default=None,
                        help="an earlier run's generation_inpainting_stars.ecsv (the same "
                             "stars and gaps): compare star by star")
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    if args.against and not pathlib.Path(args.against).is_file():
        parser.error(f"--against {args.against}: no such file (give an earlier run's "
                     "generation_inpainting_stars.ecsv)")
    args.anchors = (0, args.anchor_pixels) if args.anchor_pixels else (0,)
    where.light_torch(args.threads)
    from astropy.table import Table

    rng = np.random.default_rng(0)
    rows, example = [], None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # coverage warnings of real spectra: expected
        if "synthetic" in args.parts:
            rows += part_synthetic(args, rng)[0]
        if "xp" in args.parts:
            part, example = part_xp(args, rng)
            rows += part
    for r in rows:
        print(f"{r['part']:32s} {r['task']:38s} n={r['n']:4d}  model {r['model_mae']:.4f}  "
              f"{r['baseline']} {r['baseline_mae']:.4f}", flush=True)
    stars = star_table(rows)
    table = Table(rows=[{k: v for k, v in r.items() if k not in ("errors", "gap_start")}
                        for r in rows])
    table["model_mae"].info.format = table["baseline_mae"].info.format = ".4f"
    models = {}
    if "synthetic" in args.parts:
        models["specfm-base"] = args.base
    if "xp" in args.parts:
        models["specfm-xp"] = args.xp
    table.meta.update(writer.run_metadata(models=models, n_stars=args.n_stars, corpus_seed=SEED,
                                          anchor_pixels=args.anchor_pixels,
                                          uncertainty=args.uncertainty))
    cells = [(r["part"], r["task"], str(r["n"]), f"{r['model_mae']:.4f}", r["baseline"],
              f"{r['baseline_mae']:.4f}") for r in table]
    writer.write_results(
        table, "generation_inpainting", args.output_dir,
        "Generated and in-painted flux: median absolute error (normalised flux)",
        ("Data (model)", "Task", "N", "Model", "Baseline", "Baseline error"), cells,
        notes=("Errors: median over stars of the median absolute difference over the "
               "pixels concerned, in normalised flux (continuum or median = 1), on the "
               "scale Model.normalise gives the whole spectrum. Anchor pixels: known pixels "
               "on each side of the gap, also hidden and predicted; their mean difference "
               "from the prediction, interpolated across the gap, is added to it "
               "(Model.inpaint's anchor_pixels).",))
    stars.meta.update(table.meta)
    stars.write(pathlib.Path(args.output_dir) / "generation_inpainting_stars.ecsv",
                overwrite=True)
    if args.against:
        write_comparison(stars, args)
    if example is not None:
        import matplotlib

        matplotlib.use("Agg")
        import specfm

        ax = specfm.plot_spectrum(example[0], example[1], labels=("Gaia XP", "generated"))
        ax.set_title("specfm-xp: a validation star and the spectrum generated from its "
                     "APOGEE labels and colours", fontsize="small")
        ax.figure.savefig(f"{args.output_dir}/generation_inpainting.png", dpi=110,
                          bbox_inches="tight")
    return table


if __name__ == "__main__":
    main()
