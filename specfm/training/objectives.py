"""Training objectives: random context, random requests, Gaussian NLL with label errors.

Following Leung & Bovy (2023), every training row is a pool of tokens (its flux pixels,
any colours, and its known labels). For each row a random subset of the pool becomes the
context, and the network is asked for (i) every known label, and (ii) a few flux pixels,
preferably ones left out of the context (self-supervised in-painting). The loss is the
Gaussian negative log-likelihood with the reference value's own error added to the
predicted variance, ``var = exp(logvar) + error**2``; labels a star lacks are simply
not asked for. Setting ``label_context_probability=0`` and a context fraction of 1 gives
SpectraFM's supervised objective (spectrum in, labels out).
"""

import dataclasses
import math

import torch

from ..exceptions import SpecfmInputError
from ..model.queries import QueryBatch
from ..tokens.vocabulary import TokenKind

__all__ = ["MaskedTokenObjective", "ObjectiveConfig", "ObjectiveOutput", "gaussian_nll"]

_LOG_2PI = math.log(2 * math.pi)


def gaussian_nll(mean, logvar, target, target_error=None):
    """Gaussian negative log-likelihood per element, including the target's own error.

    Parameters
    ----------
    mean, logvar : torch.Tensor
        Prediction.
    target : torch.Tensor
        Reference values.
    target_error : torch.Tensor or None
        One-sigma errors of the references; added in quadrature to the prediction.

    Returns
    -------
    torch.Tensor
        ``0.5 * (log(2 pi var) + (target - mean)**2 / var)`` elementwise.

    Examples
    --------
    >>> import torch
    >>> from specfm.training import gaussian_nll
    >>> float(gaussian_nll(torch.tensor(0.0), torch.tensor(0.0), torch.tensor(0.0)))
    0.9189385175704956

    """
    var = torch.exp(logvar)
    if target_error is not None:
        var = var + target_error**2
    return 0.5 * (_LOG_2PI + torch.log(var) + (target - mean) ** 2 / var)


