"""The registry of shipped models, automatic choice by coverage, and specfm.inference.predict."""

import astropy.units as u
import numpy as np
import pytest
from astropy import log
from astropy.nddata import StdDevUncertainty

import specfm.pretrained as pretrained
from specfm._compat import make_spectrum
from specfm.exceptions import SpecfmInputError
from specfm.inference import Model, load_pretrained, predict
from specfm.model import ModelFileError
from specfm.pretrained import available_models, choose_model, model_path

from .conftest import save_tiny

OPTICAL = [(3000.0, 10000.0)]
INFRARED = [(15000.0, 17000.0)]


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    folder = tmp_path_factory.mktemp("registry")
    save_tiny(folder / "tiny-optical", coverage=OPTICAL)
    save_tiny(folder / "tiny-ir", coverage=INFRARED, seed=1)
    (folder / "not-a-model").mkdir()
    return folder


def spectrum(lo, hi, n=300, rows=None):
    wave = np.linspace(lo, hi, n) * u.AA
    shape = (n,) if rows is None else (rows, n)
    rng = np.random.default_rng(0)
    flux = (1 + 0.01 * rng.normal(size=shape)) * u.one
    return make_spectrum(flux=flux, spectral_axis=wave,
                         uncertainty=StdDevUncertainty(np.full(shape, 0.01)))


def test_available_models_and_paths(registry, monkeypatch):
    assert available_models(registry) == ["tiny-ir", "tiny-optical"]
    assert model_path("tiny-ir", registry) == registry / "tiny-ir"
    with pytest.raises(SpecfmInputError, match="available: 'tiny-ir', 'tiny-optical'"):
        model_path("specfm-huge", registry)
    monkeypatch.setenv(pretrained.ENV_VARIABLE, str(registry))
    assert available_models() == ["tiny-ir", "tiny-optical"]
    assert isinstance(load_pretrained("tiny-optical"), Model)
    with pytest.raises(SpecfmInputError, match="default model 'specfm-xp'"):
        load_pretrained()
    monkeypatch.setenv(pretrained.ENV_VARIABLE, str(registry / "nowhere"))
    assert available_models() == []


def test_the_shipped_registry_lists_only_complete_models():
    for name in available_models():
        assert (model_path(name) / "model.safetensors").is_file()


def test_choice_follows_the_wavelengths(registry):
    xp_like = spectrum(3360, 10200, rows=3)
    name, reason = choose_model(xp_like, registry)
    assert name == "tiny-optical"
    assert "97%" in reason and "'tiny-ir' 0%" in reason
    assert choose_model([spectrum(15150, 16900)], registry)[0] == "tiny-ir"
    # micrometres and a list mixing instruments: most pixels are infrared
    micron = spectrum(15100, 16900, n=900)
    micron = make_spectrum(flux=micron.flux, spectral_axis=micron.spectral_axis.to(u.um),
                           uncertainty=micron.uncertainty)
    mixed = [micron, spectrum(4000, 5000, n=100)]
    assert choose_model(mixed, registry)[0] == "tiny-ir"
    with pytest.raises(SpecfmInputError, match="covers any pixel"):
        choose_model(spectrum(50000, 60000), registry)


def test_a_tie_goes_to_the_specialised_model(tmp_path):
    save_tiny(tmp_path / "wide", coverage=[(3000.0, 20000.0)])
    save_tiny(tmp_path / "narrow", coverage=INFRARED)
    name, reason = choose_model(spectrum(15200, 16800), tmp_path)
    assert name == "narrow" and "100%" in reason


