"""The network reads what the adapter (specfm.tokens.tokenize) writes."""

import astropy.units as u
import numpy as np
import torch

from specfm._compat import make_spectrum
from specfm.model import Query, load_model, predict_chunked, save_model
from specfm.tokens import TokenizerConfig, TokenKind, tokenize
from specfm.training import TokenDataset, labels_to_tensors

from .toy import tiny_network


def _spectra():
    wave = np.linspace(15100.0, 15300.0, 300) * u.AA
    lines = np.exp(-0.5 * ((wave.value - 15200.0) / 1.5) ** 2)
    flux = np.vstack([1 - 0.3 * lines, 1 - 0.5 * lines]) * u.Jy
    return make_spectrum(flux=flux, spectral_axis=wave)


def test_tokenized_spectra_with_colours_in_and_labels_out(tmp_path):
    batch = tokenize(_spectra(), {"bp_rp": [1.1, 0.9] * u.mag}, normalisation="median",
                     max_tokens=128)
    assert (batch.kind == TokenKind.COLOUR).any()
    net = tiny_network(seed=0, tokenizer=TokenizerConfig(normalisation="median",
                                                         max_tokens=128).to_dict()).eval()
    query = Query(["teff", "logg"], wavelengths=[15200.0])
    with torch.no_grad():
        out = net(batch, query.build(batch.n_rows, net.vocabulary), return_attention=True)
        chunked = predict_chunked(net, batch, query.build(batch.n_rows, net.vocabulary),
                                  chunk_size=50)
    assert out.mean.shape == chunked.mean.shape == (batch.n_rows, 3)
    assert torch.allclose(out.attention.sum(-1), torch.ones(batch.n_rows, 3), atol=1e-5)
    assert torch.all(out.attention[~batch.valid[:, None, :].expand_as(out.attention)] == 0)
    # the tokenizer recipe travels with the model
    again = load_model(save_model(net, tmp_path / "m"))
    assert TokenizerConfig.from_dict(again.config.tokenizer).normalisation == \
        TokenizerConfig(normalisation="median").normalisation
    # and tokenized batches make training data, labels given per spectrum
    labels, errors, mask = labels_to_tensors({"teff": [4800.0, np.nan]}, batch.vocabulary,
                                             n_rows=batch.n_spectra)
    data = TokenDataset(batch, labels, errors, mask)
    assert data.label_mask[:, 0].tolist() == [
        bool(i == 0) for i in batch.spectrum_index.tolist()]
