"""Shared helpers of the model benchmarks (issue 5): data split, metrics, baselines, output.

Used by the scripts on the XP split (``xp_accuracy.py``, ``xp_uncertainty.py``,
``hundred_stars.py``, ...), ``synthetic_recovery.py`` and ``shipped_throughput.py``; one
place for:

* the Gaia XP / APOGEE table and **our validation split** (the one ``specfm-xp`` was
  validated on: ``specfm.training.split_indices(n_rows, 0.1, seed=0)``, second array);
* label arrays in K / dex with NaN where unknown;
* the XGBoost baseline (Leung & Bovy 2023 style: 343 normalised fluxes + 7 colours);
* prediction through the user API (`specfm.inference.Model.predict`);
* metrics (median bias, MAD-based sigma, RMSE) and paired bootstrap intervals on them;
* run metadata (command line, date, machine, model sha256) and the ``.rst`` tables.
"""

import datetime
import os
import pathlib
import platform
import shlex
import sys
import time
import tomllib

import numpy as np

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "COLOURS",
    "HERE",
    "LABELS",
    "MAD_TO_SIGMA",
    "MODELS",
    "PAPER_BAR",
    "RESULTS",
    "ROOT",
    "SPLIT_SEED",
    "VALIDATION_FRACTION",
    "XGB_PARAMS",
    "XGB_ROUNDS",
    "XP_CONFIG",
    "XP_FILE",
    "bootstrap_rmse_ratio",
    "common_arguments",
    "data_dir",
    "fit_xgboost",
    "fmt",
    "label_arrays",
    "light_torch",
    "load_model",
    "mad_sigma",
    "metrics",
    "model_sha256",
    "n_table_rows",
    "paired_bootstrap",
    "predict",
    "predict_validation",
    "predict_xgboost",
    "read_xp",
    "rmse",
    "run_metadata",
    "split_arguments",
    "split_rows",
    "subsample",
    "write_results",
    "write_rst",
    "xgb_features",
    "xp_config_section",
    "xp_path",
    "xp_split",
    "xp_tokenizer_settings",
]

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
MODELS = ROOT / "specfm" / "pretrained" / "models"
XP_FILE = "gaia_xp_apogee/train.fits.gz"
XP_CONFIG = ROOT / "configs" / "specfm-xp.toml"
LABELS = ("teff", "logg", "fe_h", "alpha_m")
COLOURS = ("bp_rp", "g_rp", "bp_g", "g_j", "j_h", "h_k", "j_k")
VALIDATION_FRACTION = 0.1  # configs/specfm-xp.toml [data] validation_fraction
SPLIT_SEED = 0  # configs/specfm-xp.toml [trainer] seed (the split's seed in specfm train)
PAPER_BAR = {"teff": 47.0, "logg": 0.11, "fe_h": 0.07}
"""Scatter reached by the published XP models (issue 5): Teff 47 K, logg 0.11, [Fe/H] 0.07."""
XGB_ROUNDS = 600
XGB_PARAMS = dict(max_depth=6, eta=0.05, tree_method="hist", subsample=0.8,
                  colsample_bytree=0.5, min_child_weight=1.0, objective="reg:squarederror",
                  seed=0, nthread=1)
"""Fixed hyper-parameters of the XGBoost baseline (one booster of ``XGB_ROUNDS`` trees per
label; the native `xgboost.train` API, which needs no scikit-learn)."""


def light_torch(threads=1):
    """Limit torch (and BLAS) to ``threads`` CPU threads."""
    import torch

    torch.set_num_threads(int(threads))


# -- data --------------------------------------------------------------------------------


def data_dir(path=None):
    """The shared data folder: ``--data``, ``$SPECFM_DATA``, ``../shared/data`` (from the
    current folder, then from the repository root)."""
    from specfm.training.sources import data_directory

    beside_root = ROOT.parent / "shared" / "data"
    if path is None and not os.environ.get("SPECFM_DATA") and beside_root.is_dir():
        path = beside_root
    return data_directory(path)


def xp_path(data=None):
    """Path of the Gaia XP / APOGEE table in the shared data folder."""
    return data_dir(data) / XP_FILE


def n_table_rows(path):
    """Rows of a FITS table (read from the header only)."""
    from astropy.io import fits

    with fits.open(path) as hdul:
        return int(hdul[1].header["NAXIS2"])


def xp_split(path):
    """Return ``(train, validation)`` row indices of our split of the XP table."""
    from specfm.training import split_indices

    return split_indices(n_table_rows(path), VALIDATION_FRACTION, seed=SPLIT_SEED)


def subsample(rows, n, seed=0):
    """Return a sorted random subset of ``n`` of ``rows`` (all when ``n`` is None or larger)."""
    if n is None or n >= len(rows):
        return np.asarray(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, size=int(n), replace=False))


