"""The synthetic-to-real gap: rendered Gaia XP and APOGEE spectra against real ones.

Gaia XP: real stars from ``gaia_xp_apogee/train.fits.gz`` in a few label boxes (APOGEE
labels); each is rendered with its own Teff, logg, [Fe/H] by the Cannon "coolstars"
emulator through the ``gaia_xp`` preset (noiseless), with A(V) = A_K / 0.1065 from its
APOGEE ``ak_targ`` (G23 curve: A_K/A_V = 0.1065), and without extinction for comparison.
The metric is the median over pixels of |synthetic - real| (both divided by their median),
then the median over stars. A third version fits each star's A(V) instead (the value on a
0-6 mag grid, step 0.05, that gives the smallest median |synthetic - real|): how much of the
gap is the A_K estimate rather than the emulator.

APOGEE: the two real apStar files, rendered with the Doppler labels from their headers
(``RV_TEFF``, ``RV_LOGG``, ``RV_FEH``) by the Cannon (and, for the dwarf, the per-pixel
Payne, with logg clipped into its range); real and synthetic are continuum-normalised the
same way (a cubic Chebyshev per detector through the DR17 continuum pixels), and compared
on the ASPCAP pixels that the apStar bitmask does not flag.

    PYTHONPATH=. python benchmarks/synth_vs_real.py [--data ../shared/data]
"""

import argparse
import os
from pathlib import Path

import astropy.units as u
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from astropy.io import fits
from astropy.table import Table

from specfm.synth import CannonEmulator, PixelwisePayneEmulator, get_instrument
from specfm.synth.extinction import extinction_curve, transmission
from specfm.synth.presets import APOGEE_ASPCAP_PIXELS

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
AK_OVER_AV = 0.1065  # G23, R(V)=3.1, at 2.16 micron (specfm.synth.extinction)
LOGG = u.dex(u.cm / u.s**2)
# APOGEE PIXMASK bits treated as bad (as astroNN does): BADPIX, CRPIX, SATPIX, UNFIXABLE,
# BADDARK, BADFLAT, BADERR, NOSKY, SIG_SKYLINE
BAD_PIXEL_BITS = sum(1 << b for b in (0, 1, 2, 3, 4, 5, 6, 7, 12))

XP_BOXES = [  # name, teff, logg, fe_h, half-widths
    ("red-clump giant", 4750.0, 2.45, -0.10, (75.0, 0.15, 0.10)),
    ("K giant", 4250.0, 1.70, -0.30, (75.0, 0.20, 0.10)),
    ("metal-poor giant", 4800.0, 1.90, -1.40, (150.0, 0.30, 0.25)),
    ("G dwarf", 5750.0, 4.35, 0.00, (100.0, 0.15, 0.10)),
    ("M giant", 3750.0, 0.90, -0.20, (100.0, 0.30, 0.15)),
]


def default_data():
    return Path(os.environ.get("SPECFM_DATA", "../shared/data"))


AV_GRID = np.arange(0.0, 6.0 + 1e-9, 0.05)


def fit_extinction(synth0, real, good, wave):
    """Per star, the A(V) on ``AV_GRID`` whose reddened ``synth0`` best matches ``real``.

    Returns ``(av, per_star_median_abs_diff)``; all spectra divided by their median.
    """
    screens = transmission(extinction_curve(wave), AV_GRID)  # (grid, pixels)
    av = np.zeros(len(real))
    best = np.zeros(len(real))
    for i in range(len(real)):
        model = synth0[i][None, :] * screens
        model /= np.nanmedian(np.where(good[i], model, np.nan), axis=1, keepdims=True)
        diff = np.nanmedian(np.where(good[i], np.abs(model - real[i]), np.nan), axis=1)
        k = int(np.nanargmin(diff))
        av[i], best[i] = AV_GRID[k], diff[k]
    return av, best


def labels_of(teff, logg, feh):
    return {"teff": np.atleast_1d(teff) * u.K, "logg": np.atleast_1d(logg) * LOGG,
            "fe_h": np.atleast_1d(feh) * u.dex}


