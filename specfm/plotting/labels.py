"""Plots in label space: predictions against references, and Kiel diagrams."""

import astropy.units as u
import numpy as np

from ..exceptions import SpecfmInputError
from ._axes import get_axes, values

__all__ = ["plot_kiel", "plot_predicted_vs_reference"]

_UNITS = {"teff": u.K}


def _label_values(table, name):
    col = table[name]
    unit = _UNITS.get(name)
    if unit is not None and getattr(col, "unit", None) is not None:
        return values(col, unit)
    return values(col)


def plot_predicted_vs_reference(predicted, reference, labels=None, axes=None):
    """Draw predicted against reference labels, with residuals underneath.

    Parameters
    ----------
    predicted : `~astropy.table.QTable`
        A prediction table (`specfm.inference.Model.predict`).
    reference : `~astropy.table.Table`
        Reference labels, row for row (e.g. a validation set's catalogue labels).
    labels : list of str, optional
        Labels to draw (default: those in both tables, in the prediction's order).
    axes : array of `~matplotlib.axes.Axes`, optional
        ``(2, n_labels)`` Axes to draw on.

    Returns
    -------
    numpy.ndarray of `~matplotlib.axes.Axes`
        ``(2, n_labels)``: predicted vs reference on top, residuals below. Each title
        gives the median bias and the MAD-based scatter.

    """
    if len(predicted) != len(reference):
        raise SpecfmInputError(f"predicted has {len(predicted)} rows but reference has "
                               f"{len(reference)}; give the reference labels row for row.")
    names = labels or [n for n in predicted.meta.get("labels", predicted.colnames)
                       if n in reference.colnames and n in predicted.colnames]
    if not names:
        raise SpecfmInputError("No label is in both tables; name them with labels=.")
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(2, len(names), figsize=(3.6 * len(names), 5.2), squeeze=False,
                               gridspec_kw={"height_ratios": [3, 1]}, sharex="col")
    axes = np.asarray(axes).reshape(2, len(names))
    for j, name in enumerate(names):
        ref, pred = _label_values(reference, name), _label_values(predicted, name)
        ok = np.isfinite(ref) & np.isfinite(pred)
        resid = pred[ok] - ref[ok]
        bias = np.median(resid) if ok.any() else np.nan
        scatter = 1.4826 * np.median(np.abs(resid - bias)) if ok.any() else np.nan
        top, bottom = axes[0, j], axes[1, j]
        top.scatter(ref[ok], pred[ok], s=3, alpha=0.5, color="C0", rasterized=True)
        if ok.any():
            lo, hi = np.nanpercentile(np.concatenate([ref[ok], pred[ok]]), [0.5, 99.5])
            top.plot([lo, hi], [lo, hi], color="k", lw=0.8)
        top.set_ylabel(f"predicted {name}")
        top.set_title(f"{name}: bias {bias:.3g}, scatter {scatter:.3g}", fontsize="small")
        bottom.scatter(ref[ok], resid, s=3, alpha=0.5, color="C0", rasterized=True)
        bottom.axhline(0, color="k", lw=0.8)
        bottom.set_xlabel(f"reference {name}")
        bottom.set_ylabel("residual")
    return axes


def plot_kiel(table, color="fe_h", ax=None, cmap="viridis", **scatter_kw):
    """Draw a Kiel diagram (log g against Teff, both axes reversed) of a table.

    Parameters
    ----------
    table : `~astropy.table.Table`
        With ``teff`` and ``logg`` columns (e.g. a prediction table); masked rows are
        left out.
    color : str or None
        Column to colour the points by (default ``fe_h``; None for one colour).
    ax : `~matplotlib.axes.Axes`, optional
        Where to draw.
    cmap : str
        Colour map.
    **scatter_kw
        Passed to `~matplotlib.axes.Axes.scatter`.

    Returns
    -------
    `~matplotlib.axes.Axes`

    """
    for name in ("teff", "logg"):
        if name not in table.colnames:
            raise SpecfmInputError(f"The table has no {name!r} column; a Kiel diagram needs "
                                   "teff and logg.")
    teff, logg = _label_values(table, "teff"), _label_values(table, "logg")
    ok = np.isfinite(teff) & np.isfinite(logg)
    ax = get_axes(ax, figsize=(5, 4.5))
    kw = {"s": 6, **scatter_kw}
    if color is not None and color in table.colnames:
        c = _label_values(table, color)
        ok &= np.isfinite(c)
        points = ax.scatter(teff[ok], logg[ok], c=c[ok], cmap=cmap, **kw)
        ax.figure.colorbar(points, ax=ax, label=color)
    else:
        ax.scatter(teff[ok], logg[ok], **kw)
    ax.set_xlabel("Teff [K]")
    ax.set_ylabel("log g [dex]")
    if not ax.xaxis_inverted():
        ax.invert_xaxis()
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    return ax
