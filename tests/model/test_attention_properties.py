import functools

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from specfm.model import MultiHeadAttention, Query

from .toy import tiny_network, toy_tokens


@functools.cache
def _net():
    return tiny_network(seed=8).eval()


@settings(max_examples=15, deadline=None)
@given(n_tokens=st.integers(1, 24), seed=st.integers(0, 2**16),
       keep=st.floats(0.1, 1.0))
def test_attention_maps_for_any_padding(n_tokens, seed, keep):
    gen = torch.Generator().manual_seed(seed)
    wave = torch.sort(4000 + 6000 * torch.rand(n_tokens, generator=gen)).values.numpy()
    flux = (1 - 0.5 * torch.rand(2, n_tokens, generator=gen)).numpy()
    toks = toy_tokens(wave, flux, n_pad=3)
    toks.valid[:, :n_tokens] &= torch.rand(2, n_tokens, generator=gen) < keep
    toks.valid[:, 0] = True  # at least one real token per row
    with torch.no_grad():
        out = _net()(toks, Query(["teff"], [5000.0]).build(2, _net().vocabulary),
                  return_attention=True)
    att = out.attention
    assert torch.allclose(att.sum(-1), torch.ones(2, 2), atol=1e-5)
    assert torch.all(att.masked_select(~toks.valid[:, None, :].expand_as(att)) == 0)
    assert torch.isfinite(out.mean).all() and torch.isfinite(out.logvar).all()


def test_rows_without_valid_keys_give_zeros_not_nan():
    att = MultiHeadAttention(8, 2)
    mask = torch.tensor([[True, False, True], [False, False, False]])
    for need in (False, True):
        out, w = att(torch.randn(2, 4, 8), torch.randn(2, 3, 8), mask, need_weights=need)
        assert torch.isfinite(out).all()
        assert torch.allclose(out[1], att.out.bias.expand(4, 8))
        if need:
            assert torch.all(w[1] == 0) and torch.all(w[0, :, :, 1] == 0)


def test_a_mask_that_keeps_every_key_gives_what_no_mask_and_explicit_weights_give():
    torch.manual_seed(0)
    att = MultiHeadAttention(8, 2).eval()
    query, context = torch.randn(2, 4, 8), torch.randn(2, 5, 8)
    everything = torch.ones(2, 5, dtype=torch.bool)
    fused, _ = att(query, context, everything)
    explicit, _ = att(query, context, everything, need_weights=True)
    torch.testing.assert_close(fused, att(query, context)[0], rtol=0, atol=0)
    torch.testing.assert_close(fused, explicit, rtol=1e-5, atol=1e-6)
    # and one padded key still changes the answer, in the same way on both paths
    some = everything.clone()
    some[0, -1] = False
    padded, _ = att(query, context, some)
    assert not torch.allclose(padded[0], fused[0])
    torch.testing.assert_close(padded[1], fused[1], rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(padded, att(query, context, some, need_weights=True)[0],
                               rtol=1e-5, atol=1e-6)
