"""The arithmetic the network runs in: float32, or bfloat16 autocast.

One definition for prediction (`specfm.inference.Model.predict`'s ``precision``) and
training (`specfm.training.TrainerConfig.precision`): the accepted names, their check, and
the autocast context that applies them.
"""

import torch

from ..exceptions import SpecfmInputError

__all__ = ["PRECISIONS", "check_precision", "precision_autocast"]

PRECISIONS = ("float32", "bfloat16")
"""Arithmetic of the network: float32, or bfloat16 autocast (matrix products in bfloat16,
faster on CPUs and GPUs with bfloat16 units; the output heads stay in float32)."""


def check_precision(precision):
    """Raise `~specfm.exceptions.SpecfmInputError` unless ``precision`` is in `PRECISIONS`."""
    if precision not in PRECISIONS:
        raise SpecfmInputError(f"precision must be one of {', '.join(PRECISIONS)}, not "
                               f"{precision!r}.")


def precision_autocast(device_type, precision):
    """Return the `torch.autocast` context that runs the network in ``precision``.

    Parameters
    ----------
    device_type : str
        ``"cpu"`` or ``"cuda"``: the device the network is on.
    precision : {"float32", "bfloat16"}
        float32 gives a disabled context.

    Raises
    ------
    specfm.exceptions.SpecfmInputError
        For a precision not in `PRECISIONS`.

    """
    check_precision(precision)
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bfloat16")
