"""Shared helpers: get Axes to draw on, and plain values of table columns."""

import numpy as np

__all__ = ["get_axes", "values"]


def get_axes(ax=None, **subplot_kw):
    """Return ``ax``, or the Axes of a new figure."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(**subplot_kw)
    return ax


def values(column, unit=None):
    """Return a float array of a (masked) column or Quantity, NaN where masked."""
    if unit is not None and hasattr(column, "to_value"):
        data = column.to_value(unit)
    else:
        data = getattr(column, "value", column)
    mask = np.ma.getmaskarray(column) if hasattr(column, "mask") else None
    data = np.array(np.ma.getdata(data), dtype=float)
    if mask is not None and np.shape(mask) == data.shape:
        data[mask] = np.nan
    return data