def test_pixel_sampling_separates_low_from_high_resolution(tmp_path):
    save_tiny(tmp_path / "xp-like", coverage=[(3300.0, 10300.0)], sampling=(100, 1000))
    save_tiny(tmp_path / "base-like", coverage=None)
    xp_grid = spectrum(3360, 10200, n=343)  # lambda / delta-lambda ~ 340
    boss_like = spectrum(3600, 10300, n=6000)  # ~ 5000, same wavelengths
    assert choose_model(xp_grid, tmp_path)[0] == "xp-like"  # a tie at 100%: narrower wins
    name, reason = choose_model(boss_like, tmp_path)
    assert name == "base-like" and "'xp-like' 0%" in reason
    assert choose_model(spectrum(15100, 16900, n=8000), tmp_path)[0] == "base-like"


def test_load_pretrained_chooses_and_says_so(registry):
    with log.log_to_list() as records:
        model = load_pretrained(spectra=spectrum(15150, 15290), registry=registry)
    assert model.name == "tiny-ir"
    assert any("chose 'tiny-ir'" in r.getMessage() for r in records)
    table = model.predict(spectrum(15150, 15290))
    assert table.meta["model"] == "tiny-ir" and "chose 'tiny-ir'" in table.meta["model_choice"]


def test_module_level_predict(registry):
    spec = spectrum(4000, 9000, rows=2)
    with log.log_to_list() as records:
        table = predict(spec, registry=registry, labels=["teff"])
    assert table.meta["model"] == "tiny-optical" and len(table) == 2
    assert records and "tiny-optical" in table.meta["model_choice"]
    by_name = predict(spec, model="tiny-optical", registry=registry, labels=["teff"])
    by_path = predict(spec, model=registry / "tiny-optical", labels=["teff"])
    assert np.allclose(by_name["teff"].unmasked.value, table["teff"].unmasked.value)
    assert np.allclose(by_path["teff"].unmasked.value, table["teff"].unmasked.value)
    assert "model_choice" not in by_name.meta
    with pytest.raises(SpecfmInputError, match="neither a shipped model"):
        predict(spec, model="specfm-nonexistent", registry=registry)


def test_corrupted_weights_are_refused(tmp_path):
    path = save_tiny(tmp_path / "broken", coverage=INFRARED)
    data = bytearray((path / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (path / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="sha256"):
        load_pretrained("broken", registry=tmp_path)


def test_specfm_predict_is_the_function(registry):
    """``specfm.predict(spectra)`` is `specfm.inference.predict`, a plain function."""
    import types

    import specfm
    import specfm.inference

    assert specfm.predict is specfm.inference.predict
    assert isinstance(specfm.predict, types.FunctionType)
    assert not callable(specfm.inference)
    table = specfm.predict(spectrum(15150, 15290), registry=registry)
    assert table.meta["model"] == "tiny-ir"


def test_the_old_package_name_still_imports_with_a_warning():
    """``specfm.predict`` as a package (its old name) warns and gives the same objects."""
    import importlib

    import specfm
    import specfm.inference.model
    from specfm.exceptions import SpecfmDeprecationWarning

    with pytest.warns(SpecfmDeprecationWarning, match="moved to specfm.inference"):
        from specfm.predict import Model as old_model
    assert old_model is Model
    with pytest.warns(SpecfmDeprecationWarning, match="specfm.inference.model"):
        from specfm.predict.model import load as old_load
    assert old_load is specfm.inference.model.load
    # importing the old module by name neither copies it nor rebinds specfm.predict
    old_module = importlib.import_module("specfm.predict.table")
    with pytest.warns(SpecfmDeprecationWarning):
        assert old_module.PredictionFlag is specfm.inference.PredictionFlag
    assert specfm.predict is specfm.inference.predict
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        old_module.no_such_name  # noqa: B018


def test_the_old_home_of_load_pretrained_still_works_with_a_warning():
    import specfm.pretrained
    from specfm.exceptions import SpecfmDeprecationWarning

    with pytest.warns(SpecfmDeprecationWarning, match="specfm.load_pretrained"):
        old = specfm.pretrained.load_pretrained
    assert old is load_pretrained
    with pytest.raises(AttributeError):
        specfm.pretrained.no_such_name  # noqa: B018
