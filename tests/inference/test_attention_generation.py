"""Attention maps, generation, in-painting and normalised views of spectra (issue 6).

A tiny model is trained for a few seconds on the toy spectra (three absorption lines whose
depth grows with teff) with generation rows and contiguous masked blocks, so that it can
write spectra from labels and fill gaps; the tests check what a user relies on: shapes,
units, sums, and that the filled or generated flux follows the labels (deeper lines for
larger teff) far better than a flat guess would.
"""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable
from specutils import SpectralRegion

from specfm.exceptions import SpecfmInputError
from specfm.inference import load

from ..model.toy import LINES, toy_spectra
from .conftest import toy_spectrum


def _teff(model, z):
    spec = model.vocabulary["teff"]
    return (spec.offset + spec.scale * np.asarray(z)) * u.K


def _logg(model, z):
    spec = model.vocabulary["logg"]
    return (spec.offset + spec.scale * np.asarray(z)) * u.dex(u.cm / u.s**2)


def test_attention_is_a_table_of_weights_that_sum_to_one(writer):
    spec, _, _ = toy_spectrum(n=3)
    table = writer.attention(spec, label=["teff", "logg"])
    assert isinstance(table, QTable)
    assert table.colnames == ["spectrum_index", "wavelength", "flux", "teff", "logg"]
    assert table["wavelength"].unit == u.AA
    for s in range(3):
        rows = table[table["spectrum_index"] == s]
        assert len(rows) == 48
        assert np.all(np.diff(rows["wavelength"].value) > 0)
        for name in ("teff", "logg"):
            w = rows[name].value
            assert np.all(w >= 0)
            assert w.sum() == pytest.approx(1.0, abs=1e-5)
    assert table.meta["labels"] == ["teff", "logg"]
    assert table.meta["model_sha256"] == writer.sha256


def test_attention_over_chunks_still_sums_to_one_and_reports_input_share(writer):
    spec, _, _ = toy_spectrum(n=1, n_pix=48)
    table = writer.attention(spec, label="teff", inputs={"logg": _logg(writer, 0.3)},
                             seed=0)
    share = table.meta["input_share"]["teff"][0]
    assert 0 < share < 1
    assert table["teff"].value.sum() + share == pytest.approx(1.0, abs=1e-5)
    import dataclasses

    capped = load(writer.path)
    capped.tokenizer_config = dataclasses.replace(capped.tokenizer_config, max_tokens=16,
                                                  cap_mode="chunk")
    chunked = capped.attention(spec[0] if spec.flux.ndim > 1 else spec, label="teff")
    assert len(chunked) == 48  # every pixel, from three chunks
    assert chunked["teff"].value.sum() == pytest.approx(1.0, abs=1e-5)


def test_attention_rejects_unknown_labels(writer):
    spec, _, _ = toy_spectrum(n=1)
    with pytest.raises(SpecfmInputError, match="cannot predict 'mg_fe'"):
        writer.attention(spec, label="mg_fe")


def test_generated_lines_deepen_with_teff_like_the_truth(writer):
    wave = np.linspace(15150.0, 15250.0, 48) * u.AA  # the grid of the training spectra
    z = np.array([-1.0, 0.0, 1.0])
    labels = QTable({"teff": _teff(writer, z), "logg": _logg(writer, np.zeros(3))})
    spec = writer.generate(labels, wave)
    assert spec.flux.shape == (3, 48)
    assert spec.flux.unit == u.dimensionless_unscaled
    assert np.all(np.isfinite(spec.uncertainty.array)) and np.all(spec.uncertainty.array > 0)
    core = np.argmin(np.abs(wave.value - LINES[1]))
    depth = 1 - spec.flux.value[:, core]
    assert depth[0] < depth[1] < depth[2]


