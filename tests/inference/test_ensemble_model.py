"""Ensembles through the user API: built from model folders, predict / attention /
generate / fine-tune as one model, and ``specfm ensemble`` on the command line."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from specfm.cli import main
from specfm.exceptions import SpecfmInputError
from specfm.inference import Model, load
from specfm.model import EnsembleNetwork
from specfm.training import build_ensemble

from ..model.toy import tiny_network
from .conftest import save_tiny, toy_spectrum


@pytest.fixture(scope="module")
def member_dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp("members")
    return [save_tiny(base / f"member-{s}", seed=s) for s in (0, 1)]


def test_ensemble_predictions_are_the_mixture_of_the_members(member_dirs):
    spec, _, _ = toy_spectrum(n=7, seed=3)
    ensemble = Model(build_ensemble(member_dirs), name="pair")
    assert ensemble.n_members == 2 and "2-member ensemble" in repr(ensemble)
    table = ensemble.predict(spec)
    singles = [load(p).predict(spec) for p in member_dirs]
    for name in ("teff", "logg"):
        means = np.array([t[name].value for t in singles])
        errs = np.array([t[f"{name}_err"].value for t in singles])
        np.testing.assert_allclose(table[name].value, means.mean(0), rtol=1e-5)
        np.testing.assert_allclose(table[f"{name}_err"].value,
                                   np.sqrt((errs**2).mean(0) + means.var(0)), rtol=1e-4)
        assert table[name].unit == singles[0][name].unit
    # attention still sums to one per spectrum; generation runs on the same grid
    weights = ensemble.attention(spec[0], label="teff")
    assert float(weights["teff"].sum() + weights.meta["input_share"]["teff"][0]) == \
        pytest.approx(1.0, abs=1e-5)
    grid = np.linspace(15160.0, 15240.0, 11) * u.AA
    generated = ensemble.generate({"teff": 5000 * u.K, "logg": 2.5 * u.dex(u.cm / u.s**2)},
                                  grid)
    assert np.all(np.isfinite(generated.flux.value))


def test_ensemble_saves_with_its_members_provenance(member_dirs, tmp_path):
    ensemble = build_ensemble(member_dirs, description="two tiny members")
    model = Model(ensemble, name="pair")
    path = model.save(tmp_path / "pair")
    again = load(path)
    assert isinstance(again.network, EnsembleNetwork) and again.sha256 == model.sha256
    prov = again.provenance
    assert prov["description"] == "two tiny members"
    assert [m["sha256"] for m in prov["members"]] == [load(p).sha256 for p in member_dirs]
    assert prov["members"][0]["provenance"]["description"] == "a tiny test model"
    assert prov["outputs"] == ["teff", "logg"] and prov["ensemble"]["n_members"] == 2
    assert again.label_ranges["teff"].to_value(u.K).tolist() == [3000.0, 7000.0]


def test_build_ensemble_refuses_what_is_not_an_ensemble(member_dirs, tmp_path):
    with pytest.raises(SpecfmInputError, match="more than once"):
        build_ensemble([member_dirs[0], member_dirs[0]])
    copy = save_tiny(tmp_path / "copy", seed=0)
    with pytest.raises(SpecfmInputError, match="identical weights"):
        build_ensemble([member_dirs[0], copy])
    nested = Model(build_ensemble(member_dirs)).save(tmp_path / "nested")
    with pytest.raises(SpecfmInputError, match="already hold ensembles"):
        build_ensemble([nested, member_dirs[0]])
    other = save_tiny(tmp_path / "wider", network=tiny_network(seed=0, d_model=32,
                                                                n_frequencies=8))
    with pytest.raises(SpecfmInputError, match="differs from member 0"):
        build_ensemble([member_dirs[0], other])


def test_finetune_of_an_ensemble_tunes_every_member(member_dirs):
    ensemble = Model(build_ensemble(member_dirs), name="pair")
    train, z_teff, z_logg = toy_spectrum(n=96, seed=5)
    t, g = ensemble.vocabulary["teff"], ensemble.vocabulary["logg"]
    labels = QTable({"teff": (t.offset + t.scale * z_teff) * u.K,
                     "logg": (g.offset + g.scale * z_logg) * u.dex(u.cm / u.s**2)})
    test, zt_test, _ = toy_spectrum(n=32, seed=6)
    truth = t.offset + t.scale * zt_test

    def rmse(model):
        return float(np.sqrt(np.mean((model.predict(test, labels="teff")["teff"].value
                                      - truth) ** 2)))

    tuned = ensemble.finetune(train, labels, epochs=25, batch_size=16, learning_rate=5e-3,
                              validation_fraction=0.0, seed=0)
    assert tuned.n_members == 2
    assert [h["member"] for h in tuned.training_history] == [0] * 25 + [1] * 25
    assert rmse(tuned) < 0.5 * rmse(ensemble)
    assert tuned.provenance["parent_sha256"] == ensemble.sha256
    assert len(tuned.provenance["members"]) == 2


def test_cli_ensemble_writes_a_model(member_dirs, tmp_path, capsys):
    out = tmp_path / "cli-pair"
    assert main(["ensemble", str(out), *map(str, member_dirs), "--description", "cli"]) == 0
    assert "ensemble of 2 members" in capsys.readouterr().out
    model = load(out)
    assert model.n_members == 2 and model.provenance["description"] == "cli"
    assert main(["info", str(out)]) == 0
    assert "2-member ensemble" in capsys.readouterr().out
    assert main(["ensemble", str(out), *map(str, member_dirs)]) != 0  # no overwrite
    assert "already exists" in capsys.readouterr().err
