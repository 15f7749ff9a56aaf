"""In-painting on the scale of ``Model.normalise``, and gaps tied to the flux beside them.

``Model.inpaint`` normalises a spectrum without the pixels it hides (the model must not
read them, even through a median), then returns the result on the scale `normalise` gives
the whole input; with ``anchor_pixels`` it also predicts known pixels beside each gap and
adds the interpolated difference to the gap.
"""

import astropy.units as u
import numpy as np
import pytest
from astropy.nddata import StdDevUncertainty
from specutils import SpectralRegion

from specfm._compat import make_spectrum
from specfm.exceptions import SpecfmInputError
from specfm.inference import load
from specfm.inference.generation import _anchor_offsets, _auto_anchor_pixels, _gap_margins

from ..model.toy import LINES, toy_spectra
from .conftest import save_tiny


def test_gap_margins_take_readable_pixels_up_to_the_next_gap():
    fill = np.zeros(12, bool)
    fill[[3, 4, 8]] = True
    readable = ~fill
    readable[1] = False  # a masked pixel is no margin
    gaps = _gap_margins(fill, readable, 2)
    assert list(gaps) == [(3, 5), (8, 9)]
    assert [side.tolist() for side in gaps[(3, 5)]] == [[0, 2], [5, 6]]
    assert [side.tolist() for side in gaps[(8, 9)]] == [[6, 7], [9, 10]]
    edge = np.zeros(6, bool)
    edge[:2] = True
    assert [side.tolist() for side in _gap_margins(edge, ~edge, 3)[(0, 2)]] == [[], [2, 3, 4]]
    assert _gap_margins(fill, readable, 0) == {}


def test_anchor_offsets_remove_an_offset_linear_in_wavelength():
    wave = np.linspace(15000.0, 15100.0, 40)
    truth = 1 - 0.3 * np.exp(-0.5 * ((wave - 15050.0) / 3.0) ** 2)
    predicted = truth - (0.05 + 0.001 * (wave - 15000.0))
    error, predicted_var = np.full(40, 0.01), np.full(40, 1e-4)
    fill = np.zeros(40, bool)
    fill[15:25] = True
    offset, variance = _anchor_offsets(wave, truth, error, predicted, predicted_var,
                                       _gap_margins(fill, ~fill, 3))
    np.testing.assert_allclose(predicted[fill] + offset[fill], truth[fill], atol=1e-12)
    assert np.all(offset[~fill] == 0) and np.all(variance[~fill] == 0)
    np.testing.assert_allclose(variance[fill], (0.01**2 + 1e-4) / 3)
    # a gap at the edge has one margin: its mean difference, the same across the gap
    fill[:] = False
    fill[:5] = True
    offset, _ = _anchor_offsets(wave, truth, error, predicted, predicted_var,
                                _gap_margins(fill, ~fill, 3))
    np.testing.assert_allclose(offset[:5], np.mean(truth[5:8] - predicted[5:8]))


@pytest.mark.parametrize("normalisation", ["median", "continuum"])
@pytest.mark.parametrize("anchor_pixels", [0, 2])
def test_inpainted_spectra_keep_the_scale_of_normalise(tmp_path, normalisation,
                                                       anchor_pixels):
    model = load(save_tiny(tmp_path / "tiny", normalisation=normalisation))
    wave, flux, *_ = toy_spectra(3, n_pix=96, seed=4)
    ramp = np.linspace(0.4, 1.6, wave.size)  # so that hiding pixels moves the median
    spec = make_spectrum(flux=flux * ramp * u.one, spectral_axis=wave * u.AA)
    region = SpectralRegion((LINES[1] - 5) * u.AA, (LINES[1] + 20) * u.AA)
    filled = model.inpaint(spec, regions=region, anchor_pixels=anchor_pixels)
    for out, ref in zip(filled, model.normalise(spec), strict=True):
        hole = out.meta["inpainted"]
        shown = ~hole & ~ref.mask
        assert hole.sum() > 5 and shown.sum() > 40
        np.testing.assert_allclose(out.flux.value[shown], ref.flux.value[shown], rtol=1e-9)
        assert np.all(np.isfinite(out.flux.value[hole]))
        assert np.all(np.isfinite(out.uncertainty.array[hole]))


