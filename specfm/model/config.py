"""The configuration of a `SpecFMNetwork`: architecture plus what the network was made for."""

import dataclasses

from ..exceptions import SpecfmInputError
from ..tokens.vocabulary import DEFAULT_VOCABULARY, Vocabulary

__all__ = ["ModelConfig"]


@dataclasses.dataclass
class ModelConfig:
    """Everything needed to rebuild a `SpecFMNetwork` and to feed it correctly.

    The defaults are the size proposed for shipped models (about 0.9 million weights).

    Parameters
    ----------
    d_model : int
        Width of every token, latent and query vector.
    n_heads : int
        Attention heads; must divide `d_model`.
    n_latents : int
        Number of learned latent vectors that the input tokens are read into. The cost of a
        forward pass is proportional to ``n_tokens * n_latents``.
    n_latent_layers : int
        Self-attention layers over the latents.
    n_decoder_layers : int
        Cross-attention layers from the query tokens to the latents.
    flux_decoder : bool
        Give flux requests a decoder and output head of their own (``flux_decoder`` and
        ``flux_head`` of `SpecFMNetwork`), so that training them to write spectra
        (generation, in-painting) cannot move the labels, which keep ``decoder`` and
        ``head``. False (one decoder for every request) in models made before it existed.
    ff_mult : int
        Hidden width of the feed-forward blocks, in units of `d_model`.
    dropout : float
        Dropout probability inside attention blocks (0 turns it off).
    n_frequencies : int
        Number of Fourier frequencies of the wavelength encoding.
    wavelength_min, wavelength_max : float
        Wavelength span (vacuum Angstrom) that the coarsest Fourier scale covers. This is a
        property of the encoding, not of any instrument: wavelengths outside it are still
        encoded (smoothly), only less distinctly.
    min_log_period : float
        Finest period of the encoding, in natural-log wavelength. The default (1e-5)
        separates pixels of spectra with resolving power up to ~100,000.
    n_kinds : int
        Size of the token-kind table (3 = flux, colour, label; fine-tuning may add kinds).
    vocabulary : `~specfm.tokens.Vocabulary`
        The label and colour tokens the network knows, in id order.
    tokenizer : dict or None
        The tokenizer configuration (an opaque JSON dict) that produced the training data.
    coverage : list of float or None
        ``[min, max]`` wavelength (Angstrom) of the training spectra, when known.
    logvar_min, logvar_max : float
        Bounds of the predicted log-variance (in the token's own scaled units).

    Examples
    --------
    >>> from specfm.model import ModelConfig
    >>> config = ModelConfig(d_model=16, n_heads=2, n_latents=8, n_latent_layers=1)
    >>> ModelConfig.from_dict(config.to_dict()) == config
    True

    """

    d_model: int = 128
    n_heads: int = 4
    n_latents: int = 64
    n_latent_layers: int = 4
    n_decoder_layers: int = 1
    flux_decoder: bool = False
    ff_mult: int = 2
    dropout: float = 0.0
    n_frequencies: int = 48
    wavelength_min: float = 1000.0
    wavelength_max: float = 500000.0
    min_log_period: float = 1e-5
    n_kinds: int = 3
    vocabulary: Vocabulary = DEFAULT_VOCABULARY
    tokenizer: dict | None = None
    coverage: list | None = None
    logvar_min: float = -16.0
    logvar_max: float = 8.0

    def __post_init__(self):
        if isinstance(self.vocabulary, (list, tuple)):
            self.vocabulary = Vocabulary.from_list(self.vocabulary)
        for name in ("d_model", "n_heads", "n_latents", "n_frequencies", "n_kinds", "ff_mult"):
            if int(getattr(self, name)) < 1:
                raise SpecfmInputError(f"ModelConfig.{name} must be a positive integer.")
        if self.d_model % self.n_heads:
            raise SpecfmInputError(
                f"ModelConfig.d_model ({self.d_model}) must be a multiple of n_heads "
                f"({self.n_heads}); change one of them."
            )
        if not 0 < self.wavelength_min < self.wavelength_max:
            raise SpecfmInputError("ModelConfig needs 0 < wavelength_min < wavelength_max.")
        if not 0 <= self.dropout < 1:
            raise SpecfmInputError("ModelConfig.dropout must lie in [0, 1).")
        if self.n_kinds < 3:
            raise SpecfmInputError("ModelConfig.n_kinds must be at least 3 (flux, colour, label).")

    def to_dict(self):
        """Return a JSON-serialisable dict."""
        out = dataclasses.asdict(self)
        out["vocabulary"] = self.vocabulary.to_list()
        if self.coverage is not None:
            out["coverage"] = [float(x) for x in self.coverage]
        return out

    @classmethod
    def from_dict(cls, data):
        """Build from the output of `to_dict`; unknown keys raise an error that names them."""
        data = dict(data)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecfmInputError(
                f"Unknown model configuration keys {unknown}; this file may come from a newer "
                "specfm. Known keys: " + ", ".join(sorted(known))
            )
        if "vocabulary" in data:
            data["vocabulary"] = Vocabulary.from_list(data["vocabulary"])
        return cls(**data)