def split_arguments(parser, train_help=None):
    """Add the model folder, ``--max-train`` / ``--max-val`` and ``--batch-size``.

    For the scripts that judge a specfm-xp model on our XP split. ``train_help`` says
    what the training rows are used for in that script; without it the script reads the
    validation rows alone and has no ``--max-train``.
    """
    parser.add_argument("model", nargs="?", default=str(MODELS / "specfm-xp"),
                        help="specfm-xp model folder (default: the shipped one)")
    if train_help is not None:
        parser.add_argument("--max-train", type=int, default=None,
                            help=f"{train_help} (random subset; default: all)")
    parser.add_argument("--max-val", type=int, default=None,
                        help="validation rows (random subset; default: all)")
    parser.add_argument("--batch-size", type=int, default=64, help="specfm predict batch")
    return parser


def split_rows(args):
    """``(path, train_rows, validation_rows)`` of our XP split, cut to ``--max-*``."""
    path = xp_path(args.data)
    train_rows, val_rows = xp_split(path)
    train_rows = subsample(train_rows, getattr(args, "max_train", None), seed=1)
    val_rows = subsample(val_rows, args.max_val, seed=2)
    print(f"{len(train_rows)} training rows, {len(val_rows)} validation rows of {path}")
    return path, train_rows, val_rows


def read_xp(path, rows):
    """Read rows of the XP table (`specfm.io.read_gaia_xp_table`)."""
    from specfm.io import read_gaia_xp_table

    return read_gaia_xp_table(path, rows=np.asarray(rows))


def label_arrays(labels, names=LABELS):
    """``{name: float array}`` in K / dex from a (masked) label QTable; NaN where unknown."""
    out = {}
    for name in names:
        if name not in labels.colnames:
            continue
        column = labels[name]
        unit = column.unit
        value = getattr(column, "unmasked", column)
        value = np.asarray(value.to_value(unit) if hasattr(value, "to_value") else value,
                           dtype=float)
        mask = np.asarray(getattr(column, "mask", np.zeros(len(value), bool)), dtype=bool)
        out[name] = np.where(mask, np.nan, value)
    return out


def xp_tokenizer_settings():
    """The ``[tokenizer]`` section of configs/specfm-xp.toml (dict)."""
    with open(XP_CONFIG, "rb") as f:
        return dict(tomllib.load(f).get("tokenizer", {}))


def xp_config_section(name):
    """A section of configs/specfm-xp.toml (dict)."""
    with open(XP_CONFIG, "rb") as f:
        return dict(tomllib.load(f).get(name, {}))


# -- XGBoost baseline --------------------------------------------------------------------


def xgb_features(xp):
    """Features of the XGBoost baseline: 343 median-normalised fluxes + 7 colours.

    Masked values become NaN (XGBoost learns a default direction for them).
    """
    flux = np.asarray(xp.spectra.flux.value, dtype=float)
    mask = np.asarray(xp.spectra.mask, dtype=bool) if xp.spectra.mask is not None else None
    if mask is not None:
        flux = np.where(mask, np.nan, flux)
    cols = [label_arrays(xp.colours, COLOURS)[c] for c in COLOURS if c in xp.colours.colnames]
    return np.hstack([flux, np.column_stack(cols)]).astype(np.float32)


def fit_xgboost(features, labels, names, params=None, rounds=XGB_ROUNDS):
    """Fit one booster per label on the rows where that label is known.

    Returns
    -------
    dict
        ``{name: xgboost.Booster}``.

    """
    import xgboost

    models = {}
    for name in names:
        y = labels[name]
        known = np.isfinite(y)
        data = xgboost.DMatrix(features[known], label=y[known], missing=np.nan)
        models[name] = xgboost.train(dict(XGB_PARAMS, **(params or {})), data,
                                     num_boost_round=int(rounds))
    return models


def predict_xgboost(models, features):
    """``{name: predictions}`` of the boosters of `fit_xgboost`."""
    import xgboost

    data = xgboost.DMatrix(features, missing=np.nan)
    return {name: model.predict(data).astype(float) for name, model in models.items()}


# -- specfm predictions ------------------------------------------------------------------


def load_model(path_or_network, name=None):
    """A `specfm.inference.Model` from a model folder, or from an in-memory network."""
    from specfm.inference import Model, load

    if isinstance(path_or_network, str | os.PathLike):
        return load(path_or_network, name=name)
    return Model(path_or_network, name=name)


