"""Token embeddings: wavelength encoding, flux pixels, labels and colours, queries.

Every token becomes one vector of width ``d_model``:

* a flux pixel: an MLP of periodic features of its value and of its log-uncertainty,
  plus a Fourier encoding of its log-wavelength;
* a label or colour token: a learned vector for its vocabulary id, plus an MLP of the
  same kind of features of its value and log-uncertainty;
* both: plus a learned vector for the token kind.

Query tokens (what the network is asked to predict) reuse the same tables: a flux query
is the encoding of the requested wavelength, a label query the vector of the requested id,
each plus a learned "this is a question" vector.
"""

import math

import torch
from torch import nn

from ..tokens.vocabulary import TokenKind

__all__ = ["GrowableEmbedding", "QueryEmbedding", "TokenEmbedding", "WavelengthEncoding"]

_ERROR_FLOOR = 1e-6
_DISTINCT_MIN_TOKENS = 4096
"""From this many wavelengths on, `WavelengthEncoding` encodes each distinct value once."""
_KEPT_MAX_VALUES = 65536
"""How many wavelengths' encodings `WavelengthEncoding` keeps for predictions (at most
``_KEPT_MAX_VALUES * d_model`` floats: 32 MiB for a width of 128)."""


class WavelengthEncoding(nn.Module):
    """Multi-scale Fourier features of log-wavelength, projected to ``d_model``.

    The phases are computed in float64, so pixel-scale frequencies keep their precision
    for any wavelength. The periods are geometrically spaced from ``min_log_period`` (in
    ``ln(lambda)``) up to twice the log-span ``ln(wavelength_max / wavelength_min)``, so
    one encoding serves spectra from the UV to the mid-infrared without knowing any
    instrument. A linear term (the centred, scaled log-wavelength) is appended.

    Parameters
    ----------
    d_model : int
        Output width.
    n_frequencies : int
        Number of frequencies (each gives a sine and a cosine).
    wavelength_min, wavelength_max : float
        The span in Angstrom covered by the coarsest scale.
    min_log_period : float
        The finest period in natural-log wavelength.

    Examples
    --------
    >>> import torch
    >>> from specfm.model import WavelengthEncoding
    >>> enc = WavelengthEncoding(8, n_frequencies=4)
    >>> enc(torch.tensor([[5000.0, 16000.0]])).shape
    torch.Size([1, 2, 8])

    """

    def __init__(self, d_model, n_frequencies=48, wavelength_min=1000.0,
                 wavelength_max=500000.0, min_log_period=1e-5):
        super().__init__()
        log_span = math.log(wavelength_max / wavelength_min)
        periods = torch.logspace(math.log10(min_log_period), math.log10(2 * log_span),
                                 n_frequencies, dtype=torch.float64)
        self.register_buffer("omega", 2 * math.pi / periods, persistent=False)
        self.centre = 0.5 * (math.log(wavelength_min) + math.log(wavelength_max))
        self.half_span = 0.5 * log_span
        self.proj = nn.Linear(2 * n_frequencies + 1, d_model)
        self._kept = None  # (weights' version, wavelengths, encodings): _encode_distinct

    def features(self, wavelength):
        """Return the raw (unprojected) features, shape ``(..., 2 * n_frequencies + 1)``."""
        x = torch.log(wavelength.double().clamp_min(1.0)) - self.centre
        # the phase needs float64; once reduced modulo 2 pi, float32 is enough
        phase = torch.remainder(x.unsqueeze(-1) * self.omega, 2 * math.pi)
        phase = phase.to(self.proj.weight.dtype)
        linear = (x / self.half_span).to(phase.dtype).unsqueeze(-1)
        return torch.cat([torch.sin(phase), torch.cos(phase), linear], dim=-1)

    def forward(self, wavelength):
        """Encode wavelengths (Angstrom, any shape) to vectors of width ``d_model``.

        A batch of spectra on a few grids holds each wavelength many times (every Gaia XP
        spectrum has the same 343), so a large input is encoded once per row when all
        rows are the same (returned as a broadcast view), else once per distinct value and
        gathered back: the same numbers, without repeating the float64 features and their
        projection for every token. For predictions, the encodings are also kept from one
        call to the next (`_encode_distinct`), so the result is to be read, not written to.
        """
        if (wavelength.dim() < 2 or wavelength.numel() < _DISTINCT_MIN_TOKENS
                or torch.compiler.is_compiling()):
            return self.proj(self.features(wavelength))
        first = wavelength[:1]
        if torch.equal(wavelength, first.expand_as(wavelength)):
            row = first.reshape(-1)
            if bool((row[1:] > row[:-1]).all()):  # sorted and distinct already
                encoded = self._encode_distinct(row)
            else:
                distinct, inverse = torch.unique(row, return_inverse=True)
                encoded = self._encode_distinct(distinct)[inverse]
            return encoded.reshape(first.shape + encoded.shape[-1:]).expand(
                *wavelength.shape, -1)
        distinct, inverse = torch.unique(wavelength, return_inverse=True)
        if 2 * distinct.numel() <= wavelength.numel():
            return self._encode_distinct(distinct)[inverse]
        return self.proj(self.features(wavelength))

    def _encode_distinct(self, values):
        """``proj(features(values))`` of sorted distinct ``values``, from earlier calls if it can.

        Predictions on a survey meet the same wavelengths batch after batch (the same
        grid, less each spectrum's own bad pixels), and encoding them (float64 phases,
        sines, the projection) costs about as much as a token-wide matrix multiply. So,
        without gradients and on the CPU, the encodings of the wavelengths seen are kept
        (up to `_KEPT_MAX_VALUES`; beyond, those of the last call) with the version of the
        projection's weights, and any in-place change of those (an optimiser step,
        ``load_state_dict``) starts afresh. Values are matched exactly, so the numbers are
        those computed anew (to the rounding of a matrix product of another size).
        """
        if torch.is_grad_enabled() or values.device.type != "cpu":
            return self.proj(self.features(values))
        values = values.contiguous()
        weight, bias = self.proj.weight, self.proj.bias
        version = (weight.data_ptr(), weight._version, bias._version, weight.dtype,
                   values.dtype)
        kept = self._kept  # read once: another thread may replace it (never change it)
        if kept is not None and kept[0] == version:
            _, known, encoded = kept
            if torch.equal(known, values):
                return encoded
            where = torch.searchsorted(known, values).clamp_(max=known.numel() - 1)
            found = known[where] == values
            if bool(found.all()):
                return encoded[where]
            values_new = values[~found]
            if known.numel() + values_new.numel() <= _KEPT_MAX_VALUES:
                encoded_new = self.proj(self.features(values_new))
                known, order = torch.sort(torch.cat([known, values_new]))
                encoded = torch.cat([encoded, encoded_new])[order]
                self._kept = (version, known, encoded)
                return encoded[torch.searchsorted(known, values)]
        out = self.proj(self.features(values))
        if values.numel() <= _KEPT_MAX_VALUES:
            self._kept = (version, values.clone(), out)  # not a view of the caller's
        return out


