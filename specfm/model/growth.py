"""Grow a trained network into a larger one that gives the same answers.

A larger network trained from random weights on two CPU cores takes many sessions only to
catch up with the one it should improve on. `grow_network` starts it where the trained
one stands instead: the new network computes exactly the same function (to float32
rounding), and training then uses the added room.

What can grow, and why the answers stay the same:

* **width** (``d_model`` times an integer ``k``, with ``k`` times the heads): every vector
  is stored ``k`` times over, ``[x, x, ...]``. A layer norm of such a vector has the same
  mean and variance, so it normalises each copy as before; a linear layer takes ``1/k`` of
  each copy of its input and writes its output ``k`` times; each added head is a copy of
  an old one (the width per head does not change, nor does the attention's scale).
* **latents** (``n_latents`` times an integer): each latent is there several times over.
  A query that attends to ``m`` identical copies of every key gives each copy ``1/m`` of
  the old weight, so every attention output is unchanged.
* **latent layers**: new self-attention blocks are appended whose two output projections
  are zero, so each starts as the identity.

Copies that are exactly equal get equal gradients and stay equal. ``jitter`` adds a little
noise to every weight (a fraction of each tensor's spread), which changes the answers a
little; at 1e-3 the copies of a grown base had hardly parted after 6,000 steps of training
(the latents of ``configs/experiments/grow-latents128.toml`` differed by 0.15% at the end).
``split="random"`` parts the copies of a wider network without changing its answers: a
linear layer that reads a vector stored ``k`` times takes a random share of each copy (the
shares of an input sum to one) instead of ``1/k`` of each, so the copies are read
differently downstream, get different gradients, and part from the first step.
"""

import copy

import torch
from torch import nn

from ..exceptions import SpecfmInputError
from .network import SpecFMNetwork

__all__ = ["grow_network"]


def _factor(name, old, new):
    if new is None:
        return 1
    new = int(new)
    if new < old or new % old:
        raise SpecfmInputError(
            f"{name} can only grow by a whole factor: {new} is not a multiple of {old} "
            "(at least as large); choose a multiple.")
    return new // old


_SPLITS = ("equal", "random")
"""How a grown linear layer shares its input among the copies of a wider vector."""


def _shares(shape, copies, generator):
    """Random shares of shape ``shape``, summing to one over the ``copies`` blocks.

    Each copy's weight is drawn from 0.5 to 1.5 before the shares are normalised (for
    two copies, each share lies between a quarter and three quarters).
    """
    n_old = shape[1] // copies
    draw = 0.5 + torch.rand((shape[0], copies, n_old), generator=generator)
    return (draw / draw.sum(1, keepdim=True)).reshape(shape)


def _grown_tensor(old, shape, linear_weight, generator=None):
    """``old`` tiled to ``shape``.

    A linear layer's weight shares its input among the copies: equally, or at random with
    a ``generator``.
    """
    reps = []
    for n_old, n_new in zip(old.shape, shape, strict=True):
        if n_new % n_old:
            raise SpecfmInputError(f"Cannot grow a weight of shape {tuple(old.shape)} to "
                                   f"{tuple(shape)}.")
        reps.append(n_new // n_old)
    out = old.repeat(*reps)
    if linear_weight and reps[1] > 1:
        out = out * (_shares(out.shape, reps[1], generator) if generator is not None
                     else 1.0 / reps[1])
    return out


def _as_identity(block):
    """Zero the output projections of a residual block, so that it adds nothing."""
    for layer in (block.attn.out, block.ff.net[-1]):
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)


