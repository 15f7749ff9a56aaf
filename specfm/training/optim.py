"""Optimisation helpers: seeding, AdamW parameter groups, the warm-up + cosine schedule."""

import math
import random

import numpy as np
import torch

__all__ = ["parameter_groups", "seed_everything", "warmup_cosine"]

_NO_DECAY = ("latents", "marker", "ident.weight", "kind.weight")


def seed_everything(seed):
    """Seed Python's, NumPy's and torch's global random generators."""
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)  # noqa: NPY002 - seeds legacy global users
    torch.manual_seed(int(seed))


def parameter_groups(network, weight_decay):
    """AdamW groups: weight decay on weight matrices only.

    Biases, norms, embedding tables and latents get none, so rows frozen by
    `~specfm.model.GrowableEmbedding.freeze_rows` stay exactly unchanged.
    """
    decay, no_decay = [], []
    for name, p in network.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim < 2 or name.endswith(_NO_DECAY):
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": float(weight_decay)},
            {"params": no_decay, "weight_decay": 0.0}]


def warmup_cosine(step, warmup_steps, total_steps, min_ratio=0.0):
    """Learning-rate factor: linear warm-up, then cosine decay to ``min_ratio``.

    Parameters
    ----------
    step : int
        Optimizer steps done so far (0 for the first step).
    warmup_steps, total_steps : int
        Length of the warm-up and of the whole run.
    min_ratio : float
        Factor reached at ``total_steps``.

    Returns
    -------
    float
        The factor to multiply the peak learning rate by.

    Examples
    --------
    >>> from specfm.training import warmup_cosine
    >>> [round(warmup_cosine(s, 10, 110, 0.1), 3) for s in (0, 9, 60, 110)]
    [0.1, 1.0, 0.55, 0.1]

    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
