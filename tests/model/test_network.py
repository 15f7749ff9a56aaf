import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from specfm.exceptions import SpecfmInputError
from specfm.model import (
    GaussianHead,
    ModelConfig,
    Query,
    WavelengthEncoding,
    chunk_indices,
    predict_chunked,
)
from specfm.tokens import DEFAULT_VOCABULARY, TokenKind

from .toy import tiny_network, toy_spectra, toy_tokens

QUERY = Query(labels=["teff", "logg", "bp_rp"], wavelengths=[15170.0, 15500.0])


@pytest.fixture(scope="module")
def net():
    return tiny_network(seed=1).eval()


@pytest.fixture(scope="module")
def tokens():
    wave, flux, *_ = toy_spectra(3, n_pix=30, seed=2)
    return toy_tokens(wave, flux)


def test_output_shapes_and_bounds(net, tokens):
    out = net(tokens, QUERY.build(3, net.vocabulary))
    assert out.mean.shape == out.logvar.shape == (3, 5)
    assert torch.isfinite(out.mean).all()
    assert (out.logvar >= net.config.logvar_min).all()
    assert (out.logvar <= net.config.logvar_max).all()
    assert torch.allclose(out.std, torch.exp(0.5 * out.logvar))
    assert out.attention is None


def test_token_order_and_padding_do_not_matter(net, tokens):
    queries = QUERY.build(3, net.vocabulary)
    ref = net(tokens, queries)
    perm = torch.randperm(tokens.n_tokens, generator=torch.Generator().manual_seed(0))
    shuffled = tokens.select(torch.arange(3))
    for name in ("wavelength", "value", "error", "kind", "ident", "valid"):
        setattr(shuffled, name, getattr(tokens, name)[:, perm])
    wave, flux, *_ = toy_spectra(3, n_pix=30, seed=2)
    padded = toy_tokens(wave, flux, n_pad=17)
    padded.value[~padded.valid] = 123.0  # garbage under padding must be ignored
    for other in (shuffled, padded):
        out = net(other, queries)
        assert torch.allclose(out.mean, ref.mean, atol=1e-5)
        assert torch.allclose(out.logvar, ref.logvar, atol=1e-5)


def test_each_query_is_answered_independently(net, tokens):
    both = net(tokens, Query(["teff", "logg"]).build(3, net.vocabulary))
    alone = net(tokens, Query(["logg"]).build(3, net.vocabulary))
    assert torch.allclose(both.mean[:, 1], alone.mean[:, 0], atol=1e-6)


def test_label_tokens_as_input_change_the_answer(net, tokens):
    queries = Query(["teff"]).build(3, net.vocabulary)
    plain = net(tokens, queries).mean
    with_label = tokens.select(torch.arange(3))
    for name, fill in (("wavelength", 0.0), ("value", 2.0), ("error", 0.1),
                       ("kind", int(TokenKind.LABEL)), ("ident", 0), ("valid", True)):
        col = torch.full((3, 1), fill, dtype=getattr(tokens, name).dtype)
        setattr(with_label, name, torch.cat([getattr(tokens, name), col], 1))
    assert not torch.allclose(net(with_label, queries).mean, plain)


def test_attention_rows_sum_to_one_and_skip_padding(net):
    wave, flux, *_ = toy_spectra(2, n_pix=20, seed=3)
    toks = toy_tokens(wave, flux, n_pad=6)
    toks.valid[1, 15:] = False  # second row shorter
    out = net(toks, QUERY.build(2, net.vocabulary), return_attention=True)
    att = out.attention
    assert att.shape == (2, len(QUERY), toks.n_tokens)
    assert torch.all(att[~toks.valid[:, None, :].expand_as(att)] == 0)
    assert torch.allclose(att.sum(-1), torch.ones(2, len(QUERY)), atol=1e-5)
    assert (att >= 0).all()
    plain = net(toks, QUERY.build(2, net.vocabulary))  # fused attention path
    assert torch.allclose(plain.mean, out.mean, atol=1e-5)
    assert torch.allclose(plain.logvar, out.logvar, atol=1e-5)


