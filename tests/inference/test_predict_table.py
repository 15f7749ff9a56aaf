"""Model.predict: columns, units, masks, meta, flags, inputs."""

import dataclasses
import json

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable
from astropy.utils.masked import Masked

from specfm.exceptions import CoverageError, CoverageWarning, SpecfmInputError
from specfm.inference import Model, PredictionFlag, load
from specfm.tokens import TokenizerConfig

from .conftest import save_tiny, toy_spectrum


def test_load_describes_the_model(tiny_dir):
    model = load(tiny_dir)
    assert isinstance(model, Model)
    assert model.name == "tiny-ir" and model.labels == ("teff", "logg")
    assert len(model.sha256) == 64
    assert model.coverage.unit == u.AA
    assert model.coverage.to_value(u.AA).tolist() == [[15100.0, 15300.0]]
    assert model.label_ranges["teff"].unit == u.K
    assert isinstance(model.tokenizer_config, TokenizerConfig)
    assert "tiny-ir" in repr(model) and model.sha256[:12] in repr(model)
    html = model._repr_html_()
    assert "tiny-ir" in html and "<table>" in html and "teff, logg" in html
    info = model.info()
    json.dumps(info)  # what `specfm info` prints
    assert info["labels"] == ["teff", "logg"] and info["sha256"] == model.sha256
    assert info["description"] == "a tiny test model"
    assert info["n_parameters"] == model.network.n_parameters()


def test_columns_units_and_meta(tiny_dir):
    model = load(tiny_dir)
    spec, *_ = toy_spectrum(5)
    table = model.predict(spec)
    assert isinstance(table, QTable) and len(table) == 5
    assert table.colnames == ["spectrum_index", "teff", "teff_err", "logg", "logg_err",
                              "n_tokens", "flag"]
    assert table["teff"].unit == u.K and table["teff_err"].unit == u.K
    assert table["logg"].unit == u.dex(u.cm / u.s**2) and table["logg_err"].unit == u.dex
    for name in ("teff", "teff_err", "logg", "logg_err"):
        assert isinstance(table[name], Masked) and not table[name].mask.any()
        assert np.all(np.isfinite(table[name].unmasked.value))
        assert table[name].info.description
    assert np.all(table["teff_err"].unmasked > 0 * u.K)
    assert table["spectrum_index"].tolist() == list(range(5))
    assert table["n_tokens"].tolist() == [48] * 5 and table["flag"].tolist() == [0] * 5
    meta = table.meta
    assert meta["model"] == "tiny-ir" and meta["model_sha256"] == model.sha256
    assert meta["model_version"] == "0.1-test" and meta["specfm_version"]
    assert meta["tokenizer"]["normalisation"] == "none" and meta["method"] == "one_pass"
    assert meta["flags"]["2"].startswith("no usable pixels")


def test_label_selection_and_unknown_names(tiny_dir):
    model = load(tiny_dir)
    spec, *_ = toy_spectrum(2)
    table = model.predict(spec, labels="logg")
    assert table.colnames == ["spectrum_index", "logg", "logg_err", "n_tokens", "flag"]
    with pytest.raises(SpecfmInputError, match="Available labels: teff, logg"):
        model.predict(spec, labels=["teff", "vsini"])
    with pytest.raises(SpecfmInputError, match="method must be one of"):
        model.predict(spec, method="fast")


def test_unusable_spectra_are_masked_not_sentinels(tiny_dir):
    model = load(tiny_dir)
    spec, *_ = toy_spectrum(4)
    mask = np.zeros(spec.flux.shape, bool)
    mask[2] = True
    spec.mask = mask
    table = model.predict(spec)  # on_error="mask" is the default
    assert table["teff"].mask.tolist() == [False, False, True, False]
    assert table["logg_err"].mask.tolist() == [False, False, True, False]
    assert table["flag"][2] & PredictionFlag.NO_DATA and table["n_tokens"][2] == 0
    assert not np.isnan(table["teff"].unmasked.value).any()
    # the other rows do not depend on whether the bad spectrum is there
    alone = model.predict(spec[3:4])
    assert np.allclose(alone["teff"].unmasked.value, table["teff"].unmasked.value[3],
                       rtol=1e-6)
    with pytest.raises(SpecfmInputError, match="no usable pixel"):
        model.predict(spec, on_error="raise")


