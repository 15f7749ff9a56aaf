"""The padded batch of tokens that the model reads, and the report that comes with it."""

import dataclasses

import numpy as np
import torch

from .vocabulary import TokenKind, Vocabulary

__all__ = ["SpectrumReport", "TokenBatch"]


@dataclasses.dataclass
class SpectrumReport:
    """What the adapter did to one input spectrum.

    Every pixel that does not become a valid token is counted here under the reason it was
    dropped, so nothing disappears silently.

    Attributes
    ----------
    index : int
        Position of the spectrum in the input (after flattening batches and lists).
    n_pixels : int
        Pixels in the input spectrum.
    n_valid : int
        Pixels that became valid flux tokens (before any cap on tokens).
    n_masked : int
        Pixels flagged bad by the input mask.
    n_nonfinite : int
        Pixels with NaN or infinite flux.
    n_bad_uncertainty : int
        Pixels with a negative, non-finite or too large uncertainty.
    n_outside_coverage : int
        Pixels outside the wavelength coverage.
    n_bad_continuum : int
        Pixels the normalisation could not handle (e.g. a chip too short for a
        continuum, or a non-positive continuum or median).
    n_floored_uncertainty : int
        Pixels whose (zero or tiny) uncertainty was raised to the floor.
    uncertainty_source : str
        ``"input"``, or ``"estimated"`` (DER_SNR) when the spectrum carried none.
    normalisation : str
        Name of the normalisation recipe applied.
    scale : float
        For median normalisation, the median that was divided out; else 1.
    snr : float
        Median S/N of the input (`~specfm.tokens.median_snr`: ``|flux| / uncertainty``
        over usable pixels); NaN when no pixel counts.
    snr_read : float
        The S/N it was read at: ``snr``, or the tokenizer's ``max_snr`` when ``snr`` was
        above it and noise was added (`~specfm.tokens.degrade_to_snr`).
    n_tokens : int
        Flux tokens kept after the cap (over all of its rows, if chunked).
    rows : tuple of int
        Rows of the batch that hold this spectrum (several when chunked).
    n_inputs : int
        Non-spectral tokens (colours, known labels) added to each of its rows.
    error : str or None
        Why the spectrum gave no tokens, when tokenised with ``on_error="mask"``.

    """

    index: int
    n_pixels: int
    n_valid: int = 0
    n_masked: int = 0
    n_nonfinite: int = 0
    n_bad_uncertainty: int = 0
    n_outside_coverage: int = 0
    n_bad_continuum: int = 0
    n_floored_uncertainty: int = 0
    uncertainty_source: str = "input"
    normalisation: str = "none"
    scale: float = 1.0
    snr: float = float("nan")
    snr_read: float = float("nan")
    n_tokens: int = 0
    rows: tuple = ()
    n_inputs: int = 0
    error: str | None = None

    @property
    def snr_degraded(self):
        """True when noise was added to read the spectrum at a lower S/N (``max_snr``)."""
        return bool(self.snr_read < self.snr)

    @property
    def n_dropped(self):
        """Pixels that were not turned into valid tokens."""
        return self.n_pixels - self.n_valid


