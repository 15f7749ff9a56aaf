"""Multi-head attention that can return its weights.

Without weights, attention runs through PyTorch's fused
`~torch.nn.functional.scaled_dot_product_attention`, which never stores the
``(queries, keys)`` weight matrix: for 8,600 pixels and 64 latents that matrix would be
the largest tensor of the whole forward pass. With ``need_weights=True`` an explicit
softmax is used instead and the weights are returned: they are what the attention maps
of `SpecFMNetwork.forward` are built from. Padding keys get exactly zero weight, and a
row whose keys are all padding gives a zero output instead of NaN. The two paths agree to
float32 rounding.
"""

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["CrossAttentionBlock", "FeedForward", "MultiHeadAttention", "SelfAttentionBlock"]


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention over several heads.

    Parameters
    ----------
    d_model : int
        Width of queries, keys and values.
    n_heads : int
        Number of heads (divides ``d_model``).
    dropout : float
        Dropout on the attention weights during training.

    Examples
    --------
    >>> import torch
    >>> from specfm.model import MultiHeadAttention
    >>> att = MultiHeadAttention(8, 2)
    >>> out, w = att(torch.randn(1, 3, 8), torch.randn(1, 5, 8), need_weights=True)
    >>> out.shape, w.shape
    (torch.Size([1, 3, 8]), torch.Size([1, 2, 3, 5]))

    """

    def __init__(self, d_model, n_heads, dropout=0.0):
        super().__init__()
        self.n_heads = n_heads
        self.d_head = d_model // n_heads
        self.q = nn.Linear(d_model, d_model)
        self.k = nn.Linear(d_model, d_model)
        self.v = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def _split(self, x):
        b, n, _ = x.shape
        return x.view(b, n, self.n_heads, self.d_head).transpose(1, 2)

    def _fused(self, q, k, v, key_mask):
        """`torch.nn.functional.scaled_dot_product_attention`: no (q, n) matrix is kept."""
        p = self.dropout.p if self.training else 0.0
        # a mask that keeps every key is left out: the kernel is faster without one
        if key_mask is None or (not torch.compiler.is_compiling() and bool(key_mask.all())):
            return F.scaled_dot_product_attention(q, k, v, dropout_p=p)
        any_valid = key_mask.any(-1)
        # a row without valid keys attends to all (harmlessly) and is then zeroed
        mask = (key_mask | ~any_valid[:, None])[:, None, None, :]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
        return out * any_valid[:, None, None, None].to(out.dtype)

    def forward(self, query, context, key_mask=None, need_weights=False):
        """Attend from ``query`` (b, q, d) to ``context`` (b, n, d).

        Parameters
        ----------
        query, context : torch.Tensor
            Queries and keys/values.
        key_mask : torch.Tensor or None
            Boolean ``(b, n)``: True for keys that may be attended to.
        need_weights : bool
            Also return the attention weights, shape ``(b, heads, q, n)``.

        Returns
        -------
        out : torch.Tensor
            ``(b, q, d)``.
        weights : torch.Tensor or None
            The weights (before dropout) when asked for.

        """
        q = self._split(self.q(query))
        k, v = self._split(self.k(context)), self._split(self.v(context))
        if not need_weights:
            out = self._fused(q, k, v, key_mask)
            b, h, nq, dh = out.shape
            return self.out(out.transpose(1, 2).reshape(b, nq, h * dh)), None
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.d_head**-0.5
        if key_mask is not None:
            mask = key_mask[:, None, None, :]
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
            weights = torch.softmax(scores, dim=-1) * mask.to(scores.dtype)
        else:
            weights = torch.softmax(scores, dim=-1)
        out = torch.matmul(self.dropout(weights), v)
        b, h, nq, dh = out.shape
        out = self.out(out.transpose(1, 2).reshape(b, nq, h * dh))
        return out, (weights if need_weights else None)


class FeedForward(nn.Module):
    """Pre-norm two-layer MLP with GELU and a residual connection."""

    def __init__(self, d_model, mult=2, dropout=0.0):
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(d_model), nn.Linear(d_model, mult * d_model), nn.GELU(),
            nn.Dropout(dropout), nn.Linear(mult * d_model, d_model),
        )

    def forward(self, x):
        """Return ``x + mlp(x)``."""
        return x + self.net(x)


class CrossAttentionBlock(nn.Module):
    """``x <- x + attn(norm(x), norm(context)); x <- x + ff(x)`` (pre-norm)."""

    def __init__(self, d_model, n_heads, ff_mult=2, dropout=0.0):
        super().__init__()
        self.norm_q = nn.LayerNorm(d_model)
        self.norm_kv = nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.ff = FeedForward(d_model, ff_mult, dropout)

    def forward(self, x, context, key_mask=None, need_weights=False):
        """Return the updated ``x`` and the attention weights (or None)."""
        out, w = self.attn(self.norm_q(x), self.norm_kv(context), key_mask, need_weights)
        return self.ff(x + out), w


class SelfAttentionBlock(nn.Module):
    """Pre-norm self-attention plus feed-forward block."""

    def __init__(self, d_model, n_heads, ff_mult=2, dropout=0.0):
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, n_heads, dropout)
        self.ff = FeedForward(d_model, ff_mult, dropout)

    def forward(self, x, need_weights=False):
        """Return the updated ``x`` and the attention weights (or None)."""
        h = self.norm(x)
        out, w = self.attn(h, h, None, need_weights)
        return self.ff(x + out), w
