"""Spectra cleaner than a model's training spectra are read at its ``max_snr``."""

import numpy as np
import pytest

from specfm.tokens import Tokenizer, TokenizerConfig, degrade_to_snr, median_snr

from .helpers import line_spectrum


def test_median_snr_ignores_bad_pixels_and_empty_rows():
    flux = np.array([[1.0, 2.0, 3.0, 50.0], [1.0, 1.0, 1.0, 1.0]])
    error = np.array([[0.01, 0.01, 0.01, 0.0], [0.1, 0.1, 0.1, 0.1]])
    valid = np.array([[True, True, True, True], [False] * 4])
    snr = median_snr(flux, error, valid)
    assert snr[0] == pytest.approx(200.0)  # the zero-error pixel does not count
    assert np.isnan(snr[1])


def test_rows_below_the_ceiling_are_untouched_and_rows_above_are_read_at_it():
    rng = np.random.default_rng(1)
    flux = 1.0 + 0.1 * rng.standard_normal((3, 20000))
    error = np.array([[0.02], [0.002], [0.0001]]) * np.ones_like(flux)
    valid = np.ones_like(flux, bool)
    valid[2, :100] = False
    new_flux, new_error, snr = degrade_to_snr(flux, error, valid, 300.0, [(0, i) for i in range(3)])
    assert snr[0] < 300.0 < snr[1] < snr[2]
    assert np.array_equal(new_flux[0], flux[0]) and np.array_equal(new_error[0], error[0])
    for i in (1, 2):
        k = snr[i] / 300.0
        assert np.allclose(new_error[i][valid[i]], error[i][valid[i]] * k)
        added = (new_flux[i] - flux[i])[valid[i]]
        # the noise added makes up the difference: sqrt(k^2 - 1) times the given sigma
        assert np.std(added) == pytest.approx(error[i, 0] * np.sqrt(k * k - 1), rel=0.03)
        assert abs(np.mean(added)) < 5 * error[i, 0] * k / np.sqrt(added.size)
    assert np.array_equal(new_flux[2][~valid[2]], flux[2][~valid[2]])  # bad pixels untouched
    assert median_snr(new_flux, new_error, valid)[1:] == pytest.approx(300.0, rel=0.02)


def test_the_draw_depends_only_on_the_row_seed():
    flux, error = np.ones((2, 500)), np.full((2, 500), 1e-4)
    valid = np.ones_like(flux, bool)
    a = degrade_to_snr(flux, error, valid, 100.0, [(7, 0), (7, 1)])[0]
    b = degrade_to_snr(flux[::-1], error, valid, 100.0, [(7, 1), (7, 0)])[0]
    assert np.array_equal(a, b[::-1])
    c = degrade_to_snr(flux, error, valid, 100.0, [(8, 0), (8, 1)])[0]
    assert not np.array_equal(a, c)


def test_bad_arguments_are_refused():
    flux = np.ones((1, 10))
    with pytest.raises(ValueError, match="positive"):
        degrade_to_snr(flux, flux, flux > 0, 0.0, [(0, 0)])
    with pytest.raises(ValueError, match="one per row"):
        degrade_to_snr(flux, flux, flux > 0, 10.0, [])
    for bad in (0, -5.0, "300", True):
        with pytest.raises(ValueError, match="max_snr"):
            TokenizerConfig(max_snr=bad)


def test_tokenizer_reads_a_clean_spectrum_at_max_snr_and_reports_it():
    clean = line_spectrum(noise=0.00125, seed=3)  # S/N about 800 (errors above min_error)
    plain = Tokenizer(normalisation="continuum")(clean)
    capped = Tokenizer(normalisation="continuum", max_snr=200.0)(clean)
    report = capped.reports[0]
    assert report.snr == pytest.approx(plain.reports[0].snr)
    assert report.snr > 600 and report.snr_read == 200.0 and report.snr_degraded
    assert not plain.reports[0].snr_degraded and plain.reports[0].snr_read == report.snr
    ok = capped.valid[0]
    # uncertainties scaled up by snr / 200, flux noisier by the difference
    ratio = (capped.error[0][ok] / plain.error[0][ok]).numpy()
    assert np.median(ratio) == pytest.approx(report.snr / 200.0, rel=0.02)
    scatter = np.std((capped.value[0][ok] - plain.value[0][ok]).numpy())
    assert scatter == pytest.approx(np.median(capped.error[0][ok].numpy()), rel=0.1)
    # the same spectrum gives the same tokens again, and in another position of a batch
    again = Tokenizer(normalisation="continuum", max_snr=200.0)([clean, clean])
    assert np.array_equal(again.value[0].numpy(), capped.value[0].numpy())
    moved = Tokenizer(normalisation="continuum", max_snr=200.0)(
        [line_spectrum(seed=4), clean], row_seeds=[(0, 5), (0, 0)])
    assert np.array_equal(moved.value[1][moved.valid[1]].numpy(), capped.value[0][ok].numpy())


def test_a_noisy_spectrum_is_read_as_given_under_the_ceiling():
    noisy = line_spectrum(noise=0.01, seed=5)  # S/N about 100
    plain = Tokenizer(normalisation="continuum")(noisy)
    capped = Tokenizer(normalisation="continuum", max_snr=300.0)(noisy)
    assert np.array_equal(plain.value.numpy(), capped.value.numpy())
    assert np.array_equal(plain.error.numpy(), capped.error.numpy())
    assert capped.reports[0].snr == pytest.approx(100.0, rel=0.1)
    assert not capped.reports[0].snr_degraded


def test_normalise_pixels_returns_the_pixels_as_given():
    clean = line_spectrum(noise=0.0005, seed=3)
    tok = Tokenizer(normalisation="continuum", max_snr=200.0)
    (_, value, _, valid, report), = tok.normalise_pixels(clean)
    (_, plain, _, _, _), = Tokenizer(normalisation="continuum").normalise_pixels(clean)
    assert np.array_equal(value[valid], plain[valid]) and not report.snr_degraded


def test_max_snr_round_trips_and_old_configs_have_none():
    config = TokenizerConfig(max_snr=300)
    assert TokenizerConfig.from_dict(config.to_dict()).max_snr == 300.0
    old = config.to_dict()
    del old["max_snr"]
    assert TokenizerConfig.from_dict(old).max_snr is None
