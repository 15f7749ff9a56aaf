"""Does the [Fe/H] attention of the APOGEE-range model fall on iron lines?

For each APOGEE spectrum, `specfm.inference.Model.attention` gives the weight each pixel gets
from a label's query (rollout through the latents; chunks of at most 512 pixels averaged).
We sum the weight that falls inside the ASPCAP DR17 element windows of the element
(`specfm.data.strong_lines`, made from ``../shared/data/apogee/``), as a fraction of the
weight on pixels, and compare it with two random-wavelength baselines:

* ``uniform``: the fraction of the spectrum's pixels inside the windows (what attention
  spread evenly would give);
* ``shifted``: the same windows moved by a random offset of 20-200 Angstrom either way
  (200 draws per spectrum): windows of the same sizes, at wavelengths with no
  particular line of that element. Mean and standard deviation over draws.

Spectra: held-out synthetic APOGEE spectra (Cannon "coolstars" emulator through the APOGEE
preset, S/N 100, corpus seed 999000001 as in ``synthetic_recovery.py``) and the four real
APOGEE files in ``../shared/data/real_spectra`` (two apStar, two apVisit). Pairs: fe_h on
Fe windows, mg_fe on Mg windows, and teff on Fe windows (a label with no reason to prefer
iron).

Usage::

    python benchmarks/attention_lines.py                 # specfm-base, 40 synthetic stars
    python benchmarks/attention_lines.py --n-stars 5

Writes ``benchmarks/results/attention_lines.ecsv``, ``.rst`` and ``attention_fe_h.png``.
"""

import argparse

import _paths as where
import _through_api as api
import _writing as writer
import numpy as np

__all__ = ["main"]

PAIRS = (("fe_h", "Fe"), ("mg_fe", "Mg"), ("teff", "Fe"))
REAL = (("apStar-dr17-2M17335483-2753043.fits", "APOGEE apStar"),
        ("apStar-dr17-2M19485057+5005279.fits", "APOGEE apStar"),
        ("apVisit-r13-5095-55844-128.fits", "APOGEE apVisit"),
        ("apVisit-r13-9518-57729-104.fits", "APOGEE apVisit"))
SEED = 999_000_001
N_SHIFTS = 200


def windows(element):
    """``(n, 2)`` vacuum-Angstrom ASPCAP windows of an element."""
    from specfm.data import strong_lines

    lines = strong_lines(element)
    lines = lines[lines["source"] == "ASPCAP DR17 window"]
    lo, hi = lines["window_low"].value, lines["window_high"].value
    # a window one pixel wide has lo == hi: widen by half an APOGEE pixel each side
    half = 0.5 * 6e-6 * np.log(10) * lo
    return np.column_stack([lo - half, hi + half])


def inside(wave, wins):
    w = np.asarray(wave)[:, None]
    return np.any((w >= wins[None, :, 0]) & (w <= wins[None, :, 1]), axis=1)


def fractions(wave, weight, wins, rng):
    """Attention fraction in windows, the uniform baseline, shifted mean and std."""
    total = weight.sum()
    frac = weight[inside(wave, wins)].sum() / total
    uniform = inside(wave, wins).mean()
    shifts = rng.uniform(20, 200, N_SHIFTS) * rng.choice([-1, 1], N_SHIFTS)
    shifted = np.array([weight[inside(wave, wins + d)].sum() / total for d in shifts])
    return frac, uniform, shifted.mean(), shifted.std()