class GrowableEmbedding(nn.Module):
    """An embedding table that can grow, and whose first rows can be frozen.

    Fine-tuning adds rows for new labels or token kinds; `freeze_rows` then keeps the old
    rows exactly as they were (their gradient is zeroed) while the new rows learn.

    Parameters
    ----------
    n_rows, d_model : int
        Shape of the table.

    """

    def __init__(self, n_rows, d_model):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_rows, d_model) * 0.02)
        self.frozen_rows = 0
        self._hook = None

    @property
    def n_rows(self):
        """Number of rows."""
        return self.weight.shape[0]

    def forward(self, index):
        """Look up rows; negative indices (padding) give zero vectors."""
        safe = index.clamp_min(0)
        out = self.weight[safe]
        return out * (index >= 0).unsqueeze(-1).to(out.dtype)

    def grow(self, n_new, like=None):
        """Append ``n_new`` rows, initialised to the mean of rows ``like`` (or of all rows)."""
        with torch.no_grad():
            old = self.weight.detach()
            ref = old[list(like)] if like else old
            new = ref.mean(0, keepdim=True) + 0.02 * torch.randn(n_new, old.shape[1],
                                                                  dtype=old.dtype)
            self.weight = nn.Parameter(torch.cat([old, new.to(old.device)]))
        if self._hook is not None:
            self._hook = None
            self.freeze_rows(self.frozen_rows)

    def freeze_rows(self, n):
        """Zero the gradient of the first ``n`` rows from now on (0 undoes it)."""
        self.frozen_rows = int(n)
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        if self.frozen_rows:
            rows = self.frozen_rows

            def _mask(grad):
                grad = grad.clone()
                grad[:rows] = 0
                return grad

            self._hook = self.weight.register_hook(_mask)


_VALUE_FREQUENCIES = (0.5, 1.0, 2.0, 4.0)  # cycles per unit of value
_N_VALUE_FEATURES = 2 + 2 * len(_VALUE_FREQUENCIES)