def test_coverage_is_warned_and_flagged(tiny_dir):
    model = load(tiny_dir)
    spec, *_ = toy_spectrum(2)
    wider = spec.spectral_axis + 100 * u.AA  # 15250-15350: part beyond 15300
    shifted = type(spec)(flux=spec.flux, spectral_axis=wider, uncertainty=spec.uncertainty)
    outside = type(spec)(flux=spec.flux[0], spectral_axis=spec.spectral_axis - 5000 * u.AA,
                         uncertainty=spec.uncertainty[0])
    with pytest.warns(CoverageWarning, match="3 of 3 spectra extend beyond the coverage"):
        table = model.predict([shifted, outside])
    assert table["flag"].tolist() == [1, 1, 1 | 2]
    assert (table["flag"] & PredictionFlag.COVERAGE).all()
    assert table["teff"].mask.tolist() == [False, False, True]
    assert 0 < table["n_tokens"][0] < 48
    with pytest.raises(CoverageError, match="entirely outside the coverage"):
        model.predict([shifted, outside], on_error="raise")


def test_label_range_flags(tmp_path):
    narrow = {"teff": [5000.0, 5000.5], "logg": [0.0, 5.0]}
    model = load(save_tiny(tmp_path / "narrow", label_ranges=narrow))
    spec, *_ = toy_spectrum(3)
    table = model.predict(spec)
    assert (table["flag"] & PredictionFlag.LABEL_RANGE).all()
    assert not (table["flag"] & PredictionFlag.INPUT_RANGE).any()
    given = {"logg": [1.0, 9.0, np.nan] * u.dex(u.cm / u.s**2)}
    table = model.predict(spec, inputs=given)
    assert [bool(f & PredictionFlag.INPUT_RANGE) for f in table["flag"]] == [False, True, False]


def test_known_labels_as_inputs(tiny_dir):
    model = load(tiny_dir)
    spec, *_ = toy_spectrum(7)
    logg = np.linspace(1.0, 4.0, 7) * u.dex(u.cm / u.s**2)
    inputs = QTable({"logg": logg, "logg_err": np.full(7, 0.05) * u.dex,
                     "bp_rp": np.full(7, 1.2) * u.mag})
    with_inputs = model.predict(spec, inputs=inputs, batch_size=3)
    without = model.predict(spec)
    assert not np.allclose(with_inputs["teff"].unmasked.value, without["teff"].unmasked.value)
    # inputs are sliced with the spectra: the batch size does not matter
    one_batch = model.predict(spec, inputs=inputs, batch_size=100)
    assert np.allclose(with_inputs["teff"].unmasked.value, one_batch["teff"].unmasked.value,
                       rtol=1e-6)
    # an input-only name can be requested back
    back = load(save_tiny(model.path.parent / "teff-only", outputs=("teff",)))
    with pytest.raises(SpecfmInputError, match="logg"):
        back.predict(spec, labels=["logg"])
    table = back.predict(spec, labels=["teff", "logg"], inputs={"logg": logg})
    assert "logg" in table.colnames and not table["logg"].mask.any()
    with pytest.raises(SpecfmInputError, match="not in the vocabulary"):
        model.predict(spec, inputs={"colour_xyz": 1.0})


def test_chunk_rows_are_merged_as_a_mixture(tmp_path):
    import torch

    from specfm.inference.batching import derived_seed
    from specfm.model import Query
    from specfm.tokens import Tokenizer

    model = load(save_tiny(tmp_path / "capped", max_tokens=20, cap_mode="chunk"))
    spec, *_ = toy_spectrum(3)
    table = model.predict(spec, batch_size=2)
    assert table["n_tokens"].tolist() == [48, 48, 48]
    for i in range(3):
        cfg = dataclasses.replace(model.tokenizer_config, seed=derived_seed(0, i))
        tokens = Tokenizer(cfg)(spec[i:i + 1])
        assert tokens.n_rows == 3  # 48 pixels in rows of at most 20
        with torch.no_grad():
            out = model.network(tokens, Query(["teff"]).build(3, model.vocabulary))
        mean = out.mean[:, 0].double()
        var = torch.exp(out.logvar[:, 0].double())
        expected_mean = float(mean.mean()) * 1000 + 5000
        expected_std = float((var.mean() + mean.var(unbiased=False)).sqrt()) * 1000
        assert table["teff"][i].unmasked.value == pytest.approx(expected_mean, rel=1e-6)
        assert table["teff_err"][i].unmasked.value == pytest.approx(expected_std, rel=1e-5)


