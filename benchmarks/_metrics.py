"""The statistics of the published tables: median bias, MAD-based sigma, RMSE, and paired
bootstrap intervals on the difference (or ratio) of two methods, or of two medians."""

import numpy as np

__all__ = [
    "BOOTSTRAP_RESAMPLES", "MAD_TO_SIGMA", "bootstrap_rmse_ratio", "mad_sigma", "metrics",
    "paired_bootstrap", "paired_median_difference", "rmse"
]

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


def _central_interval(values, level):
    """The central ``level`` interval of resampled values: ``(low, high)``."""
    tail = 100 * (1 - level) / 2
    return tuple(np.percentile(values, [tail, 100 - tail]))


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
    for m in names:
        d = np.concatenate(diffs[m])
        low, high = _central_interval(d, level)
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
    low, high = _central_interval(ratios, level)
    out.update(ratio=float(np.sqrt(np.mean(a**2) / np.mean(b**2))), low=float(low),
               high=float(high))
    if threshold is not None:
        out["share_at_most_threshold"] = float(np.mean(ratios <= threshold))
    return out


def paired_median_difference(errors_a, errors_b, n_resamples=BOOTSTRAP_RESAMPLES, seed=0,
                             level=0.95):
    """The median of ``errors_a`` less that of ``errors_b``, on the same stars, with a
    paired bootstrap interval.

    For per-star errors of two models on the same stars and tasks (the flux errors of
    ``generation_inpainting.py``): the stars where both are finite are drawn with
    replacement ``n_resamples`` times, the same draw for both, so what the two share
    (a star that is hard for both) cancels. Star sample noise only.

    Returns
    -------
    dict
        ``n``, ``difference`` (on the stars themselves), ``low`` and ``high`` (the central
        ``level`` interval of the resampled differences) and ``a_better`` (the share of
        resamples in which ``a``'s median is strictly the smaller).
    """
    a, b = np.asarray(errors_a, float), np.asarray(errors_b, float)
    if a.shape != b.shape:
        raise ValueError(f"paired errors need the same stars: {a.size} against {b.size}")
    ok = np.isfinite(a) & np.isfinite(b)
    a, b = a[ok], b[ok]
    out = {"n": int(a.size), "difference": np.nan, "low": np.nan, "high": np.nan,
           "a_better": np.nan}
    if a.size == 0:
        return out
    diffs = np.concatenate([np.median(a[i], axis=1) - np.median(b[i], axis=1)
                            for i in _resamples(a.size, n_resamples, seed)])
    low, high = _central_interval(diffs, level)
    out.update(difference=float(np.median(a) - np.median(b)), low=float(low),
               high=float(high), a_better=float(np.mean(diffs < 0)))
    return out