def test_anchors_take_up_an_offset_the_model_never_saw(writer):
    wave, flux, *_ = toy_spectra(16, n_pix=48, seed=12, noise=0.002)
    lifted = flux + 0.15  # a continuum at 1.15; the model only ever read continua at 1
    spec = make_spectrum(flux=lifted * u.one, spectral_axis=wave * u.AA)
    region = SpectralRegion((LINES[1] - 8) * u.AA, (LINES[1] + 8) * u.AA)
    errors = {}
    for anchors in (0, 3):
        filled = writer.inpaint(spec, regions=region, anchor_pixels=anchors)
        errors[anchors] = np.mean([
            np.abs(out.flux.value[out.meta["inpainted"]]
                   - lifted[s][out.meta["inpainted"]]).mean()
            for s, out in enumerate(filled)])
    assert errors[3] < 0.6 * errors[0]


def test_auto_anchors_coarse_spectra_only(writer):
    assert _auto_anchor_pixels(np.arange(3360.0, 10201.0, 20.0)) == 3  # Gaia XP sampling
    assert _auto_anchor_pixels(np.geomspace(15100.0, 17000.0, 8575)) == 0  # APOGEE
    wave, flux, *_ = toy_spectra(2, n_pix=48, seed=13)  # lambda / delta-lambda ~ 7000
    spec = make_spectrum(flux=flux * u.one, spectral_axis=wave * u.AA,
                         uncertainty=StdDevUncertainty(np.full(flux.shape, 0.01)))
    region = SpectralRegion((LINES[0] - 5) * u.AA, (LINES[0] + 5) * u.AA)
    auto = writer.inpaint(spec, regions=region)
    plain = writer.inpaint(spec, regions=region, anchor_pixels=0)
    for a, b in zip(auto, plain, strict=True):
        np.testing.assert_array_equal(a.flux.value, b.flux.value)


def test_anchor_pixels_must_be_a_count_that_leaves_something_to_read(writer):
    wave, flux, *_ = toy_spectra(1, n_pix=48, seed=12)
    spec = make_spectrum(flux=flux[0] * u.one, spectral_axis=wave * u.AA,
                         uncertainty=StdDevUncertainty(np.full(48, 0.01)))
    region = SpectralRegion(wave[3] * u.AA, wave[-1] * u.AA)  # three pixels left to read
    for bad in (-1, 1.5, "many", None):
        with pytest.raises(SpecfmInputError, match=r"must be .auto. or a whole"):
            writer.inpaint(spec, regions=region, anchor_pixels=bad)
    with pytest.raises(SpecfmInputError, match="hides every readable pixel"):
        writer.inpaint(spec, regions=region, anchor_pixels=5)


def test_auto_anchors_step_aside_for_scattered_bad_pixels(tmp_path):
    model = load(save_tiny(tmp_path / "tiny", normalisation="median"))
    wave = np.linspace(15110.0, 15290.0, 11)  # lambda / delta-lambda ~ 840: coarse
    flux = 1.0 + 0.1 * np.sin(wave / 30.0)
    flux[1::3] = np.nan  # four one-pixel gaps; anchors would hide all the rest
    spec = make_spectrum(flux=flux * u.one, spectral_axis=wave * u.AA,
                         uncertainty=StdDevUncertainty(np.full(11, 0.01)))
    out = model.inpaint(spec)
    assert out.meta["inpainted"].sum() == 4
    assert np.all(np.isfinite(out.flux.value))
    with pytest.raises(SpecfmInputError, match="hides every readable pixel"):
        model.inpaint(spec, anchor_pixels=1)
