"""`Model.finetune` learns from a small labelled set; `Model.save` round-trips it."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from specfm.exceptions import SpecfmInputError
from specfm.inference import load

from .conftest import toy_spectrum


def _labels(model, z_teff, z_logg):
    t, g = model.vocabulary["teff"], model.vocabulary["logg"]
    return QTable({"teff": (t.offset + t.scale * z_teff) * u.K,
                   "logg": (g.offset + g.scale * z_logg) * u.dex(u.cm / u.s**2)})


def _teff_rmse(model, spec, z_teff):
    pred = model.predict(spec, labels="teff")
    t = model.vocabulary["teff"]
    return float(np.sqrt(np.mean((pred["teff"].value - (t.offset + t.scale * z_teff)) ** 2)))


def test_finetune_learns_from_a_small_set_and_saves(tiny_dir, tmp_path):
    base = load(tiny_dir)  # untrained: knows nothing yet
    train, z_teff, z_logg = toy_spectrum(n=96, seed=5)
    test, zt_test, _ = toy_spectrum(n=32, seed=6)
    tuned = base.finetune(train, _labels(base, z_teff, z_logg), epochs=25, batch_size=16,
                          learning_rate=5e-3, validation_fraction=0.0, seed=0)
    assert tuned.name == f"{base.name}-finetuned"
    assert len(tuned.training_history) == 25
    before, after = _teff_rmse(base, test, zt_test), _teff_rmse(tuned, test, zt_test)
    assert after < 0.5 * before
    # the original is untouched, the copy saves and loads back to the same predictions
    assert _teff_rmse(base, test, zt_test) == pytest.approx(before)
    path = tuned.save(tmp_path / "tuned")
    again = load(path)
    assert again.sha256 == tuned.sha256 is not None
    np.testing.assert_allclose(again.predict(test)["teff"].value,
                               tuned.predict(test)["teff"].value, rtol=1e-5)
    assert again.provenance["parent_sha256"] == base.sha256


def test_finetune_checks_the_labels(tiny_dir):
    base = load(tiny_dir)
    spec, z_teff, z_logg = toy_spectrum(n=8, seed=5)
    with pytest.raises(SpecfmInputError, match="has 4 values for 8 spectra"):
        base.finetune(spec, _labels(base, z_teff[:4], z_logg[:4]), epochs=1)
    with pytest.raises(SpecfmInputError, match="No column of the labels table"):
        base.finetune(spec, {"colour_of_car": np.ones(8)}, epochs=1)
