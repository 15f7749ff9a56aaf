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