def test_cost_is_linear_in_the_number_of_tokens(net):
    """FLOPs of a forward pass are exactly affine in N (no N**2 term)."""

    def flops(n):
        wave = torch.linspace(4000, 9000, n).numpy()
        toks = toy_tokens(wave, torch.ones(1, n).numpy())
        counter = FlopCounterMode(display=False)
        with counter:
            net(toks, QUERY.build(1, net.vocabulary))
        return counter.get_total_flops()

    f1, f2, f4, f8 = (flops(n) for n in (500, 1000, 2000, 4000))
    assert f4 - f2 == 2 * (f2 - f1)
    assert f8 - f4 == 2 * (f4 - f2)
    # and the per-token cost is of order d_model * (n_latents + d_model), not N
    per_token = (f8 - f4) / 2000
    d, n_lat = net.config.d_model, net.config.n_latents
    assert per_token < 200 * d * (d + n_lat)


def test_wavelength_encoding_resolves_pixels_from_uv_to_ir():
    enc = WavelengthEncoding(16)
    for centre in (1200.0, 5000.0, 15000.0, 45000.0, 400000.0):
        feats = enc.features(torch.tensor([centre, centre * (1 + 1.0 / 22500)]))
        assert torch.isfinite(feats).all()
        # adjacent pixels of an R = 22,500 spectrum are well separated at any wavelength
        assert float((feats[0] - feats[1]).norm()) > 1.0
    # the coarse features keep far-apart wavelengths apart too
    far = enc.features(torch.tensor([3000.0, 30000.0]))
    assert float((far[0, -1] - far[1, -1]).abs()) > 0.5


def test_bad_inputs_raise(net, tokens):
    with pytest.raises(SpecfmInputError, match="rows"):
        net(tokens, QUERY.build(2, net.vocabulary))
    bad = Query(["teff"]).build(3, net.vocabulary)
    bad.ident[:] = len(DEFAULT_VOCABULARY) + 5
    with pytest.raises(SpecfmInputError, match="vocabulary"):
        net(tokens, bad)
    with pytest.raises(KeyError, match="Known names"):
        Query(["not_a_label"]).build(1, DEFAULT_VOCABULARY)
    with pytest.raises(SpecfmInputError):
        Query()
    with pytest.raises(SpecfmInputError):
        Query(wavelengths=[-5.0])
    with pytest.raises(SpecfmInputError, match="multiple"):
        ModelConfig(d_model=10, n_heads=3)


def test_gaussian_head_is_bounded():
    head = GaussianHead(4, logvar_min=-3.0, logvar_max=2.0)
    with torch.no_grad():
        head.net[-1].bias.fill_(1e4)
    _, logvar = head(torch.randn(5, 4))
    assert torch.all(logvar <= 2.0) and torch.all(logvar >= -3.0)


def test_chunks_partition_the_flux_tokens():
    n = 1300
    kind = torch.zeros(2, n + 3, dtype=torch.long)
    kind[:, n:] = int(TokenKind.COLOUR)
    valid = torch.ones(2, n + 3, dtype=torch.bool)
    valid[1, 1000:n] = False
    chunks = chunk_indices(kind, valid, 512, torch.Generator().manual_seed(0))
    for row, expected in ((0, n), (1, 1000)):
        parts = [idx for r, idx in chunks if r == row]
        assert len(parts) == math.ceil(expected / 512)
        flux = torch.cat([p[p < n] for p in parts])
        assert sorted(flux.tolist()) == sorted(torch.nonzero(valid[row, :n]).flatten().tolist())
        assert all((p >= n).sum() == 3 for p in parts)  # colours in every chunk
        assert all((p < n).sum() <= 512 for p in parts)


def test_chunked_prediction(net):
    wave, flux, *_ = toy_spectra(2, n_pix=40, seed=4)
    toks = toy_tokens(wave, flux)
    queries = QUERY.build(2, net.vocabulary)
    one = net(toks, queries, return_attention=True)
    whole = predict_chunked(net, toks, queries, chunk_size=64, return_attention=True)
    assert torch.allclose(whole.mean, one.mean, atol=1e-5)
    assert torch.allclose(whole.logvar, one.logvar, atol=1e-4)
    assert torch.allclose(whole.attention, one.attention, atol=1e-6)
    parts = predict_chunked(net, toks, queries, chunk_size=12, seed=3, return_attention=True)
    assert torch.allclose(parts.attention.sum(-1), torch.ones(2, len(QUERY)), atol=1e-5)
    again = predict_chunked(net, toks, queries, chunk_size=12, seed=3)
    assert torch.allclose(again.mean, parts.mean, atol=1e-5)
    assert torch.equal(predict_chunked(net, toks, queries, chunk_size=12, seed=3).mean,
                       again.mean)  # seeded
    assert not torch.allclose(parts.mean, one.mean, atol=1e-7)


