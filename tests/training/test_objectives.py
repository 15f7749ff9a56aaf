import math

import torch

from specfm.tokens import TokenKind
from specfm.training import MaskedTokenObjective, ObjectiveConfig, gaussian_nll

from ..model.toy import tiny_network, toy_dataset


def test_gaussian_nll_matches_the_formula_and_adds_reference_errors():
    mean, logvar = torch.tensor([0.5, -1.0]), torch.tensor([0.0, math.log(0.25)])
    target = torch.tensor([3.5, -1.0])
    expected = 0.5 * (math.log(2 * math.pi) + logvar + (target - mean) ** 2 / logvar.exp())
    assert torch.allclose(gaussian_nll(mean, logvar, target), expected)
    torch_nll = torch.nn.GaussianNLLLoss(full=True, reduction="none")
    err = torch.tensor([0.3, 0.4])
    var = logvar.exp() + err**2
    assert torch.allclose(gaussian_nll(mean, logvar, target, err), torch_nll(mean, target, var))
    # a larger reference error forgives a bad prediction
    assert gaussian_nll(mean, logvar, target, err)[0] < gaussian_nll(mean, logvar, target)[0]


def test_context_and_requests_respect_masks():
    data = toy_dataset(16, n_pix=20, missing_logg=0.5)
    batch = data.batch(range(16))
    obj = MaskedTokenObjective(ObjectiveConfig(context_fraction=(0.3, 0.6),
                                               label_context_probability=0.5,
                                               n_flux_queries=5))
    gen = torch.Generator().manual_seed(0)
    context, queries, target, _, is_flux = obj.sample(batch, gen)
    n_vocab = len(data.vocabulary)
    # label queries are asked exactly for the labels each star has
    assert torch.equal(queries.valid[:, :n_vocab], batch.label_mask)
    assert torch.equal(target[:, :n_vocab], batch.labels)
    assert is_flux[:, n_vocab:].all() and not is_flux[:, :n_vocab].any()
    # flux queries are real pixels, with their values and errors as targets
    assert queries.valid[:, n_vocab:].all()
    for row in range(16):
        waves = batch.tokens.wavelength[row].tolist()
        for w, t in zip(queries.wavelength[row, n_vocab:].tolist(),
                        target[row, n_vocab:].tolist(), strict=True):
            assert t == batch.tokens.value[row, waves.index(w)]
    # context: a non-empty subset of real tokens, no missing label ever given
    assert context.valid.any(1).all()
    n_flux_ctx = (context.valid & (context.kind == TokenKind.FLUX)).sum(1)
    assert (n_flux_ctx <= 0.6 * 20 + 1).all()
    logg = data.vocabulary.index("logg")
    given_logg = context.valid & (context.kind != TokenKind.FLUX) & (context.ident == logg)
    assert not given_logg[~batch.label_mask[:, logg]].any()
    # held-out pixels are requested before pixels in the context
    for row in range(16):
        ctx = set(context.wavelength[row][context.valid[row]
                                          & (context.kind[row] == 0)].tolist())
        asked = queries.wavelength[row, n_vocab:].tolist()
        n_out = 20 - len(ctx)
        assert sum(w not in ctx for w in asked) == min(5, n_out)


def test_missing_labels_do_not_enter_the_loss():
    data = toy_dataset(8, n_pix=16, missing_logg=0.5)
    batch = data.batch(range(8))
    net = tiny_network()
    obj = MaskedTokenObjective(ObjectiveConfig(label_context_probability=0.0))
    ref = obj(net, batch, torch.Generator().manual_seed(1))
    logg = data.vocabulary.index("logg")
    missing = ~batch.label_mask[:, logg]
    assert missing.any()
    batch.labels[missing, logg] = 1e6  # whatever sits under the mask is ignored
    batch.label_errors[missing, logg] = 1e3
    out = obj(net, batch, torch.Generator().manual_seed(1))
    assert torch.equal(out.loss, ref.loss)
    assert out.n_label == int(batch.label_mask.sum())
    assert out.n_flux == 8 * obj.config.n_flux_queries
    assert torch.isfinite(out.loss)
    out.loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


