import numpy as np
import pytest
import torch

from specfm.exceptions import ShapeMismatchError, SpecfmInputError
from specfm.tokens import DEFAULT_VOCABULARY
from specfm.training import TokenDataset, labels_to_tensors

from ..model.toy import toy_dataset, toy_spectra, toy_tokens


def test_labels_are_scaled_and_missing_ones_masked():
    lab, err, mask = labels_to_tensors(
        {"teff": [6000.0, np.nan], "logg": [4.5, 2.0]}, DEFAULT_VOCABULARY,
        errors={"teff": [100.0, 50.0]})
    teff, logg = DEFAULT_VOCABULARY.index("teff"), DEFAULT_VOCABULARY.index("logg")
    assert lab[0, teff] == pytest.approx(1.0) and err[0, teff] == pytest.approx(0.1)
    assert lab[0, logg] == pytest.approx(1.0) and err[0, logg] == 0
    assert mask[:, teff].tolist() == [True, False] and lab[1, teff] == 0
    assert int(mask.sum()) == 3
    with pytest.raises(ShapeMismatchError):
        labels_to_tensors({"teff": [1.0, 2.0]}, DEFAULT_VOCABULARY, n_rows=3)


def test_labels_per_spectrum_are_spread_to_chunked_rows():
    wave, flux, *_ = toy_spectra(2, n_pix=10)
    tokens = toy_tokens(wave, np.vstack([flux, flux]))
    tokens.spectrum_index = torch.tensor([0, 0, 1, 1])
    labels = torch.zeros(2, len(DEFAULT_VOCABULARY))
    labels[1, 0] = 3.0
    data = TokenDataset(tokens, labels, label_mask=torch.ones_like(labels, dtype=torch.bool))
    assert data.labels[:, 0].tolist() == [0.0, 0.0, 3.0, 3.0]
    train, val = data.split(0.5, seed=0)
    assert len(train) == len(val) == 2
    assert len(set(train.tokens.spectrum_index.tolist())) == 1
    with pytest.raises(SpecfmInputError, match="empty"):
        data.split(0.0)


def test_batches_shard_across_processes_and_resume(tmp_path):
    data = toy_dataset(10, n_pix=8)
    seen = []
    for rank in (0, 1):
        batches = list(data.batches(2, epoch=3, seed=1, rank=rank, world_size=2))
        assert len(batches) == data.n_batches(2, world_size=2) == 3
        seen += [tuple(b.tokens.value[:, 0].tolist()) for b in batches]
        later = list(data.batches(2, epoch=3, seed=1, rank=rank, world_size=2, start=1))
        assert all(torch.equal(a.labels, b.labels) for a, b in zip(batches[1:], later, strict=True))
    firsts = {v for batch in seen for v in batch}
    assert firsts == set(data.tokens.value[:, 0].tolist())
    path = tmp_path / "d.safetensors"
    data.save(path)
    again = TokenDataset.load(path)
    for name in ("labels", "label_errors", "label_mask"):
        assert torch.equal(getattr(again, name), getattr(data, name))
    assert torch.equal(again.tokens.wavelength, data.tokens.wavelength)
    assert again.vocabulary == data.vocabulary
