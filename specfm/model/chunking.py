"""The papers' inference option: random 512-pixel chunks whose predictions are combined.

SpectraFM (Koblischke & Bovy 2024) and Leung & Bovy (2023) read at most 512 tokens at a
time. `predict_chunked` reproduces that on top of the one-pass network: the valid flux
tokens of each row are shuffled (seeded) and split into nearly equal chunks of at most
``chunk_size`` tokens that together use every pixel once; the non-flux tokens (colours,
known labels) go into every chunk. The chunks' Gaussians are merged as an equal-weight
mixture: the mean of the means, and the mean of the variances plus the variance of the
means.
"""

import math

import torch

from ..tokens.vocabulary import TokenKind
from .network import NetworkOutput

__all__ = ["chunk_indices", "combine_rows", "predict_chunked"]


def chunk_indices(kind, valid, chunk_size=512, generator=None):
    """Split each row's valid tokens into chunks.

    Parameters
    ----------
    kind, valid : torch.Tensor
        ``(rows, tokens)`` token kinds and validity.
    chunk_size : int
        Most flux tokens per chunk.
    generator : torch.Generator or None
        Source of the random order (CPU generator).

    Returns
    -------
    list of (int, torch.Tensor)
        ``(row, token_indices)`` for each chunk, in row order.

    Examples
    --------
    >>> import torch
    >>> from specfm.model import chunk_indices
    >>> kind = torch.zeros(1, 1100, dtype=torch.long)
    >>> valid = torch.ones(1, 1100, dtype=torch.bool)
    >>> [len(idx) for _, idx in chunk_indices(kind, valid, 512)]
    [367, 367, 366]

    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be a positive integer.")
    kind, valid = kind.cpu(), valid.cpu()
    chunks = []
    for row in range(kind.shape[0]):
        flux = torch.nonzero(valid[row] & (kind[row] == TokenKind.FLUX)).flatten()
        other = torch.nonzero(valid[row] & (kind[row] != TokenKind.FLUX)).flatten()
        flux = flux[torch.randperm(len(flux), generator=generator)]
        n_chunks = max(1, math.ceil(len(flux) / chunk_size))
        for part in torch.tensor_split(flux, n_chunks):
            chunks.append((row, torch.cat([part, other])))
    return chunks


def _gather(tokens, rows, index, pad):
    out = {}
    for name, fill in (("wavelength", 0.0), ("value", 0.0), ("error", 0.0), ("kind", 0),
                       ("ident", -1), ("valid", False)):
        t = getattr(tokens, name)[rows[:, None], index]
        out[name] = t.masked_fill(pad, fill)
    return out


class _Tokens:
    def __init__(self, **tensors):
        self.__dict__.update(tensors)


@torch.no_grad()
def predict_chunked(network, tokens, queries, chunk_size=512, seed=0, batch_size=32,
                    return_attention=False):
    """Predict by averaging over random chunks of at most ``chunk_size`` flux tokens.

    Parameters
    ----------
    network : `SpecFMNetwork`
        The network (used as it is; put it in eval mode first).
    tokens : `~specfm.tokens.TokenBatch`
        Input tokens.
    queries : `QueryBatch`
        One row of queries per token row.
    chunk_size : int
        Most flux tokens per chunk (512 in both papers).
    seed : int
        Seed of the random split, for reproducible results.
    batch_size : int
        Chunks per forward pass.
    return_attention : bool
        Also return attention ``(rows, queries, tokens)``: each chunk's attention put back
        at its tokens' positions and divided by the number of chunks, so rows still sum
        to one.

    Returns
    -------
    `NetworkOutput`
        One prediction per token row.

    Examples
    --------
    >>> import torch
    >>> from specfm.model import ModelConfig, Query, SpecFMNetwork, predict_chunked
    >>> from specfm.tokens import TokenBatch, DEFAULT_VOCABULARY
    >>> net = SpecFMNetwork(ModelConfig(d_model=16, n_heads=2, n_latents=4,
    ...                                 n_latent_layers=1)).eval()
    >>> n = 40
    >>> tokens = TokenBatch(
    ...     wavelength=torch.linspace(4000, 7000, n)[None], value=torch.ones(1, n),
    ...     error=torch.full((1, n), 0.01), kind=torch.zeros(1, n, dtype=torch.long),
    ...     ident=torch.full((1, n), -1), valid=torch.ones(1, n, dtype=torch.bool),
    ...     spectrum_index=torch.zeros(1, dtype=torch.long), vocabulary=DEFAULT_VOCABULARY)
    >>> out = predict_chunked(net, tokens, Query(["teff"]).build(1, net.vocabulary),
    ...                       chunk_size=16)
    >>> out.mean.shape
    torch.Size([1, 1])

    """
    generator = torch.Generator().manual_seed(int(seed))
    chunks = chunk_indices(tokens.kind, tokens.valid, chunk_size, generator)
    device = tokens.valid.device
    n_rows, n_tok = tokens.valid.shape
    n_q = queries.kind.shape[1]
    row_of = torch.tensor([r for r, _ in chunks], dtype=torch.long, device=device)
    means, logvars, attention = [], [], None
    if return_attention:
        attention = torch.zeros(n_rows, n_q, n_tok, device=device)
    for start in range(0, len(chunks), batch_size):
        part = chunks[start:start + batch_size]
        width = max(1, max(len(idx) for _, idx in part))
        index = torch.zeros(len(part), width, dtype=torch.long)
        pad = torch.ones(len(part), width, dtype=torch.bool)
        for i, (_, idx) in enumerate(part):
            index[i, :len(idx)] = idx
            pad[i, :len(idx)] = False
        index, pad = index.to(device), pad.to(device)
        rows = row_of[start:start + len(part)]
        out = network(_Tokens(**_gather(tokens, rows, index, pad)), queries.select(rows),
                      return_attention=return_attention)
        means.append(out.mean)
        logvars.append(out.logvar)
        if return_attention:
            for i, (r, idx) in enumerate(part):
                attention[r][:, idx.to(device)] += out.attention[i, :, :len(idx)]
    mean, variance = combine_rows(torch.cat(means), torch.cat(logvars), row_of, n_rows)
    if return_attention:
        count = torch.bincount(row_of, minlength=n_rows).to(attention.dtype)
        attention = attention / count[:, None, None]
    return NetworkOutput(mean=mean, logvar=torch.log(variance), attention=attention)


def combine_rows(mean, logvar, row_index, n_rows):
    """Merge predictions of several rows per target as an equal-weight Gaussian mixture.

    Parameters
    ----------
    mean, logvar : torch.Tensor
        ``(rows, queries)`` per-row predictions.
    row_index : torch.Tensor
        ``(rows,)`` target of each row, in ``range(n_rows)``.
    n_rows : int
        Number of targets (spectra, or token rows that were chunked).

    Returns
    -------
    mean, variance : torch.Tensor
        ``(n_rows, queries)``: the mean of the means, and the mean of the variances plus the
        (population) variance of the means. NaN for targets with no rows.

    """
    n_q = mean.shape[1]
    zeros = torch.zeros(n_rows, n_q, dtype=mean.dtype, device=mean.device)
    count = torch.zeros(n_rows, dtype=mean.dtype, device=mean.device).index_add_(
        0, row_index, torch.ones(len(row_index), dtype=mean.dtype, device=mean.device))[:, None]
    avg = zeros.clone().index_add_(0, row_index, mean) / count
    spread = torch.exp(logvar) + (mean - avg[row_index]) ** 2
    variance = zeros.clone().index_add_(0, row_index, spread) / count
    return avg, variance