@pytest.mark.parametrize("rows", ["same", "mixed", "all different"])
def test_wavelength_encoding_of_repeated_grids_is_the_plain_encoding(rows, monkeypatch):
    """Large inputs are encoded once per row or per distinct value: the same numbers,
    and the same gradients for the projection."""
    import specfm.model.embeddings as embeddings

    torch.manual_seed(0)
    enc = WavelengthEncoding(16, n_frequencies=8)
    grid = torch.linspace(3400.0, 10000.0, 300)
    wave = grid.expand(40, 300).clone()
    if rows == "mixed":
        wave[::3, :50] = 15000.0 + torch.arange(50.0)
    elif rows == "all different":
        wave = wave + torch.rand(40, 300)
    outputs, grads = [], []
    for threshold in (10**9, 1000):  # the plain encoding, then the fast paths
        monkeypatch.setattr(embeddings, "_DISTINCT_MIN_TOKENS", threshold)
        enc.zero_grad()
        out = enc(wave)
        (out * torch.arange(out.numel()).reshape(out.shape) / out.numel()).sum().backward()
        outputs.append(out.detach().clone())
        grads.append(enc.proj.weight.grad.clone())
    assert outputs[0].shape == outputs[1].shape == (40, 300, 16)
    torch.testing.assert_close(outputs[1], outputs[0], rtol=0, atol=0)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-4)  # summed in another order


def test_wavelength_encodings_kept_for_predictions_are_those_computed_afresh():
    """Without gradients the encodings of the wavelengths seen are kept; new wavelengths,
    a change of the weights (an optimiser step, load_state_dict) give fresh numbers."""
    import specfm.model.embeddings as embeddings

    torch.manual_seed(0)
    enc = WavelengthEncoding(16, n_frequencies=8)
    grid = torch.linspace(3400.0, 10000.0, 5000)
    wave = grid.expand(3, 5000)
    # a survey's batches: the same grid, less each spectrum's own bad pixels (padded)
    ragged = wave.clone()
    ragged[0, 100:200], ragged[1, 4000:] = ragged[0, 200:300].clone(), 10000.0

    def fresh(w):
        return enc.proj(enc.features(w))

    with torch.inference_mode():
        first = enc(wave)
        torch.testing.assert_close(first, fresh(wave), rtol=0, atol=0)
        assert enc._kept[1].numel() == 5000
        for w in (ragged, wave.flip(-1), wave[:, ::2], wave * (1 + 1e-5), wave + 2):
            torch.testing.assert_close(enc(w), fresh(w), rtol=1e-6, atol=1e-6)
        assert enc._kept[1].numel() == 15000  # the grid and the two shifted ones
        beyond = torch.linspace(20000.0, 30000.0, embeddings._KEPT_MAX_VALUES).expand(2, -1)
        torch.testing.assert_close(enc(beyond), fresh(beyond), rtol=1e-6, atol=1e-6)
        assert enc._kept[1].numel() == embeddings._KEPT_MAX_VALUES  # too many: the last
        torch.testing.assert_close(enc(wave), first, rtol=1e-6, atol=1e-6)
        kept = enc._kept
        assert kept[1].numel() == 5000
        torch.testing.assert_close(enc(ragged), fresh(ragged), rtol=1e-6, atol=1e-6)
        assert enc._kept is kept  # nothing new to encode
    with torch.no_grad():
        enc.proj.weight.mul_(2.0)
        moved = enc(wave)
        assert not torch.equal(moved, first)
        torch.testing.assert_close(moved, fresh(wave), rtol=1e-6, atol=1e-6)
    enc.load_state_dict({k: v * 0.5 for k, v in enc.state_dict().items()})
    with torch.no_grad():
        torch.testing.assert_close(enc(ragged), fresh(ragged), rtol=1e-6, atol=1e-6)
    # with gradients nothing is kept, and the projection learns as before
    enc._kept = None
    enc(wave).sum().backward()
    assert enc._kept is None and enc.proj.weight.grad is not None