def grow_network(network, *, width=None, n_latents=None, n_latent_layers=None, jitter=0.0,
                 split="equal", seed=0):
    """Return a larger copy of ``network`` that gives the same answers.

    Parameters
    ----------
    network : `~specfm.model.SpecFMNetwork`
        The trained network (not modified).
    width : int, optional
        The new ``d_model``: a whole multiple of the old one. The heads grow by the same
        factor, so the width of each head stays as it is.
    n_latents : int, optional
        The new number of latents: a whole multiple of the old one.
    n_latent_layers : int, optional
        The new number of latent self-attention layers (at least the old one); the added
        layers come last and start as the identity.
    jitter : float
        Standard deviation of the noise added to every weight, as a fraction of that
        tensor's own standard deviation (0: the answers are exactly the old ones; about
        1e-3 lets the copies part, slowly, when it is trained).
    split : {"equal", "random"}
        How a linear layer that reads a wider vector shares each of its inputs among the
        copies: ``1/k`` of each (``"equal"``), or random shares that sum to one
        (``"random"``), which keeps the answers exactly and lets the copies of a wider
        network part from the first step of training. No effect without ``width``.
    seed : int
        Seed of the noise and of the random shares.

    Returns
    -------
    `~specfm.model.SpecFMNetwork`
        The grown network, in float32 on the CPU, with the old one's ``metadata`` (but
        for the checksum and path of its file) and a record of the growth in
        ``metadata["grown_from"]``.

    Raises
    ------
    SpecfmInputError
        If a size would shrink or does not grow by a whole factor, or ``network`` is not
        one `~specfm.model.SpecFMNetwork` (an ensemble, say).

    Examples
    --------
    >>> import torch
    >>> from specfm.model import ModelConfig, SpecFMNetwork, grow_network
    >>> small = SpecFMNetwork(ModelConfig(d_model=16, n_heads=2, n_latents=4,
    ...                                   n_latent_layers=1))
    >>> big = grow_network(small, width=32, n_latents=8, n_latent_layers=2)
    >>> big.config.d_model, big.config.n_heads, big.config.n_latents
    (32, 4, 8)

    """
    if type(network) is not SpecFMNetwork:
        raise SpecfmInputError(
            f"grow_network grows one SpecFMNetwork, not a {type(network).__name__}; grow "
            "each member of an ensemble on its own.")
    old_cfg = network.config
    k = _factor("width", old_cfg.d_model, width)
    _factor("n_latents", old_cfg.n_latents, n_latents)
    layers = old_cfg.n_latent_layers if n_latent_layers is None else int(n_latent_layers)
    if layers < old_cfg.n_latent_layers:
        raise SpecfmInputError(
            f"n_latent_layers can only grow: {layers} is fewer than the network's "
            f"{old_cfg.n_latent_layers}.")
    if jitter < 0:
        raise SpecfmInputError(f"jitter must be zero or positive, not {jitter}.")
    if split not in _SPLITS:
        raise SpecfmInputError(f"split must be one of {', '.join(_SPLITS)}, not {split!r}.")
    cfg = copy.deepcopy(old_cfg)
    cfg.d_model = old_cfg.d_model * k
    cfg.n_heads = old_cfg.n_heads * k
    cfg.n_latents = old_cfg.n_latents if n_latents is None else int(n_latents)
    cfg.n_latent_layers = layers
    grown = SpecFMNetwork(cfg)

    source = {name: t.detach().float().cpu() for name, t in network.state_dict().items()}
    linear = {f"{name}.weight" for name, m in grown.named_modules() if isinstance(m, nn.Linear)}
    generator = torch.Generator().manual_seed(int(seed))
    shares = torch.Generator().manual_seed(int(seed) + 1) if split == "random" else None
    with torch.no_grad():
        state = grown.state_dict()
        for name, target in state.items():
            if name in source:
                target.copy_(_grown_tensor(source[name], target.shape, name in linear, shares))
        for block in grown.encoder.layers[old_cfg.n_latent_layers:]:
            _as_identity(block)
        if jitter:
            for p in grown.parameters():
                if p.numel() > 1:
                    scale = float(p.std())
                    p.add_(torch.randn(p.shape, generator=generator) * (jitter * scale))
    # not the old file's checksum and path: the grown network is another one
    grown.metadata = {key: copy.deepcopy(value) for key, value in network.metadata.items()
                      if key not in ("sha256", "path")}
    grown.metadata["grown_from"] = {
        "d_model": old_cfg.d_model, "n_heads": old_cfg.n_heads,
        "n_latents": old_cfg.n_latents, "n_latent_layers": old_cfg.n_latent_layers,
        "jitter": float(jitter), "split": split, "seed": int(seed)}
    return grown
