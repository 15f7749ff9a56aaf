"""The statistics behind the published benchmark tables (``benchmarks/_metrics.py`` and
``benchmarks/xp_uncertainty.py``): paired bootstrap intervals and error calibration."""

import numpy as np
import pytest

from ..conftest import benchmark_modules


@pytest.fixture(scope="module")
def bench():
    """The benchmark helpers, imported the way the scripts import them."""
    with benchmark_modules("_metrics", "xp_uncertainty") as modules:
        yield modules


def _stars(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(5000.0, 500.0, n), rng


def test_paired_bootstrap_same_method_is_a_tie(bench):
    common, _ = bench
    ref, rng = _stars()
    pred = ref + rng.normal(0, 50, ref.size)
    out = common.paired_bootstrap(pred, pred, ref, n_resamples=200)
    for metric in ("bias", "sigma", "rmse"):
        assert out[metric]["difference"] == 0
        assert out[metric]["low"] == out[metric]["high"] == 0
        assert out[metric]["a_better"] == 0  # strictly smaller: never, for a tie


def test_paired_bootstrap_sees_a_clearly_better_method(bench):
    common, _ = bench
    ref, rng = _stars()
    a = ref + rng.normal(0, 50, ref.size)
    b = ref + rng.normal(20, 100, ref.size)
    out = common.paired_bootstrap(a, b, ref, n_resamples=300, seed=1)
    assert out["n"] == ref.size
    for metric in ("bias", "sigma", "rmse"):
        assert out[metric]["high"] < 0, metric
        assert out[metric]["low"] <= out[metric]["difference"] <= out[metric]["high"]
        assert out[metric]["a_better"] > 0.99
    # the sigma difference is about the true 50 - 100 K, and the same as the tables' own
    # metrics give on the whole sample
    assert out["sigma"]["difference"] == pytest.approx(-50, abs=8)
    ma, mb = common.metrics(a, ref), common.metrics(b, ref)
    assert out["sigma"]["difference"] == pytest.approx(ma["sigma"] - mb["sigma"])
    assert out["rmse"]["difference"] == pytest.approx(ma["rmse"] - mb["rmse"])
    assert out["bias"]["difference"] == pytest.approx(abs(ma["bias"]) - abs(mb["bias"]))


def test_paired_bootstrap_interval_spans_zero_for_equal_methods(bench):
    common, _ = bench
    ref, rng = _stars()
    a = ref + rng.normal(0, 80, ref.size)
    b = ref + rng.normal(0, 80, ref.size)
    out = common.paired_bootstrap(a, b, ref, n_resamples=400, seed=2)
    assert out["rmse"]["low"] < 0 < out["rmse"]["high"]
    assert 0.02 < out["rmse"]["a_better"] < 0.98


def test_paired_bootstrap_uses_rows_finite_in_both_and_is_reproducible(bench):
    common, _ = bench
    ref, rng = _stars(500)
    a = ref + rng.normal(0, 50, ref.size)
    b = ref + rng.normal(0, 60, ref.size)
    a[:10] = np.nan
    ref_missing = ref.copy()
    ref_missing[10:15] = np.nan
    out = common.paired_bootstrap(a, b, ref_missing, n_resamples=100, seed=3)
    assert out["n"] == ref.size - 15
    again = common.paired_bootstrap(a, b, ref_missing, n_resamples=100, seed=3)
    assert again == out
    empty = common.paired_bootstrap(a[:10], b[:10], ref[:10], n_resamples=10)
    assert empty["n"] == 0 and np.isnan(empty["rmse"]["low"])


def test_bootstrap_rmse_ratio(bench):
    common, _ = bench
    ref, rng = _stars()
    a = ref + rng.normal(0, 40, ref.size)
    b = ref + rng.normal(0, 100, ref.size)
    out = common.bootstrap_rmse_ratio(a, b, ref, threshold=0.5, n_resamples=300)
    assert out["ratio"] == pytest.approx(0.4, abs=0.03)
    assert out["low"] < out["ratio"] < out["high"] < 0.5
    assert out["share_at_most_threshold"] == 1.0
    same = common.bootstrap_rmse_ratio(a, a, ref, n_resamples=50)
    assert same["ratio"] == pytest.approx(1) and same["low"] == pytest.approx(1)
    assert "share_at_most_threshold" not in same


def test_calibration_of_honest_and_overconfident_errors(bench):
    _, xp_uncertainty = bench
    ref, rng = _stars(20000, seed=4)
    err = rng.uniform(20, 200, ref.size)
    ref_err = np.full(ref.size, 10.0)
    pred = ref + rng.normal(0, 1, ref.size) * np.hypot(err, ref_err)
    honest = xp_uncertainty.calibration(pred, err, ref, ref_err)
    assert honest["z_sigma"] == pytest.approx(1, abs=0.03)
    assert honest["within_1"] == pytest.approx(0.6827, abs=0.01)
    assert honest["within_2"] == pytest.approx(0.9545, abs=0.01)
    overconfident = xp_uncertainty.calibration(pred, err / 2, ref, ref_err)
    assert overconfident["z_sigma"] > 1.5
    # a missing reference error counts as zero, a missing prediction leaves the star out
    pred[:100] = np.nan
    ref_err[100:200] = np.nan
    assert xp_uncertainty.calibration(pred, err, ref, ref_err)["n"] == ref.size - 100


def test_binned_scatter_follows_honest_errors(bench):
    _, xp_uncertainty = bench
    ref, rng = _stars(12000, seed=5)
    err = rng.uniform(20, 400, ref.size)
    pred = ref + rng.normal(0, 1, ref.size) * err
    rows = xp_uncertainty.binned(pred, err, ref, np.full(ref.size, np.nan), n_bins=4)
    assert [r["n"] for r in rows] == [3000] * 4
    for r in rows:
        assert r["combined_error_low"] <= r["median_combined_error"] <= r["combined_error_high"]
        assert r["sigma"] == pytest.approx(r["median_combined_error"], rel=0.15)


def _recovery_results(sigmas):
    """A synthetic_recovery.py table of {(instrument, snr): (teff, logg, fe_h) sigma}."""
    from astropy.table import Table

    rows = [(inst, snr, *s) for (inst, snr), s in sigmas.items()]
    return Table(rows=rows, names=("instrument", "snr", "teff_sigma", "logg_sigma",
                                   "fe_h_sigma"))


def test_adoption_rule_counts_the_cells_where_sigma_is_smaller():
    results = _recovery_results
    with benchmark_modules("synthetic_recovery") as (recovery,):
        v1 = results({("apogee", 20.0): (100, 0.2, 0.1), ("apogee", 100.0): (50, 0.1, 0.05),
                      ("galah", 20.0): (90, 0.5, 0.2)})
        v2 = results({("apogee", 100.0): (40, 0.2, 0.05), ("apogee", 20.0): (120, 0.1, 0.09),
                      ("boss", 20.0): (1, 0.01, 0.01)})  # boss is not in v1: not a cell
        assert recovery.smaller_sigma_cells(v2, v1) == {"cells": 2, "teff": 1, "logg": 1,
                                                        "fe_h": 1}


def test_second_adoption_branch_reads_the_gaia_xp_cells_and_the_worst_other_cell():
    results = _recovery_results
    with benchmark_modules("synthetic_recovery") as (recovery,):
        v3 = results({("gaia_xp", 20.0): (200, 1.0, 0.4), ("gaia_xp", 100.0): (100, 0.5, 0.2),
                      ("apogee", 20.0): (50, 0.1, 0.05), ("galah", 20.0): (80, 0.2, 0.1)})
        v5 = results({("gaia_xp", 20.0): (150, 1.1, 0.3), ("gaia_xp", 100.0): (90, 0.4, 0.2),
                      ("apogee", 20.0): (55, 0.1, 0.04), ("galah", 20.0): (40, 0.3, 0.1),
                      ("boss", 20.0): (1000, 9.0, 9.0)})  # boss is not in v3: not a cell
        out = recovery.focus_and_elsewhere(v5, v3)
        assert out["teff"]["focus_smaller"] == 2 and out["teff"]["focus_cells"] == 2
        assert out["teff"]["largest_ratio_elsewhere"] == pytest.approx(1.1)
        assert out["logg"]["focus_smaller"] == 1  # 1.1 > 1.0 at S/N 20
        assert out["logg"]["largest_ratio_elsewhere"] == pytest.approx(1.5)
        assert out["fe_h"]["focus_smaller"] == 1  # equal is not smaller
        assert out["fe_h"]["largest_ratio_elsewhere"] == pytest.approx(1.0)


def test_grow_pilot_rule_reads_the_other_cells_and_the_worst_gaia_xp_cell():
    results = _recovery_results
    with benchmark_modules("synthetic_recovery") as (recovery,):
        none = results({("gaia_xp", 20.0): (200, 1.0, 0.4), ("gaia_xp", 100.0): (100, 0.5, 0.2),
                        ("apogee", 20.0): (50, 0.1, 0.05), ("galah", 20.0): (80, 0.2, 0.1)})
        wide = results({("gaia_xp", 20.0): (210, 0.9, 0.4), ("gaia_xp", 100.0): (90, 0.6, 0.2),
                        ("apogee", 20.0): (45, 0.1, 0.04), ("galah", 20.0): (40, 0.3, 0.1),
                        ("boss", 20.0): (1, 0.01, 0.01)})  # boss is not in none: not a cell
        out = recovery.elsewhere_and_focus(wide, none)
        assert out["teff"]["elsewhere_smaller"] == 2 and out["teff"]["elsewhere_cells"] == 2
        assert out["teff"]["largest_ratio_focus"] == pytest.approx(1.05)
        assert out["logg"]["elsewhere_smaller"] == 0  # equal is not smaller; 0.3 > 0.2
        assert out["logg"]["largest_ratio_focus"] == pytest.approx(1.2)
        assert out["fe_h"]["elsewhere_smaller"] == 1
        assert out["fe_h"]["largest_ratio_focus"] == pytest.approx(1.0)


def test_paired_median_difference_sees_a_shift_and_not_a_tie(bench):
    common, _ = bench
    rng = np.random.default_rng(3)
    hard = rng.lognormal(-5, 0.8, 100)  # per-star errors: some stars hard for both models
    tie = common.paired_median_difference(hard, hard, n_resamples=300)
    assert tie["difference"] == tie["low"] == tie["high"] == 0
    assert tie["a_better"] == 0
    worse = common.paired_median_difference(hard * 1.05, hard, n_resamples=300)
    assert worse["difference"] > 0 and worse["low"] > 0  # 5% worse on every star: sure
    assert worse["a_better"] == 0
    noise = hard * rng.lognormal(0, 0.3, 100)  # the same model, other noise: not sure
    out = common.paired_median_difference(noise, hard, n_resamples=300)
    assert out["low"] < 0 < out["high"]
    assert out["n"] == 100


def test_paired_median_difference_needs_the_same_stars(bench):
    common, _ = bench
    with pytest.raises(ValueError, match="same stars"):
        common.paired_median_difference(np.ones(5), np.ones(6))
    out = common.paired_median_difference([np.nan, 1.0, 2.0], [1.0, np.nan, 3.0],
                                          n_resamples=50)
    assert out["n"] == 1 and out["difference"] == -1.0


def test_recovery_realism_defaults_to_the_training_corpora_and_takes_each_option():
    import argparse

    from specfm.synth import CorpusConfig

    with benchmark_modules("synthetic_recovery") as (recovery,):
        unset = argparse.Namespace(rv_residual=None, continuum_error=None, bad_pixels=None)
        realism, as_trained = recovery.realism_settings(unset)
        trained = CorpusConfig()
        assert realism == {"rv_residual": trained.rv_residual,
                           "continuum_error": trained.continuum_error,
                           "bad_pixel_fraction": trained.bad_pixel_fraction}
        assert as_trained
        given = argparse.Namespace(rv_residual=0.0, continuum_error=None, bad_pixels=0.0)
        realism, as_trained = recovery.realism_settings(given)
        assert realism == {"rv_residual": 0.0, "continuum_error": trained.continuum_error,
                           "bad_pixel_fraction": 0.0}
        assert not as_trained
        # what render_cell hands on is a valid corpus
        assert CorpusConfig(**realism).bad_pixel_fraction == 0.0


def test_against_notes_give_the_three_counts_and_their_sentences():
    results = _recovery_results
    with benchmark_modules("synthetic_recovery") as (recovery,):
        old = results({("gaia_xp", 100.0): (100, 0.5, 0.2), ("apogee", 100.0): (50, 0.1, 0.05)})
        new = results({("gaia_xp", 100.0): (90, 0.6, 0.2), ("apogee", 100.0): (40, 0.1, 0.06)})
        meta, notes = recovery.against_notes(new, old, "old.ecsv")
        assert meta["file"] == "old.ecsv"
        assert meta["smaller_sigma_cells"] == {"cells": 2, "teff": 2, "logg": 0, "fe_h": 0}
        assert meta["gaia_xp_and_elsewhere"]["teff"]["focus_smaller"] == 1
        assert meta["elsewhere_and_gaia_xp"]["fe_h"]["largest_ratio_focus"] == pytest.approx(1.0)
        assert notes == [
            "Against old.ecsv (the same stars): sigma smaller in teff 2 of 2, logg 0 of 2, "
            "fe_h 0 of 2 cells.",
            "Sigma smaller in the Gaia XP cells: teff 1 of 1, logg 0 of 1, fe_h 0 of 1; "
            "largest ratio to it in the other cells: teff 0.80, logg 1.00, fe_h 1.20.",
            "Sigma smaller in the cells other than Gaia XP: teff 1 of 1, logg 0 of 1, "
            "fe_h 0 of 1; largest ratio to it in the Gaia XP cells: teff 0.90, logg 1.20, "
            "fe_h 1.00."]
