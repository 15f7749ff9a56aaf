"""``benchmarks/pretraining_step.py``: one command measures a step of a pre-training run."""

import json

import pytest

from specfm.cli.train import main as train_main
from specfm.model import save_model

from ..conftest import benchmark_modules
from ..model.toy import tiny_network, toy_dataset
from ..training.test_command_and_distributed import CONFIG


@pytest.fixture(scope="module")
def pretraining_step():
    with benchmark_modules("pretraining_step") as (module,):
        yield module


def _toy_run(tmp_path):
    toy_dataset(24, n_pix=12).save(tmp_path / "train.safetensors")
    config = tmp_path / "specfm-base-toy.toml"
    config.write_text(CONFIG.replace("epochs = 2", "max_steps = 7") + 'resume_point = "resume"\n')
    assert train_main([str(config)]) == 0
    return config


def test_a_checkpoint_is_exported_under_its_own_step_and_never_over_another(
        pretraining_step, tmp_path):
    config = _toy_run(tmp_path)
    runs = tmp_path / "runs"
    model = pretraining_step.export_step(config, runs)
    assert model == runs / "step6" and pretraining_step.measured_step(model) == 6
    # a second export of the same step is refused and leaves the first one as it was
    before = (model / "model.safetensors").read_bytes()
    with pytest.raises(SystemExit, match="step6 already exists"):
        pretraining_step.export_step(config, runs)
    assert (model / "model.safetensors").read_bytes() == before


def test_the_step_of_a_finished_model_and_of_a_model_without_one(pretraining_step, tmp_path):
    finished = tmp_path / "finished"
    save_model(tiny_network(seed=1), finished, provenance={"steps": 120000})
    assert pretraining_step.measured_step(finished) == 120000
    bare = tmp_path / "bare"
    save_model(tiny_network(seed=1), bare)
    config = json.loads((bare / "config.json").read_text())
    config.pop("provenance", None)
    (bare / "config.json").write_text(json.dumps(config))
    with pytest.raises(SystemExit, match="no training step"):
        pretraining_step.measured_step(bare)


def test_the_commands_measure_the_given_model_against_the_shipped_one(pretraining_step):
    todo = pretraining_step.commands("configs/specfm-base-v9.toml", "runs/x/step50", 50,
                                     "out", "v3.ecsv", "shipped-base", "v3 (shipped)", 2)
    assert [name for name, _ in todo] == list(pretraining_step.MEASUREMENTS)
    every = dict(todo)
    assert every["validation"][2:6] == ["configs/specfm-base-v9.toml", "shipped-base",
                                        "runs/x/step50", "--names"]
    assert every["validation"][6:8] == ["v3 (shipped)", "specfm-base-v9 at step 50"]
    assert every["recovery"][every["recovery"].index("--against") + 1] == "v3.ecsv"
    for name, argv in todo:
        assert "runs/x/step50" in argv, name
        assert argv[argv.index("--threads") + 1] == "2"
    only = pretraining_step.commands("c.toml", "m", 1, "out", "a", "s", "n", 1,
                                     only=("generation", "recovery"))
    assert [name for name, _ in only] == ["recovery", "generation"]
    assert "--against" not in dict(only)["generation"]
    paired = pretraining_step.commands("c.toml", "m", 1, "out", "a", "s", "n", 1,
                                       only=("generation",), against_generation="v3_stars.ecsv")
    generation = dict(paired)["generation"]
    assert generation[generation.index("--against") + 1] == "v3_stars.ecsv"


def test_a_dry_run_prints_the_commands_and_records_nothing(pretraining_step, tmp_path, capsys):
    model = tmp_path / "model"
    save_model(tiny_network(seed=1), model, provenance={"steps": 7})
    out = tmp_path / "out"
    pretraining_step.main(["configs/specfm-base-v9.toml", "--model", str(model), "--against",
                           "v3.ecsv", "--output-dir", str(out), "--dry-run"])
    printed = capsys.readouterr().out
    assert "step 7" in printed and printed.count("--- ") == 5
    assert "Not added" in printed and not out.exists()
    assert "generation_inpainting_stars" not in printed  # none beside v3.ecsv
    beside = tmp_path / "v3"
    beside.mkdir()
    (beside / "generation_inpainting_stars.ecsv").write_text("")
    pretraining_step.main(["configs/specfm-base-v9.toml", "--model", str(model), "--against",
                           str(beside / "recovery.ecsv"), "--output-dir", str(out),
                           "--dry-run", "--only", "generation"])
    assert f"--against {beside / 'generation_inpainting_stars.ecsv'}" in capsys.readouterr().out