def _value_mlp(d_model):
    return nn.Sequential(nn.Linear(_N_VALUE_FEATURES, d_model), nn.GELU(),
                         nn.Linear(d_model, d_model))


def _value_features(value, error, centre=0.0):
    """Periodic features of a value plus its log-uncertainty.

    Raw values make a poor MLP input: a 10 % line depth hardly moves a randomly
    initialised layer, and training stalls. Sines and cosines of the centred value at a
    few frequencies (Gorishniy et al. 2022, "On embeddings for numerical features")
    make small differences visible from the first step. Flux is centred on 1 (the
    continuum), scaled labels on 0.
    """
    x = value - centre
    freq = torch.tensor(_VALUE_FREQUENCIES, dtype=x.dtype, device=x.device) * (2 * math.pi)
    phase = x.unsqueeze(-1) * freq
    log_err = 0.25 * torch.log(error.clamp_min(_ERROR_FLOOR))
    return torch.cat([x.unsqueeze(-1), log_err.unsqueeze(-1), torch.sin(phase),
                      torch.cos(phase)], dim=-1)


class TokenEmbedding(nn.Module):
    """Embed the tokens of a `~specfm.tokens.TokenBatch` to ``(rows, tokens, d_model)``.

    Parameters
    ----------
    config : `ModelConfig`
        Architecture settings.

    Notes
    -----
    The flux branch runs on every token, the label/colour branch only on the non-flux
    tokens (and on zero rows when there are none), so every weight takes part in every
    step, which distributed training requires, at little cost.

    """

    def __init__(self, config):
        super().__init__()
        d = config.d_model
        self.wavelength = WavelengthEncoding(d, config.n_frequencies, config.wavelength_min,
                                             config.wavelength_max, config.min_log_period)
        self.flux_value = _value_mlp(d)
        self.other_value = _value_mlp(d)
        self.ident = GrowableEmbedding(len(config.vocabulary), d)
        self.kind = GrowableEmbedding(config.n_kinds, d)
        self.norm = nn.LayerNorm(d)

    def forward(self, wavelength, value, error, kind, ident, valid):
        """Return token vectors; padding tokens give zeros before the final norm."""
        is_flux = kind == TokenKind.FLUX
        # in place where autograd allows it (a Linear's backward does not need its output):
        # for a whole APOGEE batch each temporary of width d_model is hundreds of MB
        out = self.flux_value(_value_features(value, error, 1.0))
        # under bfloat16 autocast the Linear gives bfloat16: sum in the tables' float32
        out = out.to(torch.promote_types(out.dtype, self.kind.weight.dtype))
        out += self.wavelength(wavelength)
        out += self.kind.weight[int(TokenKind.FLUX)]
        # the few non-flux tokens get their own branch; it runs (on zero rows, if need be)
        # even without any, so every weight is always part of the graph
        other = ~is_flux
        if torch.compiler.is_compiling():
            # torch.compile cannot trace the data-dependent selection below: compute the
            # branch for every token and keep it where the token is not a flux pixel
            emb = (self.other_value(_value_features(value, error)) + self.ident(ident.clamp(min=0))
                   + self.kind(kind))
            out = torch.where(other.unsqueeze(-1), emb, out)
        else:
            sel_value, sel_error, sel_ident = value[other], error[other], ident[other]
            emb = (self.other_value(_value_features(sel_value, sel_error))
                   + self.ident(sel_ident) + self.kind(kind[other]))
            out.index_put_((other,), emb.to(out.dtype))
        return self.norm(out).mul_(valid.unsqueeze(-1).to(out.dtype))


class QueryEmbedding(nn.Module):
    """Embed query tokens (requested labels or flux wavelengths) to ``(rows, q, d_model)``.

    The label table, kind table and wavelength encoding are shared with the
    `TokenEmbedding`, so that a label means the same thing as input and as output.

    Parameters
    ----------
    tokens : `TokenEmbedding`
        The input embedding whose tables are shared.
    d_model : int
        Width.

    """

    def __init__(self, tokens, d_model):
        super().__init__()
        self._tokens = [tokens]  # shared, not a submodule (avoids registering it twice)
        self.marker = nn.Parameter(torch.randn(d_model) * 0.02)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, kind, ident, wavelength):
        """Return query vectors."""
        tok = self._tokens[0]
        is_flux = (kind == TokenKind.FLUX).unsqueeze(-1)
        out = torch.where(is_flux, tok.wavelength(wavelength), tok.ident(ident))
        return self.norm(out + tok.kind(kind) + self.marker)
