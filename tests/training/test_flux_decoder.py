"""A decoder of their own for flux requests: trained, it moves the spectra, never the labels."""

import pytest
import torch

from specfm.exceptions import SpecfmInputError
from specfm.model import Query, load_model, save_model
from specfm.training import (
    MaskedTokenObjective,
    ObjectiveConfig,
    Trainer,
    TrainerConfig,
    extend_network,
    freeze,
)

from ..model.toy import tiny_network, toy_dataset, toy_spectra, toy_tokens

WAVES = [15170.0, 15195.0, 15221.5]


def _answers(net, labels=("teff", "logg"), waves=WAVES, attention=False):
    """Means, log-variances and (optionally) attention of labels and flux in one batch."""
    wave, flux, *_ = toy_spectra(4, n_pix=20, seed=7)
    with torch.no_grad():
        out = net.eval()(toy_tokens(wave, flux, vocabulary=net.vocabulary),
                         Query(list(labels), waves).build(4, net.vocabulary),
                         return_attention=attention)
    return out


def test_a_new_flux_decoder_starts_as_a_copy_and_changes_no_answer(tmp_path):
    net = tiny_network(seed=3)
    split = extend_network(net, flux_decoder=True)
    assert split.config.flux_decoder and not net.config.flux_decoder
    # it shares the token embedding (wavelength and label tables), it does not copy it
    assert split.flux_decoder.embed._tokens[0] is split.embed
    a, b = _answers(net, attention=True), _answers(split, attention=True)
    for name in ("mean", "logvar", "attention"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    # requests of one kind alone (one decoder runs) give what they give in a mixed batch
    # (to float32 rounding: the matrix shapes differ)
    torch.testing.assert_close(_answers(split, waves=()).mean, b.mean[:, :2],
                               rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(_answers(split, labels=()).mean, b.mean[:, 2:],
                               rtol=1e-5, atol=1e-6)
    again = load_model(save_model(split, tmp_path / "split"))
    assert again.config.flux_decoder
    assert torch.equal(_answers(again).mean, _answers(split).mean)
    # asking again changes nothing
    assert extend_network(split, flux_decoder=True).config.flux_decoder


def test_training_the_flux_decoder_moves_flux_but_not_one_label():
    net = extend_network(tiny_network(seed=3), flux_decoder=True)
    freeze(net, ["embeddings", "encoder", "decoder", "head"])
    before = _answers(net)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    objective = MaskedTokenObjective(ObjectiveConfig(n_flux_queries=8,
                                                     generation_probability=0.5))
    Trainer(net, toy_dataset(16, n_pix=16), objective=objective,
            config=TrainerConfig(max_steps=5, batch_size=8, warmup_steps=1,
                                 learning_rate=1e-2, progress=False)).fit()
    after = _answers(net)
    assert torch.equal(after.mean[:, :2], before.mean[:, :2])
    assert torch.equal(after.logvar[:, :2], before.logvar[:, :2])
    assert not torch.equal(after.mean[:, 2:], before.mean[:, 2:])
    for name, value in net.state_dict().items():
        if name.startswith(("flux_decoder.", "flux_head.")):
            continue
        assert torch.equal(value, state[name]), name
    assert not torch.equal(net.state_dict()["flux_head.net.1.weight"],
                           state["flux_head.net.1.weight"])


def test_freezing_the_flux_decoder_needs_one():
    net = tiny_network(seed=3)
    with pytest.raises(SpecfmInputError, match="no flux decoder"):
        freeze(net, ["flux_decoder"])
    split = extend_network(net, flux_decoder=True)
    freeze(split, ["flux_decoder"])
    trainable = {n for n, p in split.named_parameters() if p.requires_grad}
    assert trainable and not any(n.startswith(("flux_decoder.", "flux_head."))
                                 for n in trainable)
