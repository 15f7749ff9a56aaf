"""The full network: tokens -> latents -> answers to queries, with attention maps.

The design is a Perceiver-IO (Jaegle et al. 2021): the N input tokens are read by
cross-attention into a fixed number L of learned latents, the latents talk to each other
in a few self-attention layers, and each query token reads the latents by cross-attention.
Nothing ever attends from a token to all other tokens, so the cost is O(N L), linear in
the number of pixels, and a whole high-resolution spectrum fits in one pass.
"""

import dataclasses

import torch
from torch import nn

from ..exceptions import SpecfmInputError
from ..tokens.vocabulary import TokenKind
from .attention import CrossAttentionBlock, SelfAttentionBlock
from .config import ModelConfig
from .embeddings import QueryEmbedding, TokenEmbedding
from .heads import GaussianHead

__all__ = ["Decoder", "Encoder", "NetworkOutput", "SpecFMNetwork"]


@dataclasses.dataclass
class NetworkOutput:
    """What `SpecFMNetwork.forward` returns.

    Attributes
    ----------
    mean : torch.Tensor
        ``(rows, queries)`` predicted value, in the scaled units of the requested token
        (``(value - offset) / scale`` for labels, normalised flux for flux queries).
    logvar : torch.Tensor
        ``(rows, queries)`` natural log of the predicted variance, same units squared.
    attention : torch.Tensor or None
        ``(rows, queries, tokens)`` attention of each query on each input token (see
        `SpecFMNetwork.forward`); None unless asked for.

    """

    mean: torch.Tensor
    logvar: torch.Tensor
    attention: torch.Tensor | None = None

    @property
    def std(self):
        """Predicted standard deviation, ``exp(logvar / 2)``."""
        return torch.exp(0.5 * self.logvar)


class Encoder(nn.Module):
    """Learned latents that cross-attend to the tokens, then self-attend."""

    def __init__(self, config):
        super().__init__()
        d = config.d_model
        self.latents = nn.Parameter(torch.randn(config.n_latents, d) * 0.02)
        self.cross = CrossAttentionBlock(d, config.n_heads, config.ff_mult, config.dropout)
        self.layers = nn.ModuleList(
            SelfAttentionBlock(d, config.n_heads, config.ff_mult, config.dropout)
            for _ in range(config.n_latent_layers)
        )

    def forward(self, tokens, mask, need_weights=False):
        """Return latents ``(rows, L, d)`` and, if asked, the rollout ``(rows, L, tokens)``.

        The rollout follows Abnar & Zuidema (2020): each self-attention layer's
        head-averaged weights are mixed half-and-half with the identity (the residual
        path) and multiplied onto the cross-attention weights.
        """
        z = self.latents.expand(tokens.shape[0], -1, -1)
        z, w = self.cross(z, tokens, mask, need_weights)
        rollout = w.mean(1) if need_weights else None
        for layer in self.layers:
            z, w = layer(z, need_weights)
            if need_weights:
                eye = torch.eye(w.shape[-1], dtype=w.dtype, device=w.device)
                rollout = torch.matmul(0.5 * w.mean(1) + 0.5 * eye, rollout)
        return z, rollout


class Decoder(nn.Module):
    """Query tokens that cross-attend to the latents (never to each other)."""

    def __init__(self, config, token_embedding):
        super().__init__()
        d = config.d_model
        self.embed = QueryEmbedding(token_embedding, d)
        self.layers = nn.ModuleList(
            CrossAttentionBlock(d, config.n_heads, config.ff_mult, config.dropout)
            for _ in range(config.n_decoder_layers)
        )

    def forward(self, latents, kind, ident, wavelength, need_weights=False):
        """Return query vectors ``(rows, q, d)`` and mean weights on latents (or None)."""
        x = self.embed(kind, ident, wavelength)
        total = None
        for layer in self.layers:
            x, w = layer(x, latents, None, need_weights)
            if need_weights:
                total = w.mean(1) if total is None else total + w.mean(1)
        if need_weights and total is not None:
            total = total / len(self.layers)
        return x, total


