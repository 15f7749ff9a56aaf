"""The experiments' history tables (``benchmarks/experiments.py``): one row per run."""

import json

import numpy as np
import pytest
from astropy.table import Table

from ..conftest import benchmark_modules


@pytest.fixture(scope="module")
def experiments():
    with benchmark_modules("experiments") as (module,):
        yield module


def _accuracy_table(path, teff_rmse_cool, sha="abcdef0123456789"):
    """A small ``xp_accuracy.ecsv``: specfm-xp and XGBoost rows for Teff, log g, [Fe/H]."""
    rows = []
    for label, scale in (("teff", 100.0), ("logg", 0.2), ("fe_h", 0.1), ("alpha_m", 0.05)):
        for subset in ("all", "Teff < 7000 K"):
            for method, factor in (("specfm-xp", 1.0), ("xgboost", 1.2)):
                rmse = 3 * scale * factor
                if label == "teff" and subset != "all" and method == "specfm-xp":
                    rmse = teff_rmse_cool
                rows.append((label, subset, method, 0.01 * scale, scale * factor, rmse))
    table = Table(rows=rows, names=("label", "subset", "method", "bias", "sigma", "rmse"))
    table.meta["models"] = {"specfm-xp": {"sha256": sha}}
    table.write(path)
    return path


def test_an_xp_run_is_one_row_and_adding_it_again_replaces_it(experiments, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps(
        {"provenance": {"best_val_loss": 0.5, "epochs_completed": 12}}))
    out = tmp_path / "results"
    first = _accuracy_table(tmp_path / "a.ecsv", teff_rmse_cool=500.0)  # XGBoost: 360 K
    experiments.add_xp_run("xp-test", first, model=model, verdict="first", output_dir=out)
    experiments.add_xp_run("xp-other", None, verdict="not evaluated", output_dir=out)
    table = experiments.add_xp_run("xp-test", _accuracy_table(tmp_path / "b.ecsv", 100.0),
                                   model=model, verdict="second", output_dir=out)
    assert sorted(table["run"]) == ["xp-other", "xp-test"]
    row = table[table["run"] == "xp-test"][0]
    assert row["verdict"] == "second" and row["n_lost"] == 0 and row["lost"] == "none"
    assert row["best_val_loss"] == 0.5 and row["epochs"] == 12 and row["sha256"] == "abcdef01"
    assert row["config"] == "configs/experiments/xp-test.toml"
    assert np.isnan(table[table["run"] == "xp-other"][0]["teff_sigma"])
    rst = (out / "xp_runs.rst").read_text()
    assert "xp-test (configs/experiments/xp-test.toml): second" in rst
    assert Table.read(out / "xp_runs.ecsv")["run"].tolist() == table["run"].tolist()


def test_a_lost_comparison_is_named(experiments, tmp_path):
    table = Table.read(_accuracy_table(tmp_path / "a.ecsv", teff_rmse_cool=500.0))
    assert experiments.cells_lost(table) == [("teff", "rmse", "Teff < 7000 K")]
    assert experiments.describe_lost(experiments.cells_lost(table)) == \
        "teff rmse (Teff < 7000 K)"


def _recovery_table(path, sigma_factor, sha, against=None):
    """A small ``synthetic_recovery.ecsv``: APOGEE and Gaia XP at S/N 50 and 100."""
    rows = [(instrument, snr, 100.0 * sigma_factor, 0.1 * sigma_factor, 0.05 * sigma_factor)
            for instrument in ("apogee", "gaia_xp") for snr in (50.0, 100.0)]
    table = Table(rows=rows, names=("instrument", "snr", "teff_sigma", "logg_sigma",
                                    "fe_h_sigma"))
    table.meta["models"] = {"specfm-base": {"path": "m", "sha256": sha}}
    if against is not None:
        table.meta["against"] = {"file": str(against),
                                 "smaller_sigma_cells": {"teff": 4, "logg": 3, "fe_h": 0}}
    table.write(path)
    return path


def test_a_pretraining_step_is_one_row_beside_the_shipped_model(experiments, tmp_path):
    shipped = _recovery_table(tmp_path / "shipped.ecsv", 1.0, "a" * 64)
    step = _recovery_table(tmp_path / "step.ecsv", 0.5, "b" * 64, against=shipped)
    losses = Table({"model": ["v2", "v3 now"], "val_loss": [-0.48, -0.52],
                    "sha256": ["a" * 64, "b" * 64]})
    losses.write(tmp_path / "loss.ecsv")
    out = tmp_path / "results"
    experiments.add_pretraining_step("base-test", 1000, tmp_path / "loss.ecsv", step,
                                     output_dir=out)
    generation = Table(rows=[("synthetic APOGEE (specfm-base)", "generation", 0, 0.008, 0.013),
                             ("synthetic APOGEE (specfm-base)", "in-painting 30 A", 0, 0.007,
                              0.014),
                             ("synthetic APOGEE (specfm-base)",
                              "in-painting 30 A, 3 anchor pixels", 3, 0.009, 0.014),
                             ("real Gaia XP (specfm-xp)", "generation", 0, 0.02, 0.26)],
                       names=("part", "task", "anchor_pixels", "model_mae", "baseline_mae"))
    generation.write(tmp_path / "generation.ecsv")
    table = experiments.add_pretraining_step("base-test", 1000, tmp_path / "loss.ecsv", step,
                                             generation=tmp_path / "generation.ecsv",
                                             output_dir=out)
    assert len(table) == 1  # the same run and step again: replaced
    row = table[0]
    assert (row["val_loss"], row["reference_val_loss"], row["reference"]) == (-0.52, -0.48, "v2")
    assert (row["cells_teff"], row["cells_logg"], row["cells_fe_h"], row["n_cells"]) == (4, 3, 0, 4)
    assert row["apogee_teff"] == 50.0 and row["reference_apogee_teff"] == 100.0
    assert row["gaia_xp_fe_h"] == pytest.approx(0.025)
    assert (row["apogee_generation"], row["apogee_inpainting"]) == (0.008, 0.007)
    rst = (out / "pretraining_runs.rst").read_text()
    assert "base-test" in rst and "4 / 3 / 0 of 4" in rst and "v2 (sha256 aaaaaaaaaaaa)" in rst
    # results of a model that validation_loss.py did not score are refused
    Table({"model": ["v2"], "val_loss": [-0.48], "sha256": ["a" * 64]}).write(
        tmp_path / "only_v2.ecsv")
    with pytest.raises(SystemExit, match="no row for the model"):
        experiments.add_pretraining_step("base-test", 2000, tmp_path / "only_v2.ecsv", step,
                                         output_dir=out)
    with pytest.raises(SystemExit, match="--against"):
        experiments.add_pretraining_step("base-test", 2000, tmp_path / "loss.ecsv", shipped,
                                         output_dir=out)
