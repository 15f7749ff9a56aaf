"""Where in wavelength real Gaia XP spectra throw a model pre-trained on synthetic ones.

For the validation stars of the Gaia XP / APOGEE table with APOGEE [Fe/H] < -1 and
4000 K < Teff < 6500 K (inside the Cannon "coolstars" emulator's range), each real
spectrum gets a synthetic twin: the emulator at the star's APOGEE Teff, logg and [Fe/H],
rendered through the ``gaia_xp`` preset without noise, reddened by the A(V) that best
matches the real spectrum (``synth_vs_real.fit_extinction``), plus Gaussian noise with the
real spectrum's own uncertainties. A model (by default the shipped ``specfm-base``, no
fine-tuning, no colours) then predicts [Fe/H] and Teff from:

* the real spectra;
* the twins;
* the twins with one wavelength range replaced by the real spectrum: how much each range
  of the real data, on its own, moves the prediction away from the twins'.

Reported: median bias and RMSE of predicted - APOGEE [Fe/H] (and the Teff bias).

Usage::

    python benchmarks/hundred_stars.py domain-gap                       # the shipped specfm-base
    python benchmarks/hundred_stars.py domain-gap runs/experiments/base-xp-noise/model \
        --name xp_domain_gap_base-xp-noise

Writes ``benchmarks/results/<name>.ecsv`` and ``.rst`` (``--name``: ``xp_domain_gap``).
"""

import argparse

import _metrics as stats
import _paths as where
import _through_api as api
import _writing as writer
import _xp_split as xpsplit
import astropy.units as u
import numpy as np

__all__ = ["main"]

NAMES = ("teff", "logg", "fe_h")
RANGES = ((3300, 4000), (4000, 5000), (5000, 6500), (6500, 8000), (8000, 10300))
NOISE_SEED = 0


def twins(spectra, ref, data_dir):
    """Noiseless synthetic twins (median 1) with the best-fitting A(V) of each star."""
    from synth_vs_real import fit_extinction, labels_of

    from specfm.synth import get_instrument
    from specfm.training import load_emulator

    inst = get_instrument("gaia_xp")
    wave = inst.wavelength.to_value(u.AA)
    if not np.allclose(wave, spectra.spectral_axis.to_value(u.AA)):
        raise RuntimeError("The XP table's pixels differ from the gaia_xp preset's.")
    real = spectra.flux.value
    cannon = load_emulator("cannon_coolstars", data_dir)
    lab = labels_of(ref["teff"], np.clip(ref["logg"], 0, 5), ref["fe_h"])
    plain = inst.render(cannon, lab, av=0.0, noise=False, extrapolate="flag")
    good = ~plain.mask & np.isfinite(real)
    av, _ = fit_extinction(plain.flux.value, real, good, wave)
    twin = inst.render(cannon, lab, av=av, noise=False, extrapolate="flag").flux.value
    return twin / np.nanmedian(np.where(good, twin, np.nan), axis=1, keepdims=True), av


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(where.MODELS / "specfm-base"),
                        help="model folder (default: the shipped specfm-base)")
    parser.add_argument("--batch", type=int, default=64, help="prediction batch size")
    parser.add_argument("--name", default="xp_domain_gap",
                        help="name of the results files (default: xp_domain_gap; for another "
                             "model, e.g. xp_domain_gap_base-xp-noise)")
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    where.light_torch(args.threads)

    from astropy.nddata import StdDevUncertainty
    from astropy.table import Table

    from specfm._compat import make_spectrum

    xp, ref = xpsplit.read_validation(args.data)
    keep = np.nonzero((ref["fe_h"] < -1) & (ref["teff"] > 4000) & (ref["teff"] < 6500))[0]
    ref = {k: v[keep] for k, v in ref.items()}
    spectra = xp.spectra[keep]
    real, sigma = spectra.flux.value, spectra.uncertainty.array
    wave = spectra.spectral_axis.to_value(u.AA)
    twin, av = twins(spectra, ref, where.data_dir(args.data))
    noisy_twin = twin + np.random.default_rng(NOISE_SEED).standard_normal(twin.shape) * sigma
    print(f"{len(keep)} metal-poor validation stars; fitted A(V) median {np.median(av):.2f}")

    model = api.load_model(args.model, name="model")
    cases = [("real spectra", real), ("synthetic twins", noisy_twin)]
    cases += [(f"twins, real {lo}-{hi} A", np.where((wave >= lo) & (wave < hi), real,
                                                    noisy_twin)) for lo, hi in RANGES]
    rows = []
    for name, flux in cases:
        spec = make_spectrum(flux=flux * u.dimensionless_unscaled,
                             spectral_axis=wave * u.AA, uncertainty=StdDevUncertainty(sigma))
        pred, _ = api.predict(model, spec, NAMES, batch_size=args.batch)
        fe_h = stats.metrics(pred["fe_h"], ref["fe_h"])
        rows.append({"input": name, "n": fe_h["n"], "fe_h_bias": fe_h["bias"],
                     "fe_h_rmse": fe_h["rmse"],
                     "teff_bias": stats.metrics(pred["teff"], ref["teff"])["bias"]})
        print(f"{name:28s} [Fe/H] bias {rows[-1]['fe_h_bias']:+.3f} RMSE "
              f"{rows[-1]['fe_h_rmse']:.3f}  Teff bias {rows[-1]['teff_bias']:+.0f} K")
    table = Table(rows=rows)
    for col in ("fe_h_bias", "fe_h_rmse"):
        table[col].info.format = ".3f"
    table["teff_bias"].info.format = ".0f"
    table.meta.update(writer.run_metadata(
        models={"model": args.model},
        description="Real XP spectra against synthetic twins, by wavelength range",
        selection="validation split, APOGEE [Fe/H] < -1, 4000 < Teff < 6500 K",
        n_stars=len(keep), av_fitted_median=float(np.median(av)), noise_seed=NOISE_SEED))
    cells = [(r["input"], str(r["n"]), writer.fmt(r["fe_h_bias"], "+.3f"),
              writer.fmt(r["fe_h_rmse"], ".3f"), writer.fmt(r["teff_bias"], "+.0f")) for r in table]
    writer.write_results(
        table, args.name, args.output_dir,
        f"Metal-poor validation stars ({len(keep)}, [Fe/H] < -1, 4000-6500 K), real XP "
        "against synthetic twins: predicted - APOGEE",
        ("Input", "N", "[Fe/H] bias", "[Fe/H] RMSE", "Teff bias [K]"), cells,
        notes=("Twins: the Cannon emulator at the APOGEE labels, with the best-fitting A(V) "
               "and the real spectrum's noise. \"twins, real X-Y A\": the twin with that "
               "range replaced by the real spectrum.",))
    return table


if __name__ == "__main__":
    main()
