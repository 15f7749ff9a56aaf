"""How much of the synthetic-to-real gap on Gaia XP sits in the uncertainty tokens.

A model pre-trained on synthetic spectra reads each pixel's uncertainty as a token. The
synthetic spectra of ``specfm-base`` v1 to v4 had uncertainties computed from the
noiseless spectrum (photon noise times the ``gaia_xp`` noise shape: a noiseless copy of the
flux; see the synthetic spectra page, ``uncertainty_leak``), which real Gaia XP
uncertainties (propagated from the coefficients' covariance) are not. This asks a model
(by default the shipped ``specfm-base``, no fine-tuning, no colours) for Teff, log g and
[Fe/H] of the real validation spectra of the Gaia XP / APOGEE table twice: with their own
uncertainties, and with the uncertainties that the ``gaia_xp`` noise model gives for their
observed flux at their own median S/N (`specfm.synth.NoiseModel.sigma`). The flux is the
same; only the uncertainty tokens differ. Also reported: the median and 16-84% range of
real / model uncertainty over all pixels.

Usage::

    python benchmarks/hundred_stars.py uncertainty-gap       # the shipped specfm-base

Writes ``benchmarks/results/xp_uncertainty_gap.ecsv`` and ``.rst`` (``--name``).
"""

import argparse

import _metrics as stats
import _paths as where
import _through_api as api
import _writing as writer
import _xp_split as xpsplit
import numpy as np

__all__ = ["main"]

NAMES = ("teff", "logg", "fe_h")


def model_uncertainty(spectra):
    """``(real sigma, the gaia_xp noise model's sigma on the observed flux, good pixels)``."""
    from astropy.nddata import StdDevUncertainty

    from specfm.synth import get_instrument
    from specfm.tokens import median_snr

    flux = np.asarray(spectra.flux.value, dtype=float)
    sigma = spectra.uncertainty.represent_as(StdDevUncertainty).array
    good = np.isfinite(flux) & np.isfinite(sigma) & (sigma > 0)
    snr = median_snr(flux, sigma, good)
    noise = get_instrument("gaia_xp").noise
    model = noise.sigma(np.where(good, flux, 0.0), np.where(np.isfinite(snr), snr, 100.0), good)
    return sigma, model, good


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(where.MODELS / "specfm-base"),
                        help="a model pre-trained on synthetic spectra (default: shipped)")
    parser.add_argument("--name", default="xp_uncertainty_gap", help="results file name")
    parser.add_argument("--batch", type=int, default=256, help="prediction batch size")
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    where.light_torch(args.threads)
    from astropy.nddata import StdDevUncertainty
    from astropy.table import Table

    from specfm._compat import make_spectrum

    val, true = xpsplit.read_validation(args.data)
    poor = true["fe_h"] < -1
    real, modelled, good = model_uncertainty(val.spectra)
    net = api.load_model(args.model, name="specfm-base")
    rows = []
    for kind, sigma in (("real", real), ("noise model on the observed flux", modelled)):
        spectra = make_spectrum(flux=val.spectra.flux, spectral_axis=val.spectra.spectral_axis,
                                uncertainty=StdDevUncertainty(sigma), mask=~good)
        values, _ = api.predict(net, spectra, NAMES, batch_size=args.batch)
        row = {"uncertainty": kind, "n": int(np.isfinite(values["fe_h"]).sum())}
        for n in NAMES:
            m = stats.metrics(values[n], true[n])
            row[f"{n}_bias"], row[f"{n}_rmse"] = m["bias"], m["rmse"]
        row["metal_poor_fe_h_rmse"] = stats.rmse(values["fe_h"], true["fe_h"], poor)
        rows.append(row)
        print(f"{kind:32s} " + "  ".join(f"{n} {row[f'{n}_bias']:+.3f} / {row[f'{n}_rmse']:.3f}"
                                          for n in NAMES)
              + f"  metal-poor [Fe/H] RMSE {row['metal_poor_fe_h_rmse']:.3f}", flush=True)
    ratio = (real / modelled)[good]
    table = Table(rows=rows)
    for n in NAMES:
        for k in ("bias", "rmse"):
            table[f"{n}_{k}"].info.format = ".0f" if n == "teff" else ".3f"
    table["metal_poor_fe_h_rmse"].info.format = ".3f"
    table.meta.update(writer.run_metadata(
        models={"specfm-base": args.model},
        description="Zero-shot labels of real Gaia XP validation spectra with their own "
                    "uncertainties and with the gaia_xp noise model's on their observed flux",
        n_metal_poor=int(poor.sum()),
        real_over_model_sigma={"median": float(np.median(ratio)),
                               "p16": float(np.percentile(ratio, 16)),
                               "p84": float(np.percentile(ratio, 84))}))
    def pair(r, n):
        digits = 0 if n == "teff" else 3
        return f"{r[f'{n}_bias']:+.{digits}f} / {r[f'{n}_rmse']:.{digits}f}"

    cells = [(r["uncertainty"], str(r["n"]), *(pair(r, n) for n in NAMES),
              f"{r['metal_poor_fe_h_rmse']:.3f}") for r in rows]
    writer.write_results(
        table, args.name, args.output_dir,
        "Real Gaia XP validation stars, no fine-tuning: labels with the real uncertainties "
        "and with the noise model's (bias / RMSE against APOGEE)",
        ("Uncertainty tokens", "N", "Teff [K]", "logg [dex]", "[Fe/H] [dex]",
         "[Fe/H] RMSE, [Fe/H] < -1"), cells,
        notes=[f"Real / noise-model uncertainty over all pixels: median "
               f"{np.median(ratio):.2f}, 16-84% {np.percentile(ratio, 16):.2f}-"
               f"{np.percentile(ratio, 84):.2f}. No colours; the flux is the same in both "
               "rows."])


if __name__ == "__main__":
    main()