def synthetic_spectra(data, n_stars):
    from specfm.synth import CorpusConfig, iter_corpus
    from specfm.training import load_emulator

    emulator = load_emulator("cannon_coolstars", where.data_dir(data))
    corpus = CorpusConfig(instruments=("apogee",), n_spectra=n_stars, seed=SEED,
                          snr_range=(100.0, 100.0), shard_size=n_stars,
                          batch_size=min(64, n_stars))
    out = []
    for batch, _ in iter_corpus(emulator, corpus):
        spec = batch["apogee"]
        out += [spec[i] for i in range(spec.flux.shape[0])]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(where.MODELS / "specfm-base"),
                        help="model folder (default: the shipped specfm-base)")
    parser.add_argument("--n-stars", type=int, default=40, help="synthetic spectra")
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    where.light_torch(args.threads)

    from astropy.table import Table
    from specutils import Spectrum

    model = api.load_model(args.model, name="specfm-base")
    data = where.data_dir(args.data)
    sets = {"synthetic (S/N 100)": synthetic_spectra(args.data, args.n_stars)}
    sets["real APOGEE files"] = [Spectrum.read(data / "real_spectra" / name, format=fmt)
                                 for name, fmt in REAL]
    wins = {el: windows(el) for _, el in PAIRS}
    labels = [lab for lab, _ in PAIRS]
    rng = np.random.default_rng(0)
    rows, example = [], None
    for set_name, spectra in sets.items():
        per = {pair: [] for pair in PAIRS}
        for spec in spectra:
            table = model.attention(spec, label=labels)
            wave = table["wavelength"].value
            if example is None and set_name.startswith("real"):
                example = table
            for lab, el in PAIRS:
                per[(lab, el)].append(fractions(wave, table[lab].value, wins[el], rng))
        for lab, el in PAIRS:
            f = np.array(per[(lab, el)])
            rows.append({"spectra": set_name, "n": len(f), "label": lab, "windows": el,
                         "attention_in_windows": f[:, 0].mean(),
                         "uniform_baseline": f[:, 1].mean(),
                         "shifted_baseline": f[:, 2].mean(),
                         "shifted_std": np.sqrt(np.mean(f[:, 3] ** 2)),
                         "enrichment": f[:, 0].mean() / f[:, 1].mean()})
            r = rows[-1]
            print(f"{set_name:22s} {lab:6s} on {el:2s} windows: {r['attention_in_windows']:.3f}"
                  f"  uniform {r['uniform_baseline']:.3f}  shifted {r['shifted_baseline']:.3f}"
                  f" +- {r['shifted_std']:.3f}  x{r['enrichment']:.2f}", flush=True)
    table = Table(rows=rows)
    for name in ("attention_in_windows", "uniform_baseline", "shifted_baseline",
                 "shifted_std", "enrichment"):
        table[name].info.format = ".3f"
    table.meta.update(writer.run_metadata(
        models={"specfm-base": args.model}, n_stars=args.n_stars, corpus_seed=SEED,
        n_shifts=N_SHIFTS, description="Fraction of label attention inside ASPCAP element "
        "windows vs random-wavelength baselines"))
    cells = [(r["spectra"], str(r["n"]), r["label"], r["windows"],
              f"{r['attention_in_windows']:.3f}", f"{r['uniform_baseline']:.3f}",
              f"{r['shifted_baseline']:.3f} +- {r['shifted_std']:.3f}",
              f"{r['enrichment']:.2f}") for r in table]
    writer.write_results(
        table, "attention_lines", args.output_dir,
        "Share of each label's attention inside ASPCAP element windows, against "
        "random-wavelength baselines",
        ("Spectra", "N", "Label", "Windows", "Attention in windows", "Uniform",
         "Shifted windows", "Enrichment"), cells,
        notes=("Uniform: fraction of pixels inside the windows. Shifted: the same windows "
               f"moved by 20-200 A ({N_SHIFTS} draws per spectrum; mean +- rms std). "
               "Enrichment: attention in windows / uniform.",))
    if example is not None:
        import matplotlib

        matplotlib.use("Agg")
        import astropy.units as u

        import specfm

        ax = specfm.plot_attention(example, label="fe_h", smooth=3)
        ax.set_xlim(15150, 15450)
        region = example[(example["wavelength"] > 15150 * u.AA)
                         & (example["wavelength"] < 15450 * u.AA)]
        ax.attention_axes.set_ylim(0, 1.1 * np.max(np.convolve(
            region["fe_h"].value, np.ones(3) / 3, mode="same")))
        ax.figure.savefig(f"{args.output_dir}/attention_fe_h.png", dpi=110,
                          bbox_inches="tight")
    return table


if __name__ == "__main__":
    main()
