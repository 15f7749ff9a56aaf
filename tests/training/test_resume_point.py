"""A run that outlives its machine: the committed resume point and exporting checkpoints."""

import json
import shutil

import pytest
import torch

from specfm.cli.train import main as train_main
from specfm.exceptions import SpecfmInputError, SpecfmWarning
from specfm.model import load_model
from specfm.training import (
    MaskedTokenObjective,
    ObjectiveConfig,
    Trainer,
    TrainerConfig,
    newest_checkpoint,
)
from specfm.training.checkpoint import checkpoint_progress, checkpoint_step, write_resume_point

from ..model.toy import tiny_network, toy_dataset
from .test_command_and_distributed import CONFIG


def _trainer(tmp_path, data_seed=1):
    torch.manual_seed(0)
    config = TrainerConfig(max_steps=10, batch_size=8, learning_rate=3e-3, warmup_steps=3,
                           checkpoint_every=3, checkpoint_dir=str(tmp_path / "machine" / "ck"),
                           resume_point=str(tmp_path / "repo" / "resume"), keep_checkpoints=1,
                           progress=False, seed=11)
    data = toy_dataset(28, n_pix=16, seed=data_seed)
    trainer = Trainer(tiny_network(seed=5, dropout=0.1), data, toy_dataset(8, n_pix=16, seed=2),
                      MaskedTokenObjective(ObjectiveConfig(n_flux_queries=3)), config)
    trainer.data_fingerprint = data.fingerprint()
    return trainer


