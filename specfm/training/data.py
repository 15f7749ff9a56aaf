"""Training data: token rows plus the labels to learn, with errors and a missing-label mask.

A `TrainingBatch` is what every objective and the `~specfm.training.Trainer` consume. It
can come from a `TokenDataset` (pre-tokenised tensors held in memory or in a safetensors
file; supports shuffling, sharding across processes and exact resume) or from any
re-iterable source of `TrainingBatch` objects (e.g. a stream of synthetic spectra).

Labels are stored in the model's scaled units, ``(value - offset) / scale``, one column
per vocabulary id. Labels that a star lacks are masked (``label_mask`` False); they are
never filled in, and they never enter the loss.
"""

import dataclasses
import hashlib
import json
import math

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch.utils.data import Dataset, DistributedSampler

from ..exceptions import ShapeMismatchError, SpecfmInputError
from ..tokens.batch import TokenBatch
from ..tokens.vocabulary import Vocabulary

__all__ = ["TokenDataset", "TrainingBatch", "labels_to_tensors"]

_TOKEN_TENSORS = ("wavelength", "value", "error", "kind", "ident", "valid")
_LABEL_TENSORS = ("labels", "label_errors", "label_mask")


@dataclasses.dataclass
class TrainingBatch:
    """Token rows and their labels.

    Attributes
    ----------
    tokens : `~specfm.tokens.TokenBatch`
        ``(rows, tokens)`` input tokens.
    labels, label_errors : torch.Tensor
        ``(rows, len(vocabulary))`` scaled label values and one-sigma errors (0 allowed).
    label_mask : torch.Tensor (bool)
        ``(rows, len(vocabulary))``: True where the label is known.

    """

    tokens: TokenBatch
    labels: torch.Tensor
    label_errors: torch.Tensor
    label_mask: torch.Tensor

    def __post_init__(self):
        shape = (self.tokens.n_rows, len(self.tokens.vocabulary))
        for name in _LABEL_TENSORS:
            if tuple(getattr(self, name).shape) != shape:
                raise ShapeMismatchError(
                    f"TrainingBatch.{name} has shape {tuple(getattr(self, name).shape)}; "
                    f"expected (rows, vocabulary size) = {shape}."
                )

    @property
    def n_rows(self):
        """Number of rows."""
        return self.tokens.n_rows

    def to(self, device):
        """Return a copy on ``device``."""
        return TrainingBatch(self.tokens.to(device), self.labels.to(device),
                             self.label_errors.to(device), self.label_mask.to(device))


def labels_to_tensors(values, vocabulary, errors=None, n_rows=None):
    """Turn per-label arrays (physical units) into scaled tensors and a mask.

    Parameters
    ----------
    values : dict of str to array-like
        Label name -> values (one per row), in the unit of the vocabulary entry. NaN
        marks a missing value.
    vocabulary : `~specfm.tokens.Vocabulary`
        Gives the column order and the scalings.
    errors : dict of str to array-like, or None
        Label name -> one-sigma errors (same unit); missing names mean zero error.
    n_rows : int or None
        Number of rows (inferred from ``values`` when omitted).

    Returns
    -------
    labels, label_errors : torch.Tensor
        ``(rows, len(vocabulary))`` float32, scaled; 0 where missing.
    label_mask : torch.Tensor
        True where the value is known and finite.

    Raises
    ------
    KeyError
        For a name that is not in the vocabulary.

    Examples
    --------
    >>> from specfm.tokens import DEFAULT_VOCABULARY
    >>> from specfm.training import labels_to_tensors
    >>> lab, err, mask = labels_to_tensors({"teff": [5000.0, float("nan")]},
    ...                                    DEFAULT_VOCABULARY)
    >>> mask[:, 0].tolist(), float(lab[0, 0])
    ([True, False], 0.0)

    """
    errors = errors or {}
    if n_rows is None:
        n_rows = len(next(iter(values.values()))) if values else 0
    shape = (n_rows, len(vocabulary))
    labels = np.zeros(shape, dtype=np.float32)
    label_errors = np.zeros(shape, dtype=np.float32)
    mask = np.zeros(shape, dtype=bool)
    for name, vals in values.items():
        i = vocabulary.index(name)
        spec = vocabulary[i]
        vals = np.asarray(vals, dtype=float)
        err = np.asarray(errors.get(name, np.zeros(n_rows)), dtype=float)
        if vals.shape != (n_rows,) or err.shape != (n_rows,):
            raise ShapeMismatchError(f"Label {name!r} needs {n_rows} values and errors.")
        ok = np.isfinite(vals) & np.isfinite(err) & (err >= 0)
        labels[ok, i] = (vals[ok] - spec.offset) / spec.scale
        label_errors[ok, i] = err[ok] / spec.scale
        mask[:, i] = ok
    return torch.from_numpy(labels), torch.from_numpy(label_errors), torch.from_numpy(mask)


