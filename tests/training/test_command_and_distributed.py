import os
import pathlib
import socket
import subprocess
import sys

import pytest

import specfm
from specfm.cli.train import main as train_main
from specfm.model import load_model

from ..model.toy import toy_dataset

CONFIG = """
output = "model"
[data]
train = "train.safetensors"
validation_fraction = 0.25
[model]
d_model = 16
n_heads = 2
n_latents = 4
n_latent_layers = 1
n_frequencies = 8
[objective]
n_flux_queries = 2
[trainer]
epochs = 2
batch_size = 4
warmup_steps = 2
checkpoint_every = 2
checkpoint_dir = "checkpoints"
progress = false
"""


def _setup(tmp_path, extra=""):
    toy_dataset(24, n_pix=12).save(tmp_path / "train.safetensors")
    (tmp_path / "run.toml").write_text(CONFIG + extra)
    return tmp_path / "run.toml"


def test_train_from_toml_and_resume(tmp_path):
    config = _setup(tmp_path)
    assert train_main([str(config)]) == 0
    net = load_model(tmp_path / "model")
    prov = net.metadata["provenance"]
    assert prov["world_size"] == 1 and prov["epochs_completed"] == 2
    assert net.config.d_model == 16
    # resuming from the last checkpoint finishes at the same place
    assert train_main([str(config), "--resume", "--output", str(tmp_path / "again")]) == 0
    assert load_model(tmp_path / "again").metadata["provenance"]["steps"] == prov["steps"]
    # fine-tuning section: start from the model just written, freeze the encoder
    (tmp_path / "ft").mkdir()
    tuned = _setup(tmp_path / "ft", '[finetune]\nfrom = "../model"\nfreeze = ["encoder"]\n')
    assert train_main([str(tuned)]) == 0
    assert "parent" in load_model(tmp_path / "ft" / "model").metadata["provenance"]
    # a run in bfloat16 says so in its model's provenance
    (tmp_path / "bf16").mkdir()
    half = _setup(tmp_path / "bf16")
    half.write_text(half.read_text().replace("[trainer]\n", '[trainer]\nprecision = "bfloat16"\n'))
    assert train_main([str(half)]) == 0
    trainer = load_model(tmp_path / "bf16" / "model").metadata["provenance"]["trainer"]
    assert trainer["precision"] == "bfloat16" and prov["trainer"]["precision"] == "float32"


def test_a_run_can_start_from_a_grown_model(tmp_path):
    from specfm.exceptions import SpecfmInputError

    assert train_main([str(_setup(tmp_path))]) == 0
    (tmp_path / "big").mkdir()
    grown = _setup(tmp_path / "big", '[finetune]\nfrom = "../model"\n'
                   'grow = {width = 32, n_latents = 8, n_latent_layers = 2, jitter = 1e-3}\n')
    assert train_main([str(grown)]) == 0
    net = load_model(tmp_path / "big" / "model")
    assert (net.config.d_model, net.config.n_heads, net.config.n_latents,
            net.config.n_latent_layers) == (32, 4, 8, 2)
    assert net.metadata["provenance"]["grown_from"]["d_model"] == 16
    (tmp_path / "bad").mkdir()
    bad = _setup(tmp_path / "bad", '[finetune]\nfrom = "../model"\ngrow = {heads = 8}\n')
    with pytest.raises(SpecfmInputError, match="grow takes width"):
        train_main([str(bad)])


def test_a_fine_tune_writes_its_absent_base_from_the_run_named_in_from_run(tmp_path):
    import shutil

    import torch

    from specfm.exceptions import SpecfmInputError

    # a run counted in steps (its last checkpoint is its end: 8 is a multiple of 2)
    toy_dataset(24, n_pix=12).save(tmp_path / "train.safetensors")
    base = tmp_path / "run.toml"
    base.write_text(CONFIG.replace("epochs = 2", "max_steps = 8"))
    assert train_main([str(base)]) == 0
    written = load_model(tmp_path / "model").state_dict()

    shutil.rmtree(tmp_path / "model")  # a fresh machine: only the checkpoints are there
    (tmp_path / "ft").mkdir()
    missing = _setup(tmp_path / "ft", '[finetune]\nfrom = "../model"\n')
    with pytest.raises(SpecfmInputError, match="name the configuration that writes it"):
        train_main([str(missing)])
    wrong = _setup(tmp_path / "ft", '[finetune]\nfrom = "../other"\nfrom_run = "../run.toml"\n')
    with pytest.raises(SpecfmInputError, match="not the model named in from"):
        train_main([str(wrong)])
    assert not (tmp_path / "other").exists()
    tuned = _setup(tmp_path / "ft", '[finetune]\nfrom = "../model"\nfrom_run = "../run.toml"\n')
    # a run still going (its newest checkpoint short of max_steps) has written no model yet
    last = tmp_path / "checkpoints" / "step_00000008"
    last.rename(tmp_path / "aside")
    with pytest.raises(SpecfmInputError, match=r"has not finished .* step 6 of 8"):
        train_main([str(tuned)])
    assert not (tmp_path / "model").exists()
    (tmp_path / "aside").rename(last)
    assert train_main([str(tuned)]) == 0
    # the base written from the newest checkpoint is the model the run wrote when it ended
    exported = load_model(tmp_path / "model").state_dict()
    assert all(torch.equal(exported[k], written[k]) for k in written)
    assert (tmp_path / "ft" / "model" / "config.json").exists()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(sys.platform == "win32", reason="gloo via torchrun is tested on POSIX")