def predict(model, spectra, names, inputs=None, batch_size=64, max_tokens="model"):
    """``({name: values}, {name: errors})`` in K / dex, NaN where the row is masked.

    Through the user API, `specfm.inference.Model.predict` (one pass, seed 0; ``max_tokens``
    as there: the model's chunk size, or None for every pixel in one row).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # coverage / range warnings: flags are in the table
        table = model.predict(spectra, labels=list(names), inputs=inputs,
                              batch_size=batch_size, progress=False, max_tokens=max_tokens)
    values = label_arrays(table, names)
    errors = label_arrays(table, [f"{n}_err" for n in names])
    return values, {n: errors[f"{n}_err"] for n in names}


def predict_validation(args, val, names):
    """Load ``args.model`` (a specfm-xp folder) and predict ``names`` for the rows ``val``.

    ``val`` is what `read_xp` returns; the colours go in as input tokens, as specfm-xp
    was trained. Prints the time taken and returns what `predict` returns.
    """
    t0 = time.perf_counter()
    model = load_model(args.model, name="specfm-xp")
    values, errors = predict(model, val.spectra, names, inputs=val.colours,
                             batch_size=args.batch_size)
    print(f"specfm-xp: {len(val.labels)} spectra predicted in "
          f"{time.perf_counter() - t0:.1f} s")
    return values, errors


# -- metrics -----------------------------------------------------------------------------


MAD_TO_SIGMA = 1.4826
"""Median absolute deviation to the sigma of a normal distribution."""


def mad_sigma(x):
    """1.4826 x median |x - median x| (NaN ignored)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return np.nan
    return float(MAD_TO_SIGMA * np.median(np.abs(x - np.median(x))))


