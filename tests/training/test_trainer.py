import math

import pytest
import torch

from specfm.exceptions import SpecfmInputError
from specfm.model import Query, load_model
from specfm.training import (
    CheckpointError,
    MaskedTokenObjective,
    ObjectiveConfig,
    Trainer,
    TrainerConfig,
    choose_device,
    latest_checkpoint,
)

from ..model.toy import tiny_network, toy_dataset, toy_spectra, toy_tokens

SUPERVISED = ObjectiveConfig(context_fraction=(0.5, 1.0), label_context_probability=0.0,
                             n_flux_queries=0)


def test_tiny_model_learns_a_toy_label(tmp_path):
    """teff sets the depth of three lines; the model must recover it on unseen spectra."""
    train, val = toy_dataset(128, seed=0), toy_dataset(64, seed=10)
    net = tiny_network(seed=0)
    config = TrainerConfig(epochs=50, batch_size=32, learning_rate=1e-2, warmup_steps=10,
                           progress=False, patience=100)
    trainer = Trainer(net, train, val, MaskedTokenObjective(SUPERVISED), config)
    result = trainer.fit()
    assert result.steps == 200 and result.epochs_completed == 50
    losses = [h["val_loss"] for h in result.history]
    assert min(losses[-5:]) < losses[0] - 0.5  # the validation loss falls
    wave, flux, z_teff, *_ = toy_spectra(200, seed=99)
    net.eval()
    with torch.no_grad():
        out = net(toy_tokens(wave, flux), Query(["teff"]).build(200, net.vocabulary))
    rmse = float((out.mean[:, 0] - torch.as_tensor(z_teff).float()).pow(2).mean().sqrt())
    # predicting the mean gives 1.0 (teff is scaled to unit spread); we reach ~0.3
    assert rmse < 0.5
    # the predicted uncertainty is of the order of the actual error, not arbitrary (a
    # ratio, not fixed bounds: the error itself moves with the CPU's float arithmetic,
    # 0.19-0.25 between one and two threads on one machine)
    assert rmse / 4 < float(out.std.median()) < rmse * 4
    path = trainer.save_model(tmp_path / "toy")
    again = load_model(path)
    assert again.metadata["provenance"]["steps"] == 200
    assert again.metadata["provenance"]["objective"]["n_flux_queries"] == 0


def _run(tmp_path, name, stop_after=None, resume=False):
    torch.manual_seed(0)
    net = tiny_network(seed=5, dropout=0.1)
    config = TrainerConfig(max_steps=10, batch_size=8, learning_rate=3e-3, warmup_steps=3,
                           checkpoint_every=3, checkpoint_dir=str(tmp_path / name),
                           progress=False, seed=11, patience=5)
    trainer = Trainer(net, toy_dataset(28, n_pix=16, seed=1), toy_dataset(8, n_pix=16, seed=2),
                      MaskedTokenObjective(ObjectiveConfig(n_flux_queries=3)), config)
    if resume:
        trainer.load_checkpoint(latest_checkpoint(tmp_path / name))
    return trainer, trainer.fit(stop_after=stop_after)


def test_resume_gives_the_uninterrupted_result(tmp_path):
    # 28 rows / batch 8 = 4 steps per epoch: the break at step 6 falls mid-epoch
    full, full_result = _run(tmp_path, "full")
    _, part_result = _run(tmp_path, "part", stop_after=7)
    assert part_result.interrupted and part_result.steps == 7
    assert latest_checkpoint(tmp_path / "part").name == "step_00000006"
    resumed, result = _run(tmp_path, "part", resume=True)
    assert result.steps == 10 and not result.interrupted
    for (name, a), b in zip(full.network.state_dict().items(),
                            resumed.network.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert result.history == full_result.history
    assert [h["epoch"] for h in result.history] == [0, 1, 2]
    # only the newest checkpoints are kept
    assert len(list((tmp_path / "full").glob("step_*"))) == 3


def test_corrupted_checkpoint_is_refused(tmp_path):
    trainer, _ = _run(tmp_path, "c", stop_after=3)
    folder = latest_checkpoint(tmp_path / "c")
    data = bytearray((folder / "state.safetensors").read_bytes())
    data[-1] ^= 1
    (folder / "state.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256"):
        trainer.load_checkpoint(folder)


def test_early_stopping_and_schedule(tmp_path):
    net = tiny_network()
    config = TrainerConfig(epochs=20, batch_size=8, learning_rate=0.0, warmup_steps=1,
                           patience=2, progress=True)
    trainer = Trainer(net, toy_dataset(16, n_pix=12), toy_dataset(8, n_pix=12, seed=3),
                      config=config)
    result = trainer.fit()
    # with a zero learning rate nothing improves after the first epoch
    assert result.stopped_early and result.epochs_completed == 3
    # warm-up then cosine decay to min_lr_ratio
    sched = Trainer(tiny_network(), toy_dataset(16, n_pix=12), config=TrainerConfig(
        max_steps=110, warmup_steps=10, learning_rate=1.0, min_lr_ratio=0.1, progress=False))
    factors = [sched._lr_factor(s) for s in (0, 4, 9, 10, 60, 110)]
    assert factors[:3] == pytest.approx([0.1, 0.5, 1.0])
    assert factors[3] == pytest.approx(1.0)
    assert factors[4] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert factors[5] == pytest.approx(0.1)


def test_device_choice_and_bad_settings(monkeypatch):
    assert choose_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert choose_device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert choose_device("auto") == torch.device("cuda", 1)
    with pytest.raises(SpecfmInputError, match="checkpoint_dir"):
        TrainerConfig(checkpoint_every=5)
    net = tiny_network().requires_grad_(False)
    with pytest.raises(SpecfmInputError, match="frozen"):
        Trainer(net, toy_dataset(4, n_pix=8), config=TrainerConfig(device="cpu"))


def _one_step_trainer(precision):
    torch.manual_seed(0)
    config = TrainerConfig(max_steps=40, batch_size=16, learning_rate=3e-3, warmup_steps=2,
                           progress=False, seed=3, precision=precision)
    return Trainer(tiny_network(seed=2), toy_dataset(64, n_pix=16, seed=1),
                   toy_dataset(16, n_pix=16, seed=2),
                   MaskedTokenObjective(ObjectiveConfig(n_flux_queries=3)), config)


def test_bfloat16_training_steps_keep_float32_weights_and_validation():
    runs = {p: _one_step_trainer(p) for p in ("float32", "bfloat16")}
    batch = next(runs["float32"]._batches(runs["float32"].train_data, 0))
    first = {p: t._train_step(batch) for p, t in runs.items()}
    # the same batch, contexts and weights: the matrix products in bfloat16 move the loss a
    # little (so autocast was on), not much
    assert first["bfloat16"] != first["float32"]
    assert first["bfloat16"] == pytest.approx(first["float32"], rel=0.05)
    trainer = runs["bfloat16"]
    assert all(p.dtype == torch.float32 for p in trainer.network.parameters())
    assert all(p.grad.dtype == torch.float32 for p in trainer.network.parameters()
               if p.grad is not None)
    # validation is float32 whatever the training precision: the same weights score the same
    plain = _one_step_trainer("float32")
    plain.network.load_state_dict(trainer.network.state_dict())
    assert trainer.validate() == plain.validate()
    # and it trains
    before = trainer.validate()
    trainer.fit()
    assert trainer.validate() < before
    with pytest.raises(SpecfmInputError, match="precision must be one of"):
        TrainerConfig(precision="float16")
