"""The XGBoost baseline of the XP benchmarks (Leung & Bovy 2023 style: 343 normalised
fluxes + 7 colours, one booster per label, fixed hyper-parameters)."""

import numpy as np
from _xp_split import COLOURS, label_arrays

__all__ = ["XGB_PARAMS", "XGB_ROUNDS", "fit_xgboost", "predict_xgboost", "xgb_features"]

XGB_ROUNDS = 600


XGB_PARAMS = dict(max_depth=6, eta=0.05, tree_method="hist", subsample=0.8,
                  colsample_bytree=0.5, min_child_weight=1.0, objective="reg:squarederror",
                  seed=0, nthread=1)
"""Fixed hyper-parameters of the XGBoost baseline (one booster of ``XGB_ROUNDS`` trees per
label; the native `xgboost.train` API, which needs no scikit-learn)."""


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