def gaia_xp(data, cannon, max_stars, rng):
    table = Table.read(data / "gaia_xp_apogee" / "train.fits.gz")
    for col in ("teff", "logg", "fe_h", "ak_targ"):  # masked entries -> NaN
        table[col] = np.ma.filled(np.ma.asarray(table[col], dtype=float), np.nan)
    inst = get_instrument("gaia_xp")
    wave = inst.wavelength.to_value(u.AA)
    rows, panels = [], []
    for name, teff, logg, feh, (dt, dg, dm) in XP_BOXES:
        sel = ((np.abs(table["teff"] - teff) < dt) & (np.abs(table["logg"] - logg) < dg)
               & (np.abs(table["fe_h"] - feh) < dm) & np.isfinite(table["ak_targ"]))
        idx = np.nonzero(np.asarray(sel))[0]
        if idx.size > max_stars:
            idx = np.sort(rng.choice(idx, max_stars, replace=False))
        sub = table[idx]
        real = np.asarray(sub["flux"], dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel_err = np.asarray(sub["flux_error"], dtype=float) / np.abs(real)
        lab = labels_of(sub["teff"], np.clip(sub["logg"], 0, 5), sub["fe_h"])
        av = np.clip(np.asarray(sub["ak_targ"], float), 0, None) / AK_OVER_AV
        synth = inst.render(cannon, lab, av=av, noise=False, extrapolate="flag")
        synth0 = inst.render(cannon, lab, av=0.0, noise=False, extrapolate="flag")
        good = ~synth.mask & np.isfinite(real)
        diff = np.where(good, np.abs(synth.flux.value - real), np.nan)
        diff0 = np.where(good, np.abs(synth0.flux.value - real), np.nan)
        per_star = np.nanmedian(diff, axis=1)
        av_fit, per_star_fit = fit_extinction(synth0.flux.value, real, good, wave)
        rows.append(dict(comparison=f"gaia_xp: {name}", n_stars=len(sub),
                         teff=float(np.median(sub["teff"])), logg=float(np.median(sub["logg"])),
                         fe_h=float(np.median(sub["fe_h"])), av_median=float(np.median(av)),
                         median_abs_diff=float(np.median(per_star)),
                         median_abs_diff_no_extinction=float(np.median(np.nanmedian(diff0, 1))),
                         median_abs_diff_fitted_av=float(np.median(per_star_fit)),
                         av_fitted_median=float(np.median(av_fit)),
                         p90_abs_diff=float(np.percentile(per_star, 90)),
                         real_noise_median=float(np.nanmedian(rel_err))))
        panels.append((name, len(sub), real, synth.flux.value, synth0.flux.value,
                       rows[-1]["median_abs_diff"]))
    fig, axes = plt.subplots(2, len(panels), figsize=(4 * len(panels), 5.5), sharex=True,
                             gridspec_kw={"height_ratios": [3, 1]})
    for k, (name, n, real, synth, synth0, mad) in enumerate(panels):
        ax, rax = axes[0, k], axes[1, k]
        lo, med, hi = np.nanpercentile(real, [16, 50, 84], axis=0)
        ax.fill_between(wave, lo, hi, color="0.8", label="real 16-84%")
        ax.plot(wave, med, "k", lw=1.2, label=f"real median ({n} stars)")
        ax.plot(wave, np.median(synth, axis=0), "C3", lw=1.2, label="synthetic, with A(V)")
        ax.plot(wave, np.median(synth0, axis=0), "C0--", lw=0.8, label="synthetic, A(V)=0")
        ax.set_title(f"{name}\nmedian |diff| = {mad:.3f}", fontsize=9)
        rax.plot(wave, np.median(synth, axis=0) - med, "C3", lw=1)
        rax.axhline(0, color="k", lw=0.5)
        rax.set_xlabel("wavelength [A]")
        if k == 0:
            ax.set_ylabel("flux / median")
            rax.set_ylabel("synth - real")
            ax.legend(fontsize=7)
    fig.suptitle("Gaia XP: Cannon + specfm.synth gaia_xp preset vs real spectra "
                 "(APOGEE labels)", fontsize=10)
    fig.tight_layout()
    return rows, fig


def continuum_normalise(wave, flux, ivar, contmask_7514, chips=APOGEE_ASPCAP_PIXELS):
    """Divide by a cubic Chebyshev per chip fitted to the DR17 continuum pixels."""
    out = np.full_like(flux, np.nan)
    offset = 0
    for a, b in chips:
        n = b - a
        cont = contmask_7514[offset:offset + n]
        offset += n
        w, f, iv = wave[a:b], flux[a:b], ivar[a:b]
        use = cont & np.isfinite(f) & (iv > 0)
        x = (w - w.mean()) / (w.max() - w.min()) * 2
        coef = np.polynomial.chebyshev.chebfit(x[use], f[use], 3, w=np.sqrt(iv[use]))
        out[a:b] = f / np.polynomial.chebyshev.chebval(x, coef)
    return out


def apogee(data, cannon, payne):
    inst = get_instrument("apogee")
    wave = inst.wavelength.to_value(u.AA)
    contmask = np.load(data / "apogee" / "dr17_contmask_7514.npy", allow_pickle=False)
    aspcap = np.zeros(wave.size, bool)
    for a, b in APOGEE_ASPCAP_PIXELS:
        aspcap[a:b] = True
    rows, panels = [], []
    for path in sorted((data / "real_spectra").glob("apStar-*.fits")):
        with fits.open(path) as hdul:
            head = hdul[0].header
            flux = np.asarray(hdul[1].data[0], float)
            err = np.asarray(hdul[2].data[0], float)
            bits = np.asarray(hdul[3].data[0], np.int64)
        bad = (bits & BAD_PIXEL_BITS) != 0
        with np.errstate(divide="ignore", invalid="ignore"):
            ivar = np.where(np.isfinite(err) & (err > 0) & ~bad, 1 / err**2, 0.0)
        real = continuum_normalise(wave, flux, ivar, contmask)
        teff, logg, feh = head["RV_TEFF"], head["RV_LOGG"], head["RV_FEH"]
        star = path.stem.replace("apStar-dr17-", "")
        models = [("cannon_coolstars", cannon, labels_of(teff, logg, feh))]
        if 4200 <= teff <= 7000 and logg >= 3.8:
            lab = labels_of(teff, min(logg, 4.98), feh)
            lab.update({"mg_fe": [0.0] * u.dex, "vmacro": [5.0] * u.km / u.s})
            models.append(("payne_pixelwise_apogee (logg clipped to 4.98)", payne, lab))
        for model_name, em, lab in models:
            spec = inst.render(em, lab, noise=False, extrapolate="flag")
            s = spec.flux.value[0]
            synth = continuum_normalise(wave, s, np.where(spec.mask[0], 0.0, 1.0), contmask)
            good = aspcap & ~spec.mask[0] & np.isfinite(real) & (ivar > 0)
            mad = float(np.median(np.abs(synth[good] - real[good])))
            noise = float(np.median(np.sqrt(1 / ivar[good]) / np.abs(flux[good])))
            rows.append(dict(comparison=f"apogee: {star} vs {model_name}", n_stars=1,
                             teff=float(teff), logg=float(logg), fe_h=float(feh),
                             av_median=np.nan, median_abs_diff=mad,
                             median_abs_diff_no_extinction=np.nan,
                             p90_abs_diff=float(np.percentile(np.abs(synth[good] - real[good]),
                                                              90)),
                             real_noise_median=noise))
            panels.append((star, model_name, real, synth, good, mad, teff, logg, feh))
    windows = [(15310.0, 15420.0), (16150.0, 16260.0)]
    fig, axes = plt.subplots(len(panels), 2, figsize=(12, 2.6 * len(panels)), squeeze=False)
    for k, (star, model_name, real, synth, good, mad, teff, logg, feh) in enumerate(panels):
        for j, (lo, hi) in enumerate(windows):
            ax = axes[k, j]
            sel = (wave > lo) & (wave < hi)
            ax.plot(wave[sel], np.where(good, real, np.nan)[sel], "k", lw=0.8, label="real apStar")
            ax.plot(wave[sel], synth[sel], "C3", lw=0.8, label=model_name.split(" ")[0])
            ax.set_ylim(0.4, 1.15)
            if j == 0:
                ax.set_title(f"{star}: Teff {teff:.0f}, logg {logg:.2f}, [Fe/H] {feh:.2f}; "
                             f"median |diff| {mad:.3f}", fontsize=8, loc="left")
                ax.legend(fontsize=7, loc="lower left")
    for ax in axes[-1]:
        ax.set_xlabel("vacuum wavelength [A]")
    fig.suptitle("APOGEE: specfm.synth renderings vs real apStar (both continuum-normalised)",
                 fontsize=10)
    fig.tight_layout()
    return rows, fig


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--max-stars", type=int, default=300, help="real XP stars per box")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    if not (args.data / "emulators").is_dir():
        parser.error(f"{args.data} has no emulators/: pass --data or set SPECFM_DATA")
    args.out.mkdir(parents=True, exist_ok=True)
    cannon = CannonEmulator.from_npz(args.data / "emulators" / "cannon_cubic_coolstars.npz")
    payne = PixelwisePayneEmulator.from_npz(
        args.data / "emulators" / "payne_pixelwise_apogee_dwarfs.npz",
        args.data / "apogee" / "payne_wavelength_7214.npz")
    rng = np.random.default_rng(args.seed)
    xp_rows, xp_fig = gaia_xp(args.data, cannon, args.max_stars, rng)
    xp_fig.savefig(args.out / "synth_vs_real_gaia_xp.png", dpi=110)
    ap_rows, ap_fig = apogee(args.data, cannon, payne)
    ap_fig.savefig(args.out / "synth_vs_real_apogee.png", dpi=110)
    names = ["comparison", "n_stars", "teff", "logg", "fe_h", "av_median", "av_fitted_median",
             "median_abs_diff", "median_abs_diff_no_extinction", "median_abs_diff_fitted_av",
             "p90_abs_diff", "real_noise_median"]
    rows = [{k: r.get(k, np.nan) for k in names} for r in xp_rows + ap_rows]
    table = Table(rows=[[r[k] for k in names] for r in rows], names=names)
    for col in names[2:]:
        table[col].format = ".3f"
    table["teff"].format = ".0f"
    table.meta = {"description": "median |synthetic - real| flux (XP: flux/median; "
                                "APOGEE: continuum-normalised), noiseless renderings"}
    table.write(args.out / "synth_vs_real.ecsv", overwrite=True)
    table.pprint(max_width=200, max_lines=-1)
    with open(args.out / "synth_vs_real.rst", "w") as f:
        cells = [("Comparison", "Stars", "Teff", "logg", "[Fe/H]", "Median abs diff",
                  "Same, A(V) = 0", "Same, A(V) fitted", "A(V) from A_K", "A(V) fitted",
                  "Real noise")]

        def fmt(value):
            return "" if not np.isfinite(value) else f"{value:.3f}"

        for r in table:
            cells.append((r["comparison"], str(r["n_stars"]), f"{r['teff']:.0f}",
                          f"{r['logg']:.2f}", f"{r['fe_h']:.2f}", fmt(r["median_abs_diff"]),
                          fmt(r["median_abs_diff_no_extinction"]),
                          fmt(r["median_abs_diff_fitted_av"]), fmt(r["av_median"]),
                          fmt(r["av_fitted_median"]), fmt(r["real_noise_median"])))
        widths = [max(len(c[i]) for c in cells) for i in range(len(cells[0]))]
        rule = "   " + "  ".join("=" * w for w in widths)
        f.write(".. table:: Synthetic-to-real gap: median absolute flux difference (XP: "
                "median over stars; A(V) fitted: the best A(V) per star on a 0-6 mag grid); "
                "real noise: median relative uncertainty of the real spectra\n\n")
        f.write(rule + "\n")
        for k, c in enumerate(cells):
            f.write("   " + "  ".join(x.ljust(w) for x, w in zip(c, widths, strict=True))
                    .rstrip() + "\n")
            if k == 0:
                f.write(rule + "\n")
        f.write(rule + "\n")
    print(f"wrote {args.out}/synth_vs_real.ecsv and synth_vs_real_*.png")


if __name__ == "__main__":
    main()
