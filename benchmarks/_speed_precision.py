"""``speed.py precision``: how far bfloat16 autocast moves the labels from float32.

`specfm.inference.Model.predict` with ``precision="bfloat16"`` runs the network's matrix
products in bfloat16 (the output head stays in float32), which is faster on CPUs with
bfloat16 matrix units (``results/amx_machine``). Before it can be recommended, the labels
must stay where float32 puts them. This mode predicts the same spectra both ways:

* ``gaia_xp``: ``specfm-xp`` on ``--xp-stars`` stars of our Gaia XP validation split, with
  their colours, as ``xp_accuracy.py`` reads them;
* ``apogee``: a base model (``--base``, default the shipped ``specfm-base``) on
  ``--apogee-stars`` held-out synthetic APOGEE spectra at S/N 100 (the stars and corpus seed
  of ``synthetic_recovery.py``), once in 512-pixel chunks and once in one pass (every pixel
  in one row).

Per label it reports the median and 95th percentile of ``|bf16 - fp32|``, the same in
units of the predicted float32 uncertainty, and the largest difference. The rule of thumb
the docs use: bfloat16 is harmless when the 95th percentile is below a tenth of the
predicted uncertainty. Where the true labels are known (the synthetic spectra) it also
gives the MAD-based sigma of ``predicted - true`` for both, which is what a user would
see change.

Usage::

    python benchmarks/speed.py precision --threads 2
    python benchmarks/speed.py precision --base runs/specfm-base-v2/now --xp-stars 500

Writes ``precision_agreement.ecsv`` and ``.rst``. No timing: the rates are in
``hardware``'s table (``--bf16-max-batch``).
"""

import argparse

import _metrics as stats
import _paths as where
import _through_api as api
import _writing as writer
import _xp_split as xpsplit
import numpy as np

__all__ = ["agreement_rows", "main"]

NAMES = ("teff", "logg", "fe_h")


def _predict(model, spectra, inputs, precision, max_tokens, batch):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # coverage / range warnings: flags are in the table
        table = model.predict(spectra, labels=list(NAMES), inputs=inputs, batch_size=batch,
                              progress=False, max_tokens=max_tokens, precision=precision)
    values = xpsplit.label_arrays(table, NAMES)
    errors = xpsplit.label_arrays(table, [f"{n}_err" for n in NAMES])
    return values, {n: errors[f"{n}_err"] for n in NAMES}


def agreement_rows(model, spectra, inputs, max_tokens, batch, truth=None, **keys):
    """One row per label: how far bfloat16 moves the labels from float32."""
    fp32, err = _predict(model, spectra, inputs, "float32", max_tokens, batch)
    bf16, _ = _predict(model, spectra, inputs, "bfloat16", max_tokens, batch)
    rows = []
    for name in NAMES:
        diff = np.abs(bf16[name] - fp32[name])
        ok = np.isfinite(diff) & np.isfinite(err[name]) & (err[name] > 0)
        ratio = diff[ok] / err[name][ok]
        row = {**keys, "label": name, "n": int(ok.sum()),
               "median_abs_diff": float(np.median(diff[ok])),
               "p95_abs_diff": float(np.percentile(diff[ok], 95)),
               "max_abs_diff": float(np.max(diff[ok])),
               "median_diff_over_err": float(np.median(ratio)),
               "p95_diff_over_err": float(np.percentile(ratio, 95)),
               "sigma_fp32": np.nan, "sigma_bf16": np.nan}
        if truth is not None:
            row["sigma_fp32"] = stats.mad_sigma(fp32[name] - truth[name])
            row["sigma_bf16"] = stats.mad_sigma(bf16[name] - truth[name])
        rows.append(row)
    return rows


