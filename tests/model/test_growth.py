"""grow_network: a larger network that gives the answers of the one it grew from."""

import pytest
import torch

from specfm.exceptions import SpecfmInputError
from specfm.model import Query, grow_network, load_model, save_model

from .toy import tiny_network, toy_spectra, toy_tokens


def _inputs(net, n=3):
    wave, flux, *_ = toy_spectra(n, n_pix=20, seed=1)
    tokens = toy_tokens(wave, flux, n_pad=4)
    tokens.valid[0, 15:] = False  # rows of different lengths
    queries = Query(["teff", "logg"], wavelengths=[15180.0, 15230.0]).build(n, net.vocabulary)
    return tokens, queries


def _spread_weights(net, seed=0):
    """Trained-looking weights: the default initialisation hides mistakes in the tails."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return net


@pytest.mark.parametrize("flux_decoder", [False, True])
def test_a_grown_network_gives_the_same_answers_and_attention(flux_decoder):
    net = _spread_weights(tiny_network(flux_decoder=flux_decoder)).eval()
    tokens, queries = _inputs(net)
    before = net(tokens, queries, return_attention=True)
    big = grow_network(net, width=72, n_latents=16).eval()
    assert (big.config.d_model, big.config.n_heads, big.config.n_latents) == (72, 6, 16)
    assert big.n_parameters() > 4 * net.n_parameters()
    after = big(tokens, queries, return_attention=True)
    torch.testing.assert_close(after.mean, before.mean, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(after.logvar, before.logvar, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(after.attention, before.attention, atol=1e-6, rtol=1e-5)


def test_added_latent_layers_start_as_the_identity():
    net = _spread_weights(tiny_network()).eval()
    tokens, queries = _inputs(net)
    big = grow_network(net, n_latent_layers=3).eval()
    assert len(big.encoder.layers) == 3
    torch.testing.assert_close(big(tokens, queries).mean, net(tokens, queries).mean,
                               atol=1e-5, rtol=1e-5)
    # the new blocks learn: their output projections get a gradient
    big.train()
    big(tokens, queries).mean.sum().backward()
    assert big.encoder.layers[2].attn.out.weight.grad.abs().sum() > 0


def test_jitter_lets_the_copies_part_and_keeps_the_answers_close():
    net = _spread_weights(tiny_network()).eval()
    tokens, queries = _inputs(net)
    exact = grow_network(net, width=48)
    q = exact.encoder.cross.attn.q.weight
    assert torch.equal(q[:24], q[24:])  # the added heads are copies
    jittered = grow_network(net, width=48, jitter=1e-3, seed=3)
    q = jittered.encoder.cross.attn.q.weight
    assert not torch.equal(q[:24], q[24:])
    diff = (jittered.eval()(tokens, queries).mean - net(tokens, queries).mean).abs().max()
    assert 0 < diff < 0.05
    again = grow_network(net, width=48, jitter=1e-3, seed=3)
    assert torch.equal(again.encoder.cross.attn.q.weight, q)  # seeded


def _copy_gradients(net, tokens, queries):
    """The gradient of the first and second copy of the cross-attention's query rows and
    of the first feed-forward layer's rows, after one backward pass."""
    net.train()
    net.zero_grad()
    net(tokens, queries).mean.sum().backward()
    half = net.config.d_model // 2
    q = net.encoder.cross.attn.q.weight.grad
    ff = net.encoder.cross.ff.net[1].weight.grad
    return (q[:half], q[half:]), (ff[:ff.shape[0] // 2], ff[ff.shape[0] // 2:])


def test_random_shares_keep_the_answers_and_part_the_copies():
    net = _spread_weights(tiny_network()).eval()
    tokens, queries = _inputs(net)
    equal = grow_network(net, width=48)
    shared = grow_network(net, width=48, split="random", seed=2)
    torch.testing.assert_close(shared.eval()(tokens, queries).mean, net(tokens, queries).mean,
                               atol=1e-5, rtol=1e-5)
    # the weights that read the wider vector differ between copies; their sum does not
    k = shared.encoder.cross.attn.k.weight
    assert not torch.allclose(k[:, :24], k[:, 24:])
    torch.testing.assert_close(k[:, :24] + k[:, 24:], 2 * equal.encoder.cross.attn.k.weight[:, :24])
    # equal shares: the copies get equal gradients and would stay equal; random: they part
    for first, second in _copy_gradients(equal, tokens, queries):
        torch.testing.assert_close(first, second)
    for first, second in _copy_gradients(shared, tokens, queries):
        assert (first - second).abs().max() > 1e-3 * first.abs().max()
    again = grow_network(net, width=48, split="random", seed=2)
    assert torch.equal(again.encoder.cross.attn.k.weight, k)  # seeded
    with pytest.raises(SpecfmInputError, match="split must be one of equal, random"):
        grow_network(net, width=48, split="half")


def test_the_grown_network_is_saved_and_loaded_with_its_record(tmp_path):
    save_model(tiny_network(), tmp_path / "small")
    net = load_model(tmp_path / "small")
    assert "sha256" in net.metadata
    big = grow_network(net, width=48, n_latents=16, n_latent_layers=2, jitter=1e-3)
    assert big.metadata["grown_from"] == {"d_model": 24, "n_heads": 2, "n_latents": 8,
                                          "n_latent_layers": 1, "jitter": 1e-3,
                                          "split": "equal", "seed": 0}
    assert "sha256" not in big.metadata and "path" not in big.metadata  # not the old file's
    save_model(big, tmp_path / "big")
    loaded = load_model(tmp_path / "big")
    tokens, queries = _inputs(net)
    torch.testing.assert_close(loaded.eval()(tokens, queries).mean,
                               big.eval()(tokens, queries).mean)
    assert net.config.d_model == 24  # the original is untouched


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"width": 36}, "multiple of 24"),
    ({"width": 12}, "multiple of 24"),
    ({"n_latents": 12}, "multiple of 8"),
    ({"n_latent_layers": 0}, "can only grow"),
    ({"jitter": -1.0}, "jitter"),
])
def test_sizes_that_cannot_grow_exactly_are_refused(kwargs, message):
    with pytest.raises(SpecfmInputError, match=message):
        grow_network(tiny_network(), **kwargs)


def test_an_ensemble_is_refused_with_what_to_do():
    from specfm.model import EnsembleNetwork

    ensemble = EnsembleNetwork([tiny_network(seed=1), tiny_network(seed=2)])
    with pytest.raises(SpecfmInputError, match="each member"):
        grow_network(ensemble, width=48)