def metrics(predicted, reference):
    """``dict(n, bias, sigma, rmse)`` of ``predicted - reference`` (rows with both finite)."""
    d = np.asarray(predicted, dtype=float) - np.asarray(reference, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return {"n": 0, "bias": np.nan, "sigma": np.nan, "rmse": np.nan}
    return {"n": int(d.size), "bias": float(np.median(d)), "sigma": mad_sigma(d),
            "rmse": float(np.sqrt(np.mean(d**2)))}


def rmse(predicted, reference, select=None):
    """RMSE of ``predicted - reference`` over ``select`` (rows with both finite)."""
    p, r = np.asarray(predicted, float), np.asarray(reference, float)
    if select is not None:
        p, r = p[select], r[select]
    return metrics(p, r)["rmse"]


BOOTSTRAP_RESAMPLES = 2000
"""Resamples of the paired bootstrap (`paired_bootstrap`)."""


def _resamples(n, n_resamples, seed):
    """Bootstrap draws of ``n`` rows: index arrays of shape (k, n), k rows per pass."""
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // max(n, 1))  # resamples per pass, to bound memory
    for start in range(0, n_resamples, chunk):
        yield rng.integers(0, n, size=(min(chunk, n_resamples - start), n))


def _resampled_metrics(d, index):
    """``|bias|``, sigma and RMSE of ``d[index]``, one value per row of ``index``."""
    x = d[index]
    median = np.median(x, axis=1)
    sigma = MAD_TO_SIGMA * np.median(np.abs(x - median[:, None]), axis=1)
    return {"bias": np.abs(median), "sigma": sigma, "rmse": np.sqrt(np.mean(x**2, axis=1))}


def _paired_residuals(predicted_a, predicted_b, reference):
    """``predicted - reference`` of both methods, on the rows where both are finite."""
    reference = np.asarray(reference, float)
    a = np.asarray(predicted_a, float) - reference
    b = np.asarray(predicted_b, float) - reference
    ok = np.isfinite(a) & np.isfinite(b)
    return a[ok], b[ok]


def paired_bootstrap(predicted_a, predicted_b, reference, n_resamples=BOOTSTRAP_RESAMPLES,
                     seed=0, level=0.95):
    """How sure the difference between two methods' metrics is, star sample noise alone.

    The stars (rows where both predictions and the reference are finite) are drawn with
    replacement ``n_resamples`` times, the same draw for both methods, and the median
    bias (by size), the MAD-based sigma and the RMSE of ``predicted - reference`` are
    computed for each. What it cannot see is how the methods vary when trained again.

    Returns
    -------
    dict
        ``n`` and, for ``"bias"`` (``|bias|``), ``"sigma"`` and ``"rmse"``, a dict with
        ``difference`` (a - b on the stars themselves), ``low`` and ``high`` (the central
        ``level`` interval of the resampled differences) and ``a_better`` (the share of
        resamples in which ``a``'s value is strictly the smaller).
    """
    a, b = _paired_residuals(predicted_a, predicted_b, reference)
    out = {"n": int(a.size)}
    names = ("bias", "sigma", "rmse")
    if a.size == 0:
        return out | {m: dict.fromkeys(("difference", "low", "high", "a_better"), np.nan)
                      for m in names}
    full = np.arange(a.size)[None, :]
    whole_a, whole_b = _resampled_metrics(a, full), _resampled_metrics(b, full)
    diff_full = {m: (whole_a[m] - whole_b[m])[0] for m in names}
    diffs = {m: [] for m in names}
    for index in _resamples(a.size, n_resamples, seed):
        ma, mb = _resampled_metrics(a, index), _resampled_metrics(b, index)
        for m in names:
            diffs[m].append(ma[m] - mb[m])
    tail = 100 * (1 - level) / 2
    for m in names:
        d = np.concatenate(diffs[m])
        low, high = np.percentile(d, [tail, 100 - tail])
        out[m] = {"difference": float(diff_full[m]), "low": float(low), "high": float(high),
                  "a_better": float(np.mean(d < 0))}
    return out


def bootstrap_rmse_ratio(predicted_a, predicted_b, reference, threshold=None,
                         n_resamples=BOOTSTRAP_RESAMPLES, seed=0, level=0.95):
    """RMSE of ``a`` over RMSE of ``b`` on the same stars, with a paired bootstrap interval.

    Like `paired_bootstrap` (rows where all three are finite, drawn with replacement, the
    same draw for both; star sample noise only), for the ratio of the two RMSEs.

    Returns
    -------
    dict
        ``n``, ``ratio`` (on the stars themselves), ``low`` and ``high`` (the central
        ``level`` interval of the resampled ratios) and, if ``threshold`` is given,
        ``share_at_most_threshold`` (the share of resamples whose ratio is at most that).
    """
    a, b = _paired_residuals(predicted_a, predicted_b, reference)
    out = {"n": int(a.size), "ratio": np.nan, "low": np.nan, "high": np.nan}
    if threshold is not None:
        out["share_at_most_threshold"] = np.nan
    if a.size == 0:
        return out
    ratios = np.concatenate([np.sqrt(np.mean(a[i] ** 2, axis=1) / np.mean(b[i] ** 2, axis=1))
                             for i in _resamples(a.size, n_resamples, seed)])
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(ratios, [tail, 100 - tail])
    out.update(ratio=float(np.sqrt(np.mean(a**2) / np.mean(b**2))), low=float(low),
               high=float(high))
    if threshold is not None:
        out["share_at_most_threshold"] = float(np.mean(ratios <= threshold))
    return out


# -- metadata and output -----------------------------------------------------------------


def model_sha256(path):
    """sha256 of a model folder's weights (from its ``config.json``), or None."""
    from specfm.model import read_model_config

    try:
        return read_model_config(path).get("weights", {}).get("sha256")
    except Exception:  # metadata only: never fail a benchmark over it
        return None


def run_metadata(models=None, **extra):
    """Command line, date, machine and model sha256s, for ``table.meta``."""
    import specfm

    meta = {
        "command": " ".join(shlex.quote(a) for a in [sys.executable.split("/")[-1],
                                                      *sys.argv]),
        "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "specfm_version": getattr(specfm, "__version__", "unknown"),
    }
    if models:
        meta["models"] = {name: {"path": str(path), "sha256": model_sha256(path)}
                          for name, path in models.items()}
    meta.update(extra)
    return meta


def fmt(value, spec):
    """Format a number for a table cell ('' for NaN/None)."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return format(value, spec)


def write_rst(path, caption, header, rows, notes=()):
    """Write a ``.. table::`` simple table (cells are strings) for ``.. include::``."""
    cells = [tuple(header)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    rule = "   " + "  ".join("=" * w for w in widths)
    with open(path, "w") as f:
        f.write(f".. table:: {caption}\n\n{rule}\n")
        for k, c in enumerate(cells):
            f.write("   " + "  ".join(x.ljust(w) for x, w in zip(c, widths, strict=True))
                    .rstrip() + "\n")
            if k == 0:
                f.write(rule + "\n")
        f.write(rule + "\n")
        if notes:
            f.write("\n")
            for note in notes:
                f.write(f"{note}\n\n")


def write_results(table, name, outdir, caption, header, rows, notes=()):
    """Write ``<outdir>/<name>.ecsv`` and ``<name>.rst``; return the folder."""
    outdir = pathlib.Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    table.write(outdir / f"{name}.ecsv", overwrite=True)
    write_rst(outdir / f"{name}.rst", caption, header, rows, notes)
    print(f"wrote {outdir / name}.ecsv and .rst")
    return outdir


def common_arguments(parser, output=True):
    """Add ``--data``, ``--output-dir`` and ``--threads`` to a parser."""
    parser.add_argument("--data", default=None,
                        help="shared data folder (default: $SPECFM_DATA or ../shared/data)")
    if output:
        parser.add_argument("--output-dir", default=str(RESULTS),
                            help="where results go (default: benchmarks/results)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    return parser