@dataclasses.dataclass
class TokenBatch:
    """A padded batch of token sequences.

    All tensors have shape ``(n_rows, n_tokens)`` except `spectrum_index`, whose shape is
    ``(n_rows,)``. A row normally holds one spectrum; when a cap on tokens chunks a spectrum,
    it fills several rows, and `spectrum_index` says which input spectrum each row came from.

    Attributes
    ----------
    wavelength : torch.Tensor (float32)
        Vacuum wavelength in Angstrom, in the rest frame when a velocity was given. Zero for
        non-flux tokens and padding.
    value : torch.Tensor (float32)
        Normalised flux for flux tokens; ``(value - offset) / scale`` for labels and colours.
        Always finite; zero where not `valid`.
    error : torch.Tensor (float32)
        One-sigma uncertainty of `value`, on the same scale. Always finite and positive
        where `valid`; zero elsewhere.
    kind : torch.Tensor (int64)
        `TokenKind` of each token.
    ident : torch.Tensor (int64)
        Vocabulary id for label and colour tokens; -1 for flux tokens and padding.
    valid : torch.Tensor (bool)
        True for real tokens; False for padding and masked pixels.
    spectrum_index : torch.Tensor (int64)
        For each row, the index of the input spectrum it came from.
    vocabulary : Vocabulary
        The vocabulary that `ident` refers to.
    reports : list of SpectrumReport
        One per input spectrum.

    """

    wavelength: torch.Tensor
    value: torch.Tensor
    error: torch.Tensor
    kind: torch.Tensor
    ident: torch.Tensor
    valid: torch.Tensor
    spectrum_index: torch.Tensor
    vocabulary: Vocabulary
    reports: list = dataclasses.field(default_factory=list)

    _TENSORS = ("wavelength", "value", "error", "kind", "ident", "valid")

    def __post_init__(self):
        shape = self.wavelength.shape
        for name in self._TENSORS:
            if getattr(self, name).shape != shape:
                raise ValueError(
                    f"TokenBatch.{name} has shape {tuple(getattr(self, name).shape)}, "
                    f"expected {tuple(shape)} like wavelength."
                )
        if self.spectrum_index.shape != shape[:1]:
            raise ValueError("TokenBatch.spectrum_index must have one entry per row.")

    def __len__(self):
        return self.wavelength.shape[0]

    def __repr__(self):
        return (
            f"<TokenBatch: {self.n_rows} rows from {self.n_spectra} spectra, "
            f"{self.n_tokens} token slots, {int(self.valid.sum())} valid tokens>"
        )

    @property
    def n_rows(self):
        """Number of rows (sequences)."""
        return self.wavelength.shape[0]

    @property
    def n_tokens(self):
        """Length of each (padded) row."""
        return self.wavelength.shape[1]

    @property
    def n_spectra(self):
        """Number of input spectra."""
        if self.reports:
            return len(self.reports)
        return int(self.spectrum_index.max()) + 1 if self.n_rows else 0

    @property
    def device(self):
        """The device the tensors are on."""
        return self.wavelength.device

    @property
    def is_flux(self):
        """Boolean tensor: valid flux tokens."""
        return self.valid & (self.kind == TokenKind.FLUX)

    def to(self, device):
        """Return a copy with every tensor moved to ``device``."""
        moved = {name: getattr(self, name).to(device) for name in self._TENSORS}
        return dataclasses.replace(self, spectrum_index=self.spectrum_index.to(device), **moved)

    def select(self, rows):
        """Return the batch restricted to ``rows`` (an index array or slice).

        The reports are kept whole, since they describe the input spectra.
        """
        if isinstance(rows, slice):
            rows = torch.arange(self.n_rows)[rows]
        rows = torch.as_tensor(np.asarray(rows), dtype=torch.long, device=self.device)
        picked = {name: getattr(self, name)[rows] for name in self._TENSORS}
        return dataclasses.replace(self, spectrum_index=self.spectrum_index[rows], **picked)

    def trim(self):
        """Return the batch with trailing all-padding columns removed."""
        if self.n_rows == 0:
            return self
        used = self.valid.any(dim=0).nonzero()
        last = int(used.max()) + 1 if len(used) else 0
        trimmed = {name: getattr(self, name)[:, :last] for name in self._TENSORS}
        return dataclasses.replace(self, **trimmed)

    @classmethod
    def concatenate(cls, batches):
        """Join batches that share a vocabulary, padding rows to the longest.

        Spectrum indices and reports of later batches are shifted to follow the earlier ones.
        """
        batches = list(batches)
        if not batches:
            raise ValueError("Nothing to concatenate.")
        vocab = batches[0].vocabulary
        if any(b.vocabulary != vocab for b in batches):
            raise ValueError("Cannot concatenate token batches with different vocabularies.")
        width = max(b.n_tokens for b in batches)
        pads = {
            "wavelength": 0.0,
            "value": 0.0,
            "error": 0.0,
            "kind": 0,
            "ident": -1,
            "valid": False,
        }
        joined = {}
        for name in cls._TENSORS:
            parts = []
            for b in batches:
                t = getattr(b, name)
                extra = width - t.shape[1]
                if extra:
                    t = torch.nn.functional.pad(t, (0, extra), value=pads[name])
                parts.append(t)
            joined[name] = torch.cat(parts)
        offsets = np.cumsum([0] + [b.n_spectra for b in batches[:-1]])
        row_offsets = np.cumsum([0] + [b.n_rows for b in batches[:-1]])
        index = torch.cat(
            [b.spectrum_index + int(o) for b, o in zip(batches, offsets, strict=True)]
        )
        reports = []
        for b, o, ro in zip(batches, offsets, row_offsets, strict=True):
            for r in b.reports:
                reports.append(
                    dataclasses.replace(
                        r, index=r.index + int(o), rows=tuple(x + int(ro) for x in r.rows)
                    )
                )
        return cls(spectrum_index=index, vocabulary=vocab, reports=reports, **joined)
