import pytest
import torch

from specfm.exceptions import SpecfmInputError
from specfm.model import Query, load_model, save_model
from specfm.tokens import TokenKind, TokenSpec
from specfm.training import (
    FineTuneConfig,
    TokenDataset,
    Trainer,
    TrainerConfig,
    extend_network,
    finetune,
    freeze,
    unfreeze,
)

from ..model.toy import tiny_network, toy_dataset, toy_spectra, toy_tokens

LI = TokenSpec("li_fe", TokenKind.LABEL, "dex", 0.0, 1.0, "toy lithium")


def _predict(net, names, vocabulary=None):
    wave, flux, *_ = toy_spectra(4, n_pix=20, seed=7)
    with torch.no_grad():
        return net.eval()(toy_tokens(wave, flux, vocabulary=net.vocabulary),
                          Query(names).build(4, net.vocabulary)).mean


def test_extending_keeps_old_answers_and_adds_new_ones(tmp_path):
    net = tiny_network(seed=2)
    big = extend_network(net, [LI], n_new_kinds=1)
    assert len(big.vocabulary) == len(net.vocabulary) + 1
    assert big.vocabulary.index("li_fe") == len(net.vocabulary)
    assert big.config.n_kinds == 4
    assert torch.equal(_predict(big, ["teff", "bp_rp"]), _predict(net, ["teff", "bp_rp"]))
    assert _predict(big, ["li_fe"]).shape == (4, 1)
    # the original network is untouched, and the new one saves and loads
    assert len(net.vocabulary) + 1 == big.embed.ident.n_rows
    assert net.embed.ident.n_rows == len(net.vocabulary)
    again = load_model(save_model(big, tmp_path / "big"))
    assert torch.equal(_predict(again, ["li_fe", "teff"]), _predict(big, ["li_fe", "teff"]))
    with pytest.raises(SpecfmInputError, match="already"):
        extend_network(net, [TokenSpec("teff", TokenKind.LABEL, "K")])
    with pytest.raises(SpecfmInputError, match="Unknown part"):
        freeze(net, ["everything"])


def test_frozen_parts_do_not_move_but_new_rows_do():
    net = extend_network(tiny_network(seed=2), [LI])
    freeze(net, ["embeddings", "encoder"])
    before = {k: v.clone() for k, v in net.state_dict().items()}
    data = toy_dataset(16, n_pix=16, vocabulary=net.vocabulary, extra_name="li_fe")
    Trainer(net, data, config=TrainerConfig(max_steps=4, batch_size=8, warmup_steps=1,
                                            learning_rate=1e-2, progress=False)).fit()
    after = net.state_dict()
    n_old = len(net.vocabulary) - 1
    for name, value in before.items():
        if name == "embed.ident.weight":
            assert torch.equal(after[name][:n_old], value[:n_old])
            assert not torch.equal(after[name][n_old:], value[n_old:])
        elif name.startswith(("embed.", "encoder.")):
            assert torch.equal(after[name], value), name
    assert not torch.equal(after["head.net.1.weight"], before["head.net.1.weight"])
    unfreeze(net)
    assert net.n_parameters(trainable_only=True) == net.n_parameters()


def test_finetune_on_a_small_set_with_a_new_label():
    base = tiny_network(seed=4)
    vocab = base.vocabulary.extend([LI])
    data = toy_dataset(40, n_pix=24, seed=3, vocabulary=vocab, extra_name="li_fe")
    config = FineTuneConfig(freeze=("encoder",), new_tokens=(LI,), validation_fraction=0.25)
    trainer_config = TrainerConfig(epochs=30, batch_size=10, learning_rate=1e-2,
                                   warmup_steps=3, patience=3, progress=False)
    tuned, result = finetune(base, data, config, trainer_config)
    assert tuned.vocabulary == vocab
    assert all(h["val_loss"] is not None for h in result.history)
    assert result.best_val_loss < result.history[0]["val_loss"]
    assert result.stopped_early or result.epochs_completed == 30
    assert tuned.metadata["provenance"]["finetune"]["new_tokens"] == ["li_fe"]
    for name, value in base.state_dict().items():
        if name.startswith("encoder."):
            assert torch.equal(tuned.state_dict()[name], value), name


def test_concatenated_datasets_keep_every_row_and_label():
    a = toy_dataset(6, n_pix=20, seed=1)
    b = toy_dataset(4, n_pix=30, seed=2)
    both = TokenDataset.concatenate([a, b])
    assert len(both) == 10
    assert torch.equal(both.labels, torch.cat([a.labels, b.labels]))
    assert torch.equal(both.label_mask, torch.cat([a.label_mask, b.label_mask]))
    assert both.tokens.spectrum_index.tolist() == list(range(10))
    with pytest.raises(SpecfmInputError, match="different vocabularies"):
        TokenDataset.concatenate([a, toy_dataset(3, vocabulary=a.vocabulary.extend([LI]))])
    with pytest.raises(SpecfmInputError, match="at least one"):
        TokenDataset.concatenate([])


def test_rehearsal_rows_train_but_never_validate():
    base = tiny_network(seed=4)
    data = toy_dataset(20, n_pix=24, seed=3)
    rehearsal = toy_dataset(30, n_pix=24, seed=9)
    trainer_config = TrainerConfig(epochs=2, batch_size=10, learning_rate=1e-3,
                                   warmup_steps=1, progress=False)
    config = FineTuneConfig(freeze=(), validation_fraction=0.25, repeat=3)
    tuned, result = finetune(base, data, config, trainer_config, rehearsal=rehearsal)
    # 15 training stars x 3 + 30 rehearsal rows = 75 rows: 8 batches of 10 per epoch
    assert result.steps == 2 * 8
    info = tuned.metadata["provenance"]["finetune"]
    assert info["repeat"] == 3 and info["rehearsal_rows"] == 30
    assert tuned.metadata["provenance"]["n_train_rows"] == 75
    _, plain = finetune(base, data, FineTuneConfig(freeze=(), validation_fraction=0.25),
                        trainer_config)
    assert plain.steps == 2 * 2  # 15 rows: the validation rows are the same 5 either way
    with pytest.raises(SpecfmInputError, match="TokenDataset"):
        finetune(base, data, config, trainer_config, rehearsal=[rehearsal])
    with pytest.raises(SpecfmInputError, match="repeat"):
        FineTuneConfig(repeat=0)