def test_generation_rows_see_labels_only_and_are_asked_for_flux():
    data = toy_dataset(32, n_pix=20)
    batch = data.batch(range(32))
    obj = MaskedTokenObjective(ObjectiveConfig(generation_probability=1.0,
                                               label_context_probability=0.0,
                                               n_flux_queries=6))
    context, queries, *_ = obj.sample(batch, torch.Generator().manual_seed(3))
    n_flux_ctx = (context.valid & (context.kind == TokenKind.FLUX)).sum(1)
    assert (n_flux_ctx == 0).all()
    # every known label is in the context, whatever label_context_probability says
    n_labels_ctx = (context.valid & (context.kind != TokenKind.FLUX)).sum(1)
    assert torch.equal(n_labels_ctx, batch.label_mask.sum(1))
    n_vocab = len(data.vocabulary)
    assert queries.valid[:, n_vocab:].all()


def test_block_masking_holds_out_one_contiguous_wavelength_range():
    data = toy_dataset(32, n_pix=40)
    batch = data.batch(range(32))
    obj = MaskedTokenObjective(ObjectiveConfig(context_fraction=(1.0, 1.0),
                                               block_mask_probability=1.0,
                                               block_fraction=(0.2, 0.3),
                                               n_flux_queries=4))
    context, queries, *_ = obj.sample(batch, torch.Generator().manual_seed(4))
    n_vocab = len(data.vocabulary)
    for row in range(32):
        waves = sorted(batch.tokens.wavelength[row].tolist())
        ctx = set(context.wavelength[row][context.valid[row]
                                          & (context.kind[row] == TokenKind.FLUX)].tolist())
        held = [i for i, w in enumerate(waves) if w not in ctx]
        # with every other pixel kept, the held-out pixels form one run of 15-30 % of them
        assert 0.1 * 40 <= len(held) <= 0.3 * 40 + 1
        assert held == list(range(held[0], held[0] + len(held)))
        # and the flux requests ask for held-out pixels
        asked = queries.wavelength[row, n_vocab:].tolist()
        assert all(w not in ctx for w in asked)


def test_new_modes_are_validated():
    import pytest

    from specfm.exceptions import SpecfmInputError

    with pytest.raises(SpecfmInputError, match="generation_probability"):
        ObjectiveConfig(generation_probability=1.5)
    with pytest.raises(SpecfmInputError, match="block_fraction"):
        ObjectiveConfig(block_fraction=(0.5, 0.2))


def test_beta_nll_weights_labels_and_fluxes_by_their_own_powers():
    data = toy_dataset(8, n_pix=16)
    batch = data.batch(range(8))
    net = tiny_network().eval()

    def loss(**kw):
        obj = MaskedTokenObjective(ObjectiveConfig(n_flux_queries=4, flux_weight=0.5, **kw))
        with torch.no_grad():
            return obj(net, batch, torch.Generator().manual_seed(3)).loss

    # None means "as nll_beta"
    assert torch.equal(loss(nll_beta=0.5), loss(nll_beta=0.5, flux_nll_beta=0.5))
    # the weighted mean written out: label terms by var**1, flux terms by var**0.25
    obj = MaskedTokenObjective(ObjectiveConfig(n_flux_queries=4, flux_weight=0.5))
    with torch.no_grad():
        context, queries, target, err, is_flux = obj.sample(batch,
                                                            torch.Generator().manual_seed(3))
        out = net(context, queries)
    var = out.logvar.exp() + err**2
    weight = torch.where(is_flux, 0.5 * var**0.25, var) * queries.valid
    nll = torch.where(queries.valid, gaussian_nll(out.mean, out.logvar, target, err), 0.0)
    expected = (nll * weight).sum() / weight.sum()
    assert torch.allclose(loss(nll_beta=1.0, flux_nll_beta=0.25), expected)
    assert not torch.allclose(loss(nll_beta=1.0, flux_nll_beta=0.25), loss(nll_beta=1.0))


def test_beta_outside_zero_one_is_refused():
    import pytest

    from specfm.exceptions import SpecfmInputError

    with pytest.raises(SpecfmInputError, match="flux_nll_beta"):
        ObjectiveConfig(flux_nll_beta=-0.5)
    with pytest.raises(SpecfmInputError, match="nll_beta"):
        ObjectiveConfig(nll_beta=2.0)
