"""``benchmarks/validation_loss.py``: models scored on a run's validation rows."""

import pytest
from astropy.table import Table

from specfm.model import save_model
from specfm.training import MaskedTokenObjective, ObjectiveConfig, Trainer, TrainerConfig

from ..conftest import benchmark_modules
from ..model.toy import tiny_network, toy_dataset


@pytest.fixture(scope="module")
def validation_loss():
    with benchmark_modules("validation_loss") as (module,):
        yield module


def test_models_are_scored_as_the_trainer_scores_them(validation_loss, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    val = toy_dataset(12, n_pix=16, seed=2)
    val.save(cache / "validation.safetensors")
    config = tmp_path / "run.toml"
    config.write_text('[data]\ncache = "cache"\n[objective]\nn_flux_queries = 3\n'
                      '[trainer]\nseed = 11\nbatch_size = 4\ncheckpoint_every = 10\n'
                      'checkpoint_dir = "ckpt"\nresume_point = "resume"\n')
    paths = []
    for seed in (1, 2):
        paths.append(tmp_path / f"model{seed}")
        save_model(tiny_network(seed=seed), paths[-1])

    table = validation_loss.main([str(config), *map(str, paths), "--names", "a", "b",
                                  "--output-dir", str(tmp_path / "out"), "--threads", "1"])

    # the run's own trainer, on the same rows with the same settings, gives the same numbers
    objective = MaskedTokenObjective(ObjectiveConfig(n_flux_queries=3))
    settings = TrainerConfig(seed=11, batch_size=4, progress=False, max_steps=1)
    for seed, row in zip((1, 2), table, strict=True):
        expected = Trainer(tiny_network(seed=seed), val, val, objective, settings).validate()
        assert row["val_loss"] == pytest.approx(expected, rel=1e-6)
    assert table["val_loss"][0] != pytest.approx(table["val_loss"][1], rel=1e-3)
    written = Table.read(tmp_path / "out" / "validation_loss.ecsv")
    assert list(written["model"]) == ["a", "b"]
    assert (tmp_path / "out" / "validation_loss.rst").read_text().count("\n   a ") == 1
    # scoring writes no checkpoint and no resume point of the run
    assert not (tmp_path / "ckpt").exists() and not (tmp_path / "resume").exists()


def test_a_missing_data_cache_says_how_to_build_it(validation_loss, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('[data]\ncache = "nowhere"\n')
    with pytest.raises(SystemExit, match="specfm train"):
        validation_loss.main([str(config), str(tmp_path), "--output-dir", str(tmp_path)])


def test_training_rows_are_a_seeded_sample_the_size_of_the_validation_rows(
        validation_loss, tmp_path):
    import numpy as np

    cache = tmp_path / "cache"
    cache.mkdir()
    val = toy_dataset(6, n_pix=16, seed=2)
    train = toy_dataset(30, n_pix=16, seed=3)
    val.save(cache / "validation.safetensors")
    train.save(cache / "train.safetensors")
    config = tmp_path / "run.toml"
    config.write_text('[data]\ncache = "cache"\n[objective]\nn_flux_queries = 3\n'
                      '[trainer]\nseed = 11\nbatch_size = 4\n')
    save_model(tiny_network(seed=1), tmp_path / "model")
    table = validation_loss.main([str(config), str(tmp_path / "model"), "--rows", "train",
                                  "--output-dir", str(tmp_path / "out"), "--threads", "1"])
    pick = np.sort(np.random.default_rng(0).choice(30, 6, replace=False))
    settings = TrainerConfig(seed=11, batch_size=4, progress=False, max_steps=1)
    rows = train.subset(pick)
    objective = MaskedTokenObjective(ObjectiveConfig(n_flux_queries=3))
    expected = Trainer(tiny_network(seed=1), rows, rows, objective, settings).validate()
    assert table["val_loss"][0] == pytest.approx(expected, rel=1e-6)
    assert table.meta["rows"] == "train" and table.meta["n_rows"] == 6
    assert "training rows" in (tmp_path / "out" / "validation_loss.rst").read_text()