def _synthetic_apogee(args):
    from astropy.table import vstack
    from synthetic_recovery import EMULATOR, SEED

    from specfm.synth import CorpusConfig, iter_corpus
    from specfm.training import SyntheticSource, load_emulator

    emulator = load_emulator(EMULATOR, where.data_dir(args.data))
    instruments = SyntheticSource(EMULATOR, ["apogee"], args.apogee_stars).make_instruments()
    corpus = CorpusConfig(instruments=instruments, n_spectra=args.apogee_stars, seed=SEED,
                          snr_range=(100.0, 100.0), shard_size=args.apogee_stars,
                          batch_size=min(64, args.apogee_stars))
    spectra, truth = [], []
    for batch, table in iter_corpus(emulator, corpus):
        spectra.append(batch["apogee"])
        truth.append(table)
    return spectra, xpsplit.label_arrays(vstack(truth), NAMES)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="speed.py precision",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--xp-model", default=str(where.MODELS / "specfm-xp"))
    parser.add_argument("--base", default=str(where.MODELS / "specfm-base"),
                        help="base model for the synthetic APOGEE spectra")
    parser.add_argument("--xp-stars", type=int, default=1000,
                        help="Gaia XP validation stars (0: skip)")
    parser.add_argument("--apogee-stars", type=int, default=100,
                        help="synthetic APOGEE spectra (0: skip)")
    parser.add_argument("--batch", type=int, default=64, help="prediction batch size")
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    where.light_torch(args.threads)
    from astropy.table import Table

    rows = []
    if args.xp_stars:
        path, _, val_rows = xpsplit.split_rows(argparse.Namespace(
            data=args.data, max_val=args.xp_stars))
        val = xpsplit.read_xp(path, val_rows)
        model = api.load_model(args.xp_model, name="specfm-xp")
        rows += agreement_rows(model, val.spectra, val.colours, "model", args.batch,
                               name="specfm-xp", input="Gaia XP (real)", pass_="one pass")
    if args.apogee_stars:
        model = api.load_model(args.base, name="specfm-base")
        spectra, truth = _synthetic_apogee(args)
        for label, cap in (("512-pixel chunks", 512), ("one pass", None)):
            rows += agreement_rows(model, spectra, None, cap, args.batch, truth=truth,
                                   name="specfm-base", input="APOGEE (synthetic, S/N 100)",
                                   pass_=label)
    if not rows:
        print("nothing to compare (--xp-stars 0 and --apogee-stars 0)")
        return None
    table = Table(rows=rows)
    table.rename_column("pass_", "pass")
    table.meta.update(writer.run_metadata(
        models={"specfm-xp": args.xp_model, "specfm-base": args.base}))
    header = ("Model", "Input", "Pass", "Label", "N", "median abs(d)", "95% abs(d)", "max abs(d)",
              "median abs(d)/err", "95% abs(d)/err", "sigma fp32", "sigma bf16")
    cells = []
    for r in table:
        spec = ".0f" if r["label"] == "teff" else ".3f"
        fine = ".1f" if r["label"] == "teff" else ".4f"
        cells.append((r["name"], r["input"], r["pass"], r["label"], r["n"],
                      writer.fmt(float(r["median_abs_diff"]), fine),
                      writer.fmt(float(r["p95_abs_diff"]), fine),
                      writer.fmt(float(r["max_abs_diff"]), fine),
                      writer.fmt(float(r["median_diff_over_err"]), ".3f"),
                      writer.fmt(float(r["p95_diff_over_err"]), ".3f"),
                      writer.fmt(float(r["sigma_fp32"]), spec),
                      writer.fmt(float(r["sigma_bf16"]), spec)))
    worst = float(np.max(table["p95_diff_over_err"]))
    notes = [
        "d = bfloat16 - float32 label of the same spectrum (Teff in K, others in dex); err: "
        "the float32 prediction's own uncertainty; sigma: MAD-based scatter of predicted - "
        "true (synthetic spectra only). Command: " + table.meta["command"] + ".",
        f"Largest 95th percentile of abs(d)/err: {worst:.3f} "
        + ("(below 0.1: bfloat16 moves the labels by much less than their uncertainty)."
           if worst < 0.1 else "(above 0.1: bfloat16 moves some labels by a noticeable "
                               "fraction of their uncertainty)."),
    ]
    writer.write_results(table, "precision_agreement", args.output_dir,
                         "bfloat16 autocast against float32: the same spectra, both ways",
                         header, cells, notes=notes)
    return table