def test_generated_spectra_match_held_out_stars_better_than_their_mean(writer):
    wave, flux, z_teff, z_logg, _ = toy_spectra(64, n_pix=48, seed=21, noise=0.0)
    labels = QTable({"teff": _teff(writer, z_teff), "logg": _logg(writer, z_logg)})
    spec = writer.generate(labels, wave * u.AA)
    near = np.zeros(wave.size, bool)
    for line in LINES:
        near |= np.abs(wave - line) < 5
    err_model = np.median(np.abs(spec.flux.value[:, near] - flux[:, near]))
    err_mean = np.median(np.abs(flux[:, near].mean(0) - flux[:, near]))
    assert err_model < 0.6 * err_mean  # the labels, not just the average star, shape it


def test_generate_takes_a_prediction_row_and_checks_the_grid(writer):
    spec, _, _ = toy_spectrum(n=2)
    table = writer.predict(spec)
    one = writer.generate(table[0], np.linspace(15160, 15240, 30) * u.AA)
    assert one.flux.shape == (30,)
    assert set(one.meta["generated_from"]) >= {"teff", "logg"}
    with pytest.raises(SpecfmInputError, match="outside the coverage"):
        writer.generate(table[0], np.linspace(5000, 6000, 10) * u.AA)
    with pytest.raises(SpecfmInputError, match=r"not a label or colour|None of"):
        writer.generate({"colour_of_car": 3.0}, np.linspace(15160, 15240, 5) * u.AA)
    # any spectral unit: the same grid in micron gives the same flux
    micron = writer.generate(table[0], (np.linspace(15160, 15240, 30) * u.AA).to(u.um))
    np.testing.assert_allclose(micron.flux.value, one.flux.value, rtol=1e-5)


def test_inpainting_recovers_a_hidden_line(writer):
    wave, flux, *_ = toy_spectra(16, n_pix=48, seed=11, noise=0.005)
    from astropy.nddata import StdDevUncertainty

    from specfm._compat import make_spectrum

    spec = make_spectrum(flux=flux * u.one, spectral_axis=wave * u.AA,
                         uncertainty=StdDevUncertainty(np.full(flux.shape, 0.005)))
    region = SpectralRegion(LINES[1] * u.AA - 6 * u.AA, LINES[1] * u.AA + 6 * u.AA)
    filled = writer.inpaint(spec, regions=region)
    assert isinstance(filled, list) and len(filled) == 16
    errors_model, errors_mean = [], []
    mean_star = flux.mean(0)
    for s, out in enumerate(filled):
        hole = out.meta["inpainted"]
        assert hole.sum() == int(np.sum(np.abs(wave - LINES[1]) <= 6))
        assert not out.mask[hole].any()
        np.testing.assert_allclose(out.flux.value[~hole], flux[s][~hole], rtol=1e-5)
        errors_model.append(np.abs(out.flux.value[hole] - flux[s][hole]).mean())
        errors_mean.append(np.abs(mean_star[hole] - flux[s][hole]).mean())
    # the rest of the spectrum (the other lines' depths) tells what the hidden line is
    assert np.mean(errors_model) < 0.6 * np.mean(errors_mean)


def test_inpainting_fills_masked_pixels_and_says_when_there_is_nothing_to_do(writer):
    spec, _, _ = toy_spectrum(n=1)
    one = spec[0] if spec.flux.ndim > 1 else spec
    with pytest.raises(SpecfmInputError, match="nothing to fill"):
        writer.inpaint(one)
    flux = one.flux.value.copy()
    flux[10:14] = np.nan
    from specfm._compat import make_spectrum

    holey = make_spectrum(flux=flux * u.one, spectral_axis=one.spectral_axis,
                          uncertainty=one.uncertainty)
    out = writer.inpaint(holey)
    assert out.meta["inpainted"].sum() == 4
    assert np.all(np.isfinite(out.flux.value))


def test_normalise_shows_the_pixels_the_model_reads(writer):
    spec, _, _ = toy_spectrum(n=2)
    out = writer.normalise(spec)
    assert len(out) == 2
    assert out[0].flux.unit == u.dimensionless_unscaled
    np.testing.assert_allclose(out[1].flux.value, spec.flux.value[1], rtol=1e-6)
