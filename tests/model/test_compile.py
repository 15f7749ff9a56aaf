"""torch.compile traces the network and gives the eager answers."""

import pytest
import torch

from specfm.model import Query

from .toy import tiny_network, toy_spectra, toy_tokens


def test_compiled_network_matches_eager():
    pytest.importorskip("torch._dynamo")
    net = tiny_network(seed=3, d_model=16).eval()
    wave, flux, *_ = toy_spectra(4, n_pix=24, seed=5)
    tokens = toy_tokens(wave, flux)
    queries = Query(["teff", "logg"]).build(tokens.n_rows, net.vocabulary)
    with torch.inference_mode():
        eager = net(tokens, queries)
        compiled = torch.compile(net, backend="eager")(tokens, queries)  # dynamo's trace
    assert torch.allclose(compiled.mean, eager.mean, atol=1e-5)
    assert torch.allclose(compiled.logvar, eager.logvar, atol=1e-5)