@dataclasses.dataclass
class ObjectiveConfig:
    """Settings of `MaskedTokenObjective`.

    Parameters
    ----------
    context_fraction : tuple of float
        Each row keeps a fraction of its flux tokens drawn uniformly in this interval.
    label_context_probability : float
        Probability that each known label is given as context.
    colour_context_probability : float or None
        Probability that each colour token of the input is kept as context (None: the same
        as ``label_context_probability``). Set it high when colours will be given at
        prediction time (e.g. Gaia XP with photometry).
    max_context_tokens : int or None
        Cap on context tokens per row (None: no cap).
    n_flux_queries : int
        Flux pixels requested per row (held-out pixels first).
    request_context_labels : bool
        Also ask for labels that were given as context (so they can be "requested back").
    label_weight, flux_weight : float
        Weights of label and flux requests in the mean loss.
    generation_probability : float
        Probability that a row is a *generation* row: no flux pixel in its context, every
        known label and colour given, and only flux requested back. This teaches the model
        to write a spectrum from labels (`specfm.inference.Model.generate`).
    block_mask_probability : float
        Probability that a row also loses, from its context, the flux pixels of one
        contiguous wavelength block (``block_fraction`` of its wavelength span), which the
        flux requests then ask for first. This teaches in-painting of gaps
        (`specfm.inference.Model.inpaint`).
    block_fraction : tuple of float
        Range of the block width, as a fraction of the row's wavelength span.
    nll_beta : float
        0 gives the plain Gaussian NLL of the papers. A positive value weights each term by
        the (gradient-free) total variance to this power: the "beta-NLL" of Seitzer et al.
        (2022), which avoids the long plateau plain NLL shows early in training while
        keeping the same optimum; 0.5 is their recommendation, and 1 gives the means
        the gradients of a squared error (stars with large residuals count more).
    flux_nll_beta : float or None
        The same for the flux terms; None (default) uses ``nll_beta``. With a larger
        ``nll_beta`` for labels than for fluxes, the tiny variances of the flux terms do
        not leave them with negligible weight.

    """

    context_fraction: tuple = (0.3, 1.0)
    label_context_probability: float = 0.25
    colour_context_probability: float | None = None
    max_context_tokens: int | None = None
    n_flux_queries: int = 8
    request_context_labels: bool = True
    label_weight: float = 1.0
    flux_weight: float = 1.0
    generation_probability: float = 0.0
    block_mask_probability: float = 0.0
    block_fraction: tuple = (0.05, 0.3)
    nll_beta: float = 0.0
    flux_nll_beta: float | None = None

    def __post_init__(self):
        lo, hi = (float(x) for x in self.context_fraction)
        if not 0 < lo <= hi <= 1:
            raise SpecfmInputError("context_fraction must be (low, high) with 0 < low <= high"
                                   " <= 1.")
        self.context_fraction = (lo, hi)
        if not 0 <= self.label_context_probability <= 1:
            raise SpecfmInputError("label_context_probability must lie in [0, 1].")
        if self.colour_context_probability is not None and not (
            0 <= self.colour_context_probability <= 1
        ):
            raise SpecfmInputError("colour_context_probability must lie in [0, 1].")
        if self.n_flux_queries < 0:
            raise SpecfmInputError("n_flux_queries must be >= 0.")
        for name in ("generation_probability", "block_mask_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise SpecfmInputError(f"{name} must lie in [0, 1].")
        lo, hi = (float(x) for x in self.block_fraction)
        if not 0 < lo <= hi < 1:
            raise SpecfmInputError("block_fraction must be (low, high) with 0 < low <= high"
                                   " < 1.")
        self.block_fraction = (lo, hi)
        for name in ("nll_beta", "flux_nll_beta"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise SpecfmInputError(f"{name} must lie in [0, 1].")

    def to_dict(self):
        """Return a JSON-serialisable dict."""
        out = dataclasses.asdict(self)
        out["context_fraction"] = list(self.context_fraction)
        out["block_fraction"] = list(self.block_fraction)
        return out


@dataclasses.dataclass
class ObjectiveOutput:
    """The loss of one batch and its parts (floats are detached)."""

    loss: torch.Tensor
    label_nll: float
    flux_nll: float
    n_label: int
    n_flux: int


class _Tokens:
    def __init__(self, **tensors):
        self.__dict__.update(tensors)


def _pool(batch, vocab_kinds):
    """Concatenate the row's tokens with one token per vocabulary label."""
    t = batch.tokens
    rows, n_vocab = batch.labels.shape
    dev = t.valid.device
    ids = torch.arange(n_vocab, device=dev).expand(rows, -1)
    return {
        "wavelength": torch.cat([t.wavelength, torch.zeros(rows, n_vocab, device=dev)], 1),
        "value": torch.cat([t.value, batch.labels], 1),
        "error": torch.cat([t.error, batch.label_errors], 1),
        "kind": torch.cat([t.kind, vocab_kinds.to(dev).expand(rows, -1)], 1),
        "ident": torch.cat([t.ident, ids], 1),
        "valid": torch.cat([t.valid, batch.label_mask], 1),
    }


class MaskedTokenObjective:
    """Random-context / random-request objective with a Gaussian NLL.

    Parameters
    ----------
    config : `ObjectiveConfig` or None
        Settings (defaults if None).

    """

    def __init__(self, config=None):
        self.config = config if config is not None else ObjectiveConfig()

    def sample(self, batch, generator):
        """Draw the context tokens, queries and targets of one batch.

        Returns
        -------
        context : object
            Token tensors (``wavelength``, ``value``, ...) of the chosen context.
        queries : `~specfm.model.QueryBatch`
            Label queries (one per vocabulary entry) then flux queries.
        target, target_error : torch.Tensor
            ``(rows, queries)`` references in scaled units.
        is_flux : torch.Tensor
            ``(rows, queries)`` True for flux queries.

        """
        cfg = self.config
        vocab = batch.tokens.vocabulary
        vocab_kinds = torch.tensor([int(s.kind) for s in vocab], dtype=torch.long)
        pool = _pool(batch, vocab_kinds)
        valid, kind = pool["valid"], pool["kind"]
        rows, width = valid.shape
        dev = valid.device

        def rand(*shape):
            return torch.rand(*shape, generator=generator, device=generator.device).to(dev)

        is_flux = kind == TokenKind.FLUX
        lo, hi = cfg.context_fraction
        frac = lo + (hi - lo) * rand(rows, 1)
        u = rand(rows, width)
        p_colour = (cfg.label_context_probability if cfg.colour_context_probability is None
                    else cfg.colour_context_probability)
        p_other = torch.where(kind == TokenKind.COLOUR, p_colour, cfg.label_context_probability)
        # (random numbers are drawn only for modes that are on, so that runs without
        # them draw exactly what earlier versions drew)
        generate = (rand(rows, 1) < cfg.generation_probability
                    if cfg.generation_probability else torch.zeros(rows, 1, dtype=torch.bool,
                                                                   device=dev))
        block = self._block(pool, is_flux, rand)
        flux_keep = (u < frac) & ~generate & ~block
        keep = valid & torch.where(is_flux, flux_keep, generate | (u < p_other))
        # every row keeps at least one token: a flux pixel (outside the block) if it has
        # any; a label or colour for generation rows
        prefer = torch.where(generate, is_flux, ~is_flux | block)
        first = torch.where(valid, u + 2.0 * prefer, 5.0).argmin(1)
        keep[torch.arange(rows, device=dev), first] |= valid.any(1)
        key = torch.where(keep, u, 2.0 + u)
        n_keep = int(keep.sum(1).max()) if rows else 0
        if cfg.max_context_tokens is not None:
            n_keep = min(n_keep, int(cfg.max_context_tokens))
        n_keep = max(n_keep, 1)
        order = torch.argsort(key, dim=1)[:, :n_keep]
        context = {k: v.gather(1, order) for k, v in pool.items()}
        context["valid"] = context["valid"] & keep.gather(1, order)
        in_context = torch.zeros_like(keep).scatter_(1, order, context["valid"])

        # label requests: every known label (optionally minus those given as context)
        n_tok = batch.tokens.n_tokens
        n_vocab = len(vocab)
        label_valid = batch.label_mask.clone()
        if not cfg.request_context_labels:
            label_valid &= ~in_context[:, n_tok:]
        # flux requests: held-out pixels first, then any
        n_fq = min(cfg.n_flux_queries, n_tok)
        flux_ok = valid[:, :n_tok] & is_flux[:, :n_tok]
        score = torch.where(flux_ok, rand(rows, n_tok) + in_context[:, :n_tok].float(), 3.0)
        picked = torch.argsort(score, dim=1)[:, :n_fq]
        flux_valid = flux_ok.gather(1, picked)
        queries = QueryBatch(
            kind=torch.cat([vocab_kinds.to(dev).expand(rows, -1),
                            torch.zeros(rows, n_fq, dtype=torch.long, device=dev)], 1),
            ident=torch.cat([torch.arange(n_vocab, device=dev).expand(rows, -1),
                             torch.full((rows, n_fq), -1, device=dev)], 1),
            wavelength=torch.cat([torch.zeros(rows, n_vocab, device=dev),
                                  batch.tokens.wavelength.gather(1, picked)], 1),
            valid=torch.cat([label_valid, flux_valid], 1),
        )
        target = torch.cat([batch.labels, batch.tokens.value.gather(1, picked)], 1)
        target_error = torch.cat([batch.label_errors, batch.tokens.error.gather(1, picked)], 1)
        query_is_flux = torch.zeros_like(queries.valid)
        query_is_flux[:, n_vocab:] = True
        return _Tokens(**context), queries, target, target_error, query_is_flux

    def _block(self, pool, is_flux, rand):
        """``(rows, width)`` True for flux tokens in each row's random masked block."""
        cfg = self.config
        rows = is_flux.shape[0]
        if not cfg.block_mask_probability or not rows:
            return torch.zeros_like(is_flux)
        wave = pool["wavelength"]
        ok = pool["valid"] & is_flux
        big = torch.finfo(wave.dtype).max
        w_lo = torch.where(ok, wave, big).amin(1, keepdim=True)
        w_hi = torch.where(ok, wave, -big).amax(1, keepdim=True)
        span = (w_hi - w_lo).clamp_min(0.0)
        lo, hi = cfg.block_fraction
        width = span * (lo + (hi - lo) * rand(rows, 1))
        start = w_lo + (span - width) * rand(rows, 1)
        active = rand(rows, 1) < cfg.block_mask_probability
        return active & ok & (wave >= start) & (wave <= start + width)

    def __call__(self, network, batch, generator):
        """Return the `ObjectiveOutput` of ``network`` on ``batch``.

        Parameters
        ----------
        network : callable
            A `~specfm.model.SpecFMNetwork` (or a DDP wrapper of one).
        batch : `TrainingBatch`
            Tokens and labels, on the network's device.
        generator : torch.Generator
            Random source of the context and requests.

        """
        context, queries, target, target_error, is_flux = self.sample(batch, generator)
        out = network(context, queries)
        nll = gaussian_nll(out.mean, out.logvar, target, target_error)
        weight = torch.where(is_flux, self.config.flux_weight, self.config.label_weight)
        weight = weight * queries.valid.to(nll.dtype)
        flux_beta = self.config.flux_nll_beta
        flux_beta = self.config.nll_beta if flux_beta is None else flux_beta
        if self.config.nll_beta or flux_beta:
            var = (torch.exp(out.logvar) + target_error**2).detach()
            beta = torch.where(is_flux, float(flux_beta), float(self.config.nll_beta))
            weight = weight * var**beta
        nll = torch.where(queries.valid, nll, 0.0)
        loss = (nll * weight).sum() / weight.sum().clamp_min(1e-12)
        lab, flx = queries.valid & ~is_flux, queries.valid & is_flux
        nll = nll.detach()
        n_lab, n_flx = int(lab.sum()), int(flx.sum())
        return ObjectiveOutput(
            loss=loss,
            label_nll=float(nll[lab].sum()) / max(n_lab, 1),
            flux_nll=float(nll[flx].sum()) / max(n_flx, 1),
            n_label=n_lab,
            n_flux=n_flx,
        )