class TokenDataset(Dataset):
    """Pre-tokenised rows with labels, indexable and shardable.

    Parameters
    ----------
    tokens : `~specfm.tokens.TokenBatch`
        All rows.
    labels, label_errors, label_mask : torch.Tensor or None
        ``(rows, len(vocabulary))`` as in `TrainingBatch`, or ``(n_spectra, ...)``, in which
        case they are spread to the rows through ``tokens.spectrum_index``. None means
        no labels at all (purely self-supervised data).

    """

    def __init__(self, tokens, labels=None, label_errors=None, label_mask=None):
        n_vocab = len(tokens.vocabulary)
        if labels is None:
            labels = torch.zeros(tokens.n_rows, n_vocab)
            label_mask = torch.zeros(tokens.n_rows, n_vocab, dtype=torch.bool)
        if label_errors is None:
            label_errors = torch.zeros_like(labels)
        if label_mask is None:
            label_mask = torch.isfinite(labels)
        tensors = [torch.as_tensor(t) for t in (labels, label_errors, label_mask)]
        if tensors[0].shape[0] != tokens.n_rows:
            tensors = [t[tokens.spectrum_index.cpu()] for t in tensors]
        labels, label_errors, label_mask = tensors
        label_mask = label_mask.bool() & torch.isfinite(labels) & torch.isfinite(label_errors)
        self.tokens = tokens.to("cpu")
        self.labels = torch.where(label_mask, labels, 0.0).float()
        self.label_errors = torch.where(label_mask, label_errors, 0.0).float()
        self.label_mask = label_mask
        TrainingBatch(self.tokens, self.labels, self.label_errors, self.label_mask)  # checks

    def __len__(self):
        return self.tokens.n_rows

    def __getitem__(self, index):
        return index

    @property
    def vocabulary(self):
        """The vocabulary the label columns follow."""
        return self.tokens.vocabulary

    def batch(self, indices):
        """Return the `TrainingBatch` of rows ``indices``, trimmed of trailing padding."""
        index = torch.as_tensor(np.asarray(indices), dtype=torch.long)
        tokens = self.tokens.select(index).trim()
        return TrainingBatch(tokens, self.labels[index], self.label_errors[index],
                             self.label_mask[index])

    def subset(self, indices):
        """Return a new `TokenDataset` with rows ``indices``."""
        b = self.batch(indices)
        return TokenDataset(b.tokens, b.labels, b.label_errors, b.label_mask)

    @classmethod
    def concatenate(cls, datasets):
        """Join datasets into one; the rows of each follow those of the one before.

        Parameters
        ----------
        datasets : iterable of TokenDataset
            Datasets tokenised with the same vocabulary (e.g. real spectra and synthetic
            rehearsal spectra for `~specfm.training.finetune`).

        Returns
        -------
        TokenDataset

        Raises
        ------
        SpecfmInputError
            No datasets, or vocabularies that differ.

        """
        datasets = list(datasets)
        if not datasets:
            raise SpecfmInputError("Give at least one TokenDataset to concatenate.")
        if any(d.vocabulary != datasets[0].vocabulary for d in datasets):
            raise SpecfmInputError(
                "These datasets were tokenised with different vocabularies; tokenise them "
                "all with the same TokenizerConfig (the model's vocabulary) to join them.")
        return cls(TokenBatch.concatenate([d.tokens for d in datasets]),
                   torch.cat([d.labels for d in datasets]),
                   torch.cat([d.label_errors for d in datasets]),
                   torch.cat([d.label_mask for d in datasets]))

    def split(self, validation_fraction, seed=0):
        """Split rows at random into ``(train, validation)`` datasets (seeded).

        Rows of the same spectrum stay together.

        Raises
        ------
        SpecfmInputError
            If the fraction leaves either part empty.

        """
        spectra = torch.unique(self.tokens.spectrum_index)
        n_val = round(len(spectra) * float(validation_fraction))
        if not 0 < n_val < len(spectra):
            raise SpecfmInputError(
                f"A validation fraction of {validation_fraction} of {len(spectra)} spectra "
                "leaves one side empty; choose a fraction between them."
            )
        order = spectra[torch.randperm(len(spectra), generator=torch.Generator().manual_seed(
            int(seed)))]
        is_val = torch.isin(self.tokens.spectrum_index, order[:n_val])
        return (self.subset(torch.nonzero(~is_val).flatten()),
                self.subset(torch.nonzero(is_val).flatten()))

    def n_batches(self, batch_size, world_size=1):
        """Batches per epoch for each of ``world_size`` processes."""
        return math.ceil(math.ceil(len(self) / world_size) / batch_size)

    def batches(self, batch_size, epoch=0, seed=0, rank=0, world_size=1, start=0,
                shuffle=True):
        """Yield this process's `TrainingBatch` objects of one epoch.

        The order is fixed by ``(seed, epoch)`` through a
        `~torch.utils.data.DistributedSampler`, so any process can skip the first ``start``
        batches to resume exactly where an interrupted run stopped.
        """
        sampler = DistributedSampler(self, num_replicas=world_size, rank=rank,
                                     shuffle=shuffle, seed=int(seed), drop_last=False)
        sampler.set_epoch(int(epoch))
        order = list(sampler)
        for first in range(start * batch_size, len(order), batch_size):
            yield self.batch(order[first:first + batch_size])

    def fingerprint(self):
        """Return the sha256 (hex) of every tensor of the dataset and its vocabulary.

        Two datasets with the same fingerprint hold the same rows in the same order, so a
        run resumed on rebuilt data continues exactly when the fingerprints agree.
        """
        digest = hashlib.sha256(json.dumps(self.vocabulary.to_list()).encode())
        tensors = [getattr(self.tokens, name) for name in _TOKEN_TENSORS]
        tensors += [self.tokens.spectrum_index] + [getattr(self, n) for n in _LABEL_TENSORS]
        for tensor in tensors:
            array = tensor.detach().cpu().contiguous().numpy()
            digest.update(f"{array.dtype}{array.shape}".encode())
            digest.update(array.reshape(-1).view(np.uint8))
        return digest.hexdigest()

    def save(self, path):
        """Write the dataset to one safetensors file (vocabulary in its metadata)."""
        tensors = {name: getattr(self.tokens, name).contiguous() for name in _TOKEN_TENSORS}
        tensors["spectrum_index"] = self.tokens.spectrum_index.contiguous()
        for name in _LABEL_TENSORS:
            tensors[name] = getattr(self, name).contiguous()
        meta = {"format": "specfm-token-dataset", "format_version": "1",
                "vocabulary": json.dumps(self.vocabulary.to_list())}
        save_file(tensors, str(path), metadata=meta)

    @classmethod
    def load(cls, path):
        """Read a file written by `save`.

        Raises
        ------
        SpecfmInputError
            If the file is not a specfm token dataset.

        """
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = f.metadata() or {}
            if meta.get("format") != "specfm-token-dataset":
                raise SpecfmInputError(f"{path} is not a specfm token dataset "
                                       "(write one with TokenDataset.save).")
            t = {k: f.get_tensor(k) for k in f.keys()}
        vocab = Vocabulary.from_list(json.loads(meta["vocabulary"]))
        tokens = TokenBatch(vocabulary=vocab, spectrum_index=t["spectrum_index"],
                            **{n: t[n] for n in _TOKEN_TENSORS})
        return cls(tokens, t["labels"], t["label_errors"], t["label_mask"])