def test_a_training_cap_splits_but_never_drops_pixels(tmp_path):
    model = load(save_tiny(tmp_path / "subsampled", max_tokens=20, cap_mode="subsample"))
    spec, *_ = toy_spectrum(4)
    short, *_ = toy_spectrum(2, n_pix=16, seed=5)
    spectra = [spec[0], short[0], spec[1:], short[1]]
    table = model.predict(spectra, batch_size=3)
    assert table["n_tokens"].tolist() == [48, 16, 48, 48, 48, 16]
    assert table.meta["tokenizer"]["cap_mode"] == "chunk"
    assert table.meta["tokenizer"]["max_tokens"] == 20
    for b in (1, 64):
        again = model.predict(spectra, batch_size=b)
        assert np.allclose(again["teff"].unmasked.value, table["teff"].unmasked.value,
                           rtol=1e-6)
    whole = model.predict(spectra, max_tokens=None)
    assert whole.meta["tokenizer"]["max_tokens"] is None
    assert whole["n_tokens"].tolist() == table["n_tokens"].tolist()
    assert not np.allclose(whole["teff"].unmasked.value, table["teff"].unmasked.value)
    with pytest.raises(SpecfmInputError, match="max_tokens must be"):
        model.predict(spectra, max_tokens="all")


def test_bfloat16_precision_stays_near_float32_and_is_recorded(trained_dir):
    model = load(trained_dir)
    spec, *_ = toy_spectrum(8, n_pix=48)
    fp32 = model.predict(spec)
    bf16 = model.predict(spec, precision="bfloat16")
    assert "precision" not in fp32.meta and bf16.meta["precision"] == "bfloat16"
    for name in ("teff", "logg"):
        # the head runs in float32, so only the trunk's rounding shows: a small fraction
        # of the predicted uncertainty, and not identical (bfloat16 did run)
        diff = np.abs((bf16[name] - fp32[name]).value)
        assert np.all(diff < 0.2 * fp32[f"{name}_err"].value)
    assert not np.array_equal(bf16["teff"].value, fp32["teff"].value)
    chunked = model.predict(spec, method="chunked", chunk_size=16, precision="bfloat16")
    assert np.all(np.isfinite(chunked["teff"].value))
    with pytest.raises(SpecfmInputError, match="precision must be one of"):
        model.predict(spec, precision="float16")


def test_spectra_above_the_snr_ceiling_are_read_at_it_and_flagged(tmp_path):
    model = load(save_tiny(tmp_path / "ceiling", max_snr=200.0))
    assert model.tokenizer_config.max_snr == 200.0
    clean, *_ = toy_spectrum(3, noise=0.001)  # S/N about 1000
    noisy, *_ = toy_spectrum(3, noise=0.01)  # S/N about 100
    table = model.predict(clean)
    assert (table["flag"] & PredictionFlag.SNR_DEGRADED).all()
    assert table.meta["tokenizer"]["max_snr"] == 200.0
    assert str(int(PredictionFlag.SNR_DEGRADED)) in table.meta["flags"]
    assert (model.predict(clean)["teff"] == table["teff"]).all()  # reproducible
    as_given = model.predict(clean, max_snr=None)
    assert not (as_given["flag"] & PredictionFlag.SNR_DEGRADED).any()
    assert as_given.meta["tokenizer"]["max_snr"] is None
    assert not np.allclose(as_given["teff"].value, table["teff"].value)
    # under the ceiling nothing changes, whatever the setting
    below = model.predict(noisy)
    assert not (below["flag"] & PredictionFlag.SNR_DEGRADED).any()
    assert (below["teff"] == model.predict(noisy, max_snr=None)["teff"]).all()
    # a lower ceiling given at the call
    assert (model.predict(noisy, max_snr=20.0)["flag"] & PredictionFlag.SNR_DEGRADED).all()
    for bad in (0, -1.0, "high", float("nan")):
        with pytest.raises(SpecfmInputError, match="max_snr"):
            model.predict(noisy, max_snr=bad)