class SpecFMNetwork(nn.Module):
    """The specfm Transformer: any set of tokens in, any requested tokens out.

    Parameters
    ----------
    config : `ModelConfig`
        Architecture, vocabulary and provenance of the inputs.

    Examples
    --------
    >>> import torch
    >>> from specfm.model import ModelConfig, Query, SpecFMNetwork
    >>> from specfm.tokens import TokenBatch, DEFAULT_VOCABULARY
    >>> net = SpecFMNetwork(ModelConfig(d_model=16, n_heads=2, n_latents=4,
    ...                                 n_latent_layers=1))
    >>> n = 10
    >>> tokens = TokenBatch(
    ...     wavelength=torch.linspace(15100, 16900, n)[None], value=torch.ones(1, n),
    ...     error=torch.full((1, n), 0.01), kind=torch.zeros(1, n, dtype=torch.long),
    ...     ident=torch.full((1, n), -1), valid=torch.ones(1, n, dtype=torch.bool),
    ...     spectrum_index=torch.zeros(1, dtype=torch.long), vocabulary=DEFAULT_VOCABULARY)
    >>> out = net(tokens, Query(["teff", "logg"]).build(1, net.vocabulary),
    ...           return_attention=True)
    >>> out.mean.shape, out.attention.shape
    (torch.Size([1, 2]), torch.Size([1, 2, 10]))

    """

    def __init__(self, config=None):
        super().__init__()
        self.config = config if config is not None else ModelConfig()
        self.embed = TokenEmbedding(self.config)
        self.encoder = Encoder(self.config)
        self.decoder = Decoder(self.config, self.embed)
        self.head = GaussianHead(self.config.d_model, self.config.logvar_min,
                                 self.config.logvar_max)
        if self.config.flux_decoder:
            self.flux_decoder = Decoder(self.config, self.embed)
            self.flux_head = GaussianHead(self.config.d_model, self.config.logvar_min,
                                          self.config.logvar_max)
        self.metadata = {}

    @property
    def vocabulary(self):
        """The `~specfm.tokens.Vocabulary` of label and colour tokens."""
        return self.config.vocabulary

    def n_parameters(self, trainable_only=False):
        """Return the number of weights (only those that require gradients, if asked)."""
        return sum(p.numel() for p in self.parameters()
                   if p.requires_grad or not trainable_only)

    def _check(self, tokens, queries):
        if tokens.valid.dim() != 2:
            raise SpecfmInputError("Token tensors must have shape (rows, tokens).")
        if queries.kind.shape[0] != tokens.valid.shape[0]:
            raise SpecfmInputError(
                f"The queries have {queries.kind.shape[0]} rows but the tokens have "
                f"{tokens.valid.shape[0]}; build them with Query.build(n_rows, ...)."
            )
        for name, ids in (("token", tokens.ident), ("query", queries.ident)):
            if ids.numel() and int(ids.max()) >= self.embed.ident.n_rows:
                raise SpecfmInputError(
                    f"A {name} id is beyond the network's vocabulary of "
                    f"{self.embed.ident.n_rows} entries; tokenize with the model's vocabulary "
                    "or extend it with specfm.training.extend_network."
                )

    def forward(self, tokens, queries, return_attention=False):
        """Predict the requested tokens from the given ones.

        Parameters
        ----------
        tokens : `~specfm.tokens.TokenBatch`
            Input tokens (anything with ``wavelength``, ``value``, ``error``, ``kind``,
            ``ident`` and ``valid`` tensors of shape ``(rows, tokens)`` will do).
        queries : `~specfm.model.QueryBatch`
            What to predict, one row of queries per token row.
        return_attention : bool
            Also return, for each query, the attention on each input token: the
            head-averaged query-to-latent weights times the latent rollout to the tokens.
            Each row sums to one over the valid tokens and is zero on padding.

        Returns
        -------
        `NetworkOutput`
            Means and log-variances ``(rows, queries)``, and the attention if asked for.

        Raises
        ------
        specfm.exceptions.SpecfmInputError
            If shapes disagree or an id is outside the vocabulary.

        """
        if not torch.compiler.is_compiling():  # data-dependent checks: eager calls only
            self._check(tokens, queries)
        x = self.embed(tokens.wavelength, tokens.value, tokens.error, tokens.kind,
                       tokens.ident, tokens.valid)
        latents, rollout = self.encoder(x, tokens.valid, return_attention)
        mean, logvar, on_latents = self._decode(latents, queries, return_attention)
        attention = torch.matmul(on_latents, rollout) if return_attention else None
        return NetworkOutput(mean=mean, logvar=logvar, attention=attention)

    def _decode(self, latents, queries, return_attention):
        """Means, log-variances and weights on the latents of the requests.

        With ``config.flux_decoder``, flux requests go through ``flux_decoder`` and
        ``flux_head``, the others through ``decoder`` and ``head``; a batch of one kind of
        request runs only its own decoder (``Model.predict`` asks labels alone,
        ``Model.generate`` flux alone).
        """
        def answer(decoder, head):
            q, on_latents = decoder(latents, queries.kind, queries.ident, queries.wavelength,
                                    return_attention)
            return (*head(q), on_latents)

        if not self.config.flux_decoder:
            return answer(self.decoder, self.head)
        is_flux = queries.kind == TokenKind.FLUX
        if not torch.compiler.is_compiling():  # (data-dependent: eager calls only)
            if bool(is_flux.all()):
                return answer(self.flux_decoder, self.flux_head)
            if not bool(is_flux.any()):
                return answer(self.decoder, self.head)
        mean, logvar, w = answer(self.decoder, self.head)
        f_mean, f_logvar, f_w = answer(self.flux_decoder, self.flux_head)
        mean = torch.where(is_flux, f_mean, mean)
        logvar = torch.where(is_flux, f_logvar, logvar)
        if return_attention:
            w = torch.where(is_flux.unsqueeze(-1), f_w, w)
        return mean, logvar, w