def test_two_process_gloo_run(tmp_path):
    config = _setup(tmp_path)
    root = str(pathlib.Path(specfm.__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]),
        OMP_NUM_THREADS="1", GLOO_SOCKET_IFNAME="lo")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
           "-m", "specfm.cli.train", str(config), "--device", "cpu"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.stdout.count("model written to") == 1  # only rank 0 reports and writes
    net = load_model(tmp_path / "model")
    prov = net.metadata["provenance"]
    assert prov["world_size"] == 2
    # 18 training rows, 2 processes, batch 4: 3 steps per epoch, 2 epochs
    assert prov["steps"] == 6
    assert all(h["val_loss"] is not None for h in prov["history"])
    last = sorted((tmp_path / "checkpoints").glob("step_*"))[-1]
    assert {p.name for p in last.iterdir()} >= {"rng_rank0.safetensors",
                                                "rng_rank1.safetensors", "state.json"}


def test_the_repository_training_configs_are_valid():
    import pathlib
    import tomllib

    import pytest

    from specfm.training import SyntheticSource
    from specfm.training.config_data import tokenizer_config as _tokenizer_config
    from specfm.training.from_config import (
        _grow_settings,
        producing_config,
        trainer_config,
        training_objective,
    )

    configs = sorted((pathlib.Path(__file__).parents[2] / "configs").rglob("*.toml"))
    if not configs:
        pytest.skip("no configs/ folder beside tests/ (installed package)")
    for path in configs:
        with open(path, "rb") as f:
            config = tomllib.load(f)
        trainer_config(config)
        training_objective(config)
        _tokenizer_config(config)
        for source in config["data"].get("sources", []):
            SyntheticSource(**source)
        base = path.parent
        if "finetune" in config:
            fine = config["finetune"]
            if not (base / fine["from"] / "config.json").exists():
                # a model under runs/: the committed configuration that writes it must be
                # named, and have a (committed) checkpoint to write it from once it ends (a
                # run planned to follow one in progress waits for it: specfm train refuses)
                assert "from_run" in fine, path
                producing_config(base / fine["from_run"], base / fine["from"], finished=False)
            if "grow" in config["finetune"]:
                _grow_settings(config["finetune"]["grow"])


def test_configuration_sections_are_read_with_a_clear_error_for_a_bad_key(tmp_path):
    import pytest

    from specfm.exceptions import SpecfmInputError
    from specfm.training import MaskedTokenObjective
    from specfm.training.config_data import cached_data_paths
    from specfm.training.from_config import trainer_config, training_objective

    config = {"trainer": {"batch_size": 7, "seed": 3}, "objective": {},
              "data": {"kind": "synthetic", "cache": "runs/x/data"}}
    settings = trainer_config(config)
    assert (settings.batch_size, settings.seed) == (7, 3)
    assert isinstance(training_objective(config), MaskedTokenObjective)
    with pytest.raises(SpecfmInputError, match=r"Bad key in \[trainer\]"):
        trainer_config({"trainer": {"batch_sise": 7}})
    with pytest.raises(SpecfmInputError, match=r"Bad key in \[objective\]"):
        training_objective({"objective": {"no_such_key": 1}})
    paths = cached_data_paths(config, tmp_path)
    assert paths["train"] == tmp_path / "runs/x/data/train.safetensors"
    assert paths["validation"].parent == paths["settings"].parent == paths["train"].parent
    assert cached_data_paths({"data": {"kind": "synthetic"}}, tmp_path) is None


def test_a_synthetic_data_cache_remembers_the_noise_it_was_made_with(tmp_path):
    import json

    from specfm.exceptions import SpecfmInputError
    from specfm.training.config_data import CACHE_SETTINGS, _check_cache, _noise_fingerprints

    source = {"emulator": "cannon_coolstars", "instruments": ["gaia_xp", "apogee"],
              "n_stars": 10, "uncertainty": "noiseless"}
    (prints,) = _noise_fingerprints([source])
    assert prints["apogee"] == ["photon", None]  # photon noise alone
    assert prints["gaia_xp"][0] == "photon" and len(prints["gaia_xp"][1]) == 64
    assert _noise_fingerprints([{**source, "noise": "photon"}])[0]["gaia_xp"] == ["photon", None]
    # uncertainties from the observed flux (the default) are marked: a cache of before the
    # choice (noiseless uncertainties) is not taken for one of them
    (observed,) = _noise_fingerprints([{**source, "uncertainty": "observed"}])
    assert observed["apogee"] == ["photon", None, "uncertainty=observed"]
    settings = {"data": {"kind": "synthetic"}, "tokenizer": {}, "seed": 0, "noise": [prints]}
    (tmp_path / CACHE_SETTINGS).write_text(json.dumps(settings))
    _check_cache(tmp_path, settings)  # the same settings: accepted
    # a cache rendered before the gaia_xp preset had its noise shape is refused
    older = dict(settings, noise=[{**prints, "gaia_xp": ["photon", None]}])
    (tmp_path / CACHE_SETTINGS).write_text(json.dumps(older))
    with pytest.raises(SpecfmInputError, match="Delete that folder"):
        _check_cache(tmp_path, settings)
