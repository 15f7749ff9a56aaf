"""What the network is asked for: labels by name, flux at given wavelengths.

`Query` is the description a person writes; `QueryBatch` is the padded tensor form the
network reads, with one row of queries per token row (rows may ask different things,
which training uses).
"""

import dataclasses

import numpy as np
import torch

from ..exceptions import SpecfmInputError
from ..tokens.vocabulary import TokenKind

__all__ = ["Query", "QueryBatch"]


@dataclasses.dataclass
class QueryBatch:
    """Padded query tokens, shape ``(rows, n_queries)`` for every tensor.

    Attributes
    ----------
    kind : torch.Tensor (int64)
        `~specfm.tokens.TokenKind` of the requested token.
    ident : torch.Tensor (int64)
        Vocabulary id for label and colour queries; -1 for flux queries and padding.
    wavelength : torch.Tensor (float32)
        Vacuum wavelength (Angstrom) for flux queries; 0 otherwise.
    valid : torch.Tensor (bool)
        False for padding.

    """

    kind: torch.Tensor
    ident: torch.Tensor
    wavelength: torch.Tensor
    valid: torch.Tensor

    _TENSORS = ("kind", "ident", "wavelength", "valid")

    def __post_init__(self):
        shape = self.kind.shape
        if any(getattr(self, n).shape != shape for n in self._TENSORS) or len(shape) != 2:
            raise SpecfmInputError(
                "QueryBatch tensors must all have the same (rows, n_queries) shape."
            )

    @property
    def n_rows(self):
        """Number of rows."""
        return self.kind.shape[0]

    @property
    def n_queries(self):
        """Queries per row (including padding)."""
        return self.kind.shape[1]

    def to(self, device):
        """Return a copy on ``device``."""
        return QueryBatch(**{n: getattr(self, n).to(device) for n in self._TENSORS})

    def select(self, rows):
        """Return the queries of ``rows`` (an index tensor)."""
        return QueryBatch(**{n: getattr(self, n)[rows] for n in self._TENSORS})


@dataclasses.dataclass
class Query:
    """A request: labels by name and/or flux at wavelengths, the same for every row.

    Parameters
    ----------
    labels : sequence of str
        Names from the model's vocabulary (labels or colours).
    wavelengths : array-like of float
        Vacuum wavelengths in Angstrom at which to predict the normalised flux.

    Examples
    --------
    >>> from specfm.model import Query
    >>> from specfm.tokens import DEFAULT_VOCABULARY
    >>> q = Query(labels=["teff", "logg"], wavelengths=[15000.0])
    >>> q.names
    ('teff', 'logg', 'flux_15000.000')
    >>> q.build(2, DEFAULT_VOCABULARY).kind
    tensor([[2, 2, 0],
            [2, 2, 0]])

    """

    labels: tuple = ()
    wavelengths: tuple = ()

    def __post_init__(self):
        if isinstance(self.labels, str):
            self.labels = (self.labels,)
        self.labels = tuple(self.labels)
        wave = np.atleast_1d(np.asarray(self.wavelengths, dtype=float))
        if wave.size and not (np.all(np.isfinite(wave)) and np.all(wave > 0)):
            raise SpecfmInputError("Query wavelengths must be finite and positive (Angstrom).")
        self.wavelengths = tuple(float(w) for w in wave)
        if not self.labels and not self.wavelengths:
            raise SpecfmInputError("A Query needs at least one label or one wavelength.")

    @property
    def names(self):
        """Output names: the labels, then ``flux_<wavelength>`` for each wavelength."""
        return self.labels + tuple(f"flux_{w:.3f}" for w in self.wavelengths)

    def __len__(self):
        return len(self.labels) + len(self.wavelengths)

    def build(self, n_rows, vocabulary, device="cpu"):
        """Return the `QueryBatch` asking every one of ``n_rows`` rows the same questions.

        Raises
        ------
        KeyError
            If a label is not in ``vocabulary`` (the message lists the known names).

        """
        ids = [vocabulary.index(name) for name in self.labels]
        kinds = [int(vocabulary[i].kind) for i in ids] + [int(TokenKind.FLUX)] * len(
            self.wavelengths)
        ident = ids + [-1] * len(self.wavelengths)
        wave = [0.0] * len(ids) + list(self.wavelengths)

        def _rows(values, dtype):
            return torch.tensor(values, dtype=dtype, device=device).expand(n_rows, -1).clone()

        return QueryBatch(
            kind=_rows(kinds, torch.long),
            ident=_rows(ident, torch.long),
            wavelength=_rows(wave, torch.float32),
            valid=torch.ones(n_rows, len(self), dtype=torch.bool, device=device),
        )
