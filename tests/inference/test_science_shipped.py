"""Attention, generation and in-painting with the shipped models on the bundled examples."""

import astropy.units as u
import numpy as np
import pytest
from specutils import SpectralRegion

import specfm
from specfm.data import read_example, strong_lines


@pytest.fixture(scope="module")
def apstar():
    return read_example("apStar-dr17-2M19485057+5005279.fits")


@pytest.fixture(scope="module")
def xp():
    return read_example("gaia_xp_example.fits")


def test_base_attention_covers_every_pixel_and_favours_mg_lines(apstar):
    model = specfm.load_pretrained("specfm-base")
    table = model.attention(apstar, label=["fe_h", "mg_fe"])
    assert len(table) == model.predict(apstar)["n_tokens"][0]
    for name in ("fe_h", "mg_fe"):
        assert table[name].sum().value == pytest.approx(1.0, abs=1e-4)
    # the Mg windows hold more [Mg/Fe] attention than their share of the pixels
    mg = strong_lines("Mg", [15100, 17000] * u.AA)
    mg = mg[mg["source"] == "ASPCAP DR17 window"]
    wave = table["wavelength"].value
    inside = np.zeros(len(table), bool)
    for lo, hi in zip(mg["window_low"].value, mg["window_high"].value, strict=True):
        inside |= (wave >= lo - 0.2) & (wave <= hi + 0.2)
    assert table["mg_fe"].value[inside].sum() > 1.5 * inside.mean()


def test_xp_generation_and_inpainting_run_on_real_spectra(xp):
    model = specfm.load_pretrained("specfm-xp")
    labels = xp.meta["labels"]
    colours = labels[["bp_rp", "g_rp", "bp_g", "g_j", "j_h", "h_k", "j_k"]]
    observed = model.normalise(xp[0])
    generated = model.generate(labels[0], observed.spectral_axis, inputs=colours[0:1])
    assert generated.flux.shape == observed.flux.shape
    assert np.all(np.isfinite(generated.flux.value))
    # the generated spectrum is closer to this star than to a star of very different colour
    other = int(np.argmax(np.abs(labels["bp_rp"] - labels["bp_rp"][0])))
    mine = np.median(np.abs(generated.flux.value - observed.flux.value))
    theirs = np.median(np.abs(generated.flux.value - model.normalise(xp[other]).flux.value))
    assert mine < theirs
    filled = model.inpaint(xp[0], regions=SpectralRegion(6000 * u.AA, 6800 * u.AA),
                           inputs=colours[0:1])
    hole = filled.meta["inpainted"]
    assert hole.sum() == np.sum((observed.spectral_axis.value >= 6000)
                                & (observed.spectral_axis.value <= 6800))
    assert np.all(np.isfinite(filled.flux.value[hole]))
    # on the scale of normalise() outside the gap, though the model read the spectrum
    # normalised without it (XP: divided by the median of the other pixels)
    shown = ~hole & ~observed.mask
    np.testing.assert_allclose(filled.flux.value[shown], observed.flux.value[shown],
                               rtol=1e-9)