def test_a_fresh_machine_resumes_from_the_resume_point_exactly(tmp_path):
    full = _trainer(tmp_path / "a")
    full.fit()
    part = _trainer(tmp_path / "b")
    assert part.fit(stop_after=7).interrupted
    resume = tmp_path / "b" / "repo" / "resume"
    # one folder of fixed content, overwritten in place: the step-6 checkpoint
    assert checkpoint_step(resume) == 6
    assert sorted(p.name for p in resume.iterdir()) == [
        "rng_rank0.safetensors", "state.json", "state.safetensors"]
    assert sorted(p.name for p in resume.parent.iterdir()) == ["resume"]
    # the machine goes away (its ignored run folder with it); the repository stays
    shutil.rmtree(tmp_path / "b" / "machine")
    again = _trainer(tmp_path / "b")
    folder = newest_checkpoint(again.config.checkpoint_dir, again.config.resume_point)
    assert folder == resume
    again.load_checkpoint(folder)
    result = again.fit()
    assert result.steps == 10
    for (name, a), b in zip(full.network.state_dict().items(),
                            again.network.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert result.history == full.history


def test_newest_checkpoint_prefers_the_higher_step(tmp_path):
    trainer = _trainer(tmp_path)
    trainer.fit(stop_after=7)  # checkpoints at 3 and 6, resume point at 6
    trainer.config.resume_point = None
    trainer.fit(stop_after=9)  # step 9 in checkpoint_dir only
    folder = newest_checkpoint(tmp_path / "repo" / "resume", tmp_path / "machine" / "ck")
    assert folder.name == "step_00000009"
    assert newest_checkpoint(None, tmp_path / "nowhere") is None


def test_checkpoint_progress_says_whether_the_run_had_ended(tmp_path):
    def progress(**state):
        (tmp_path / "state.json").write_text(json.dumps(state))
        return checkpoint_progress(tmp_path)

    assert progress(step=39497, epoch=12, trainer={"max_steps": 100000}) == (
        False, "step 39,497 of 100,000")
    assert progress(step=100000, epoch=31, trainer={"max_steps": 100000})[0]
    # counted in epochs: the last checkpoint comes before its epoch is closed
    assert progress(step=10, epoch=1, trainer={"epochs": 2, "max_steps": None}) == (
        False, "step 10, epoch 1 of 2")
    assert progress(step=10, epoch=2, trainer={"epochs": 2, "max_steps": None})[0]
    assert progress(step=6, epoch=1, stopped_early=True,
                    trainer={"epochs": 9, "max_steps": None})[0]


def test_a_swap_cut_short_still_leaves_a_resume_point(tmp_path):
    trainer = _trainer(tmp_path)
    trainer.fit(stop_after=4)
    resume = tmp_path / "repo" / "resume"
    # as if killed between the two renames of write_resume_point
    resume.rename(resume.with_name("resume.old"))
    found = newest_checkpoint(resume)
    assert found is not None and checkpoint_step(found) == 3
    # and the next write cleans up after it
    write_resume_point(found, resume)
    assert sorted(p.name for p in resume.parent.iterdir()) == ["resume"]
    with pytest.raises(SpecfmInputError, match="not a complete checkpoint"):
        write_resume_point(tmp_path / "empty", resume)


def test_resuming_on_other_data_warns(tmp_path):
    trainer = _trainer(tmp_path)
    trainer.fit(stop_after=4)
    other = _trainer(tmp_path, data_seed=3)
    assert other.data_fingerprint != trainer.data_fingerprint
    with pytest.warns(SpecfmWarning, match="not exactly"):
        other.load_checkpoint(tmp_path / "repo" / "resume")
    assert other.step == 3


def test_fingerprint_follows_the_data():
    a, b = toy_dataset(12, n_pix=8, seed=1), toy_dataset(12, n_pix=8, seed=1)
    assert a.fingerprint() == b.fingerprint()
    b.labels[0, 0] += 1e-3
    assert a.fingerprint() != b.fingerprint()


def test_resume_point_needs_checkpoints():
    with pytest.raises(SpecfmInputError, match="checkpoint_every"):
        TrainerConfig(resume_point="somewhere")


def test_command_writes_resume_point_and_exports_checkpoints(tmp_path, capsys):
    toy_dataset(24, n_pix=12).save(tmp_path / "train.safetensors")
    config = tmp_path / "run.toml"
    config.write_text(CONFIG.replace("epochs = 2", "max_steps = 7")
                      + 'resume_point = "resume"\n'
                      + '[provenance]\ndescription = "a toy run"\n')
    with pytest.raises(SpecfmInputError, match="no checkpoint yet"):
        train_main([str(config), "--export-checkpoint", str(tmp_path / "early")])
    assert train_main([str(config)]) == 0
    assert checkpoint_step(tmp_path / "resume") == 6
    state = json.loads((tmp_path / "resume" / "state.json").read_text())
    assert len(state["data_fingerprint"]) == 64
    assert state["run_record"]["description"] == "a toy run"
    assert train_main([str(config), "--export-checkpoint", str(tmp_path / "now")]) == 0
    assert "exported" in capsys.readouterr().out
    net = load_model(tmp_path / "now")
    prov = net.metadata["provenance"]
    assert prov["checkpoint"]["step"] == 6 and prov["checkpoint"]["total_steps"] == 7
    assert prov["description"] == "a toy run" and "label_ranges" in prov
    # the exported weights are the checkpoint's
    from safetensors.torch import load_file
    saved = load_file(tmp_path / "resume" / "state.safetensors")
    for name, value in net.state_dict().items():
        assert torch.equal(value, saved[f"model.{name}"]), name
    # from a fresh machine: only the resume point is left, --resume finds it
    shutil.rmtree(tmp_path / "checkpoints")
    assert train_main([str(config), "--resume", "--output", str(tmp_path / "done")]) == 0
    assert "resuming from" in capsys.readouterr().err
    assert load_model(tmp_path / "done").metadata["provenance"]["steps"] == 7


def test_a_time_limit_stops_with_a_resume_point_and_no_model(tmp_path, capsys):
    toy_dataset(24, n_pix=12).save(tmp_path / "train.safetensors")
    config = tmp_path / "run.toml"
    config.write_text(CONFIG.replace("epochs = 2", "max_steps = 7")
                      .replace("checkpoint_every = 2", "checkpoint_every = 5")
                      + 'resume_point = "resume"\n')
    # no time at all: one step, then a checkpoint there (not a multiple of 5) and a stop
    assert train_main([str(config), "--max-minutes", "0"]) == 0
    assert "stopped after 0 minutes at step 1; continue with --resume" in capsys.readouterr().out
    assert checkpoint_step(tmp_path / "resume") == 1
    assert not (tmp_path / "model").exists()  # an unfinished run writes no model
    assert train_main([str(config), "--resume"]) == 0
    assert load_model(tmp_path / "model").metadata["provenance"]["steps"] == 7


def test_time_limit_in_the_trainer_resumes_exactly(tmp_path):
    full = _trainer(tmp_path / "a")
    full.fit()
    part = _trainer(tmp_path / "b")
    assert part.fit(time_limit=0.0).interrupted and part.step == 1
    again = _trainer(tmp_path / "b")
    again.load_checkpoint(tmp_path / "b" / "repo" / "resume")
    again.fit()
    for a, b in zip(full.network.state_dict().values(), again.network.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
