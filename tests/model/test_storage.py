import json

import pytest
import torch
from safetensors.torch import load_file

from specfm.model import (
    ModelConfig,
    ModelFileError,
    Query,
    load_model,
    read_model_config,
    save_model,
)
from specfm.tokens import DEFAULT_VOCABULARY

from .toy import tiny_network, toy_spectra, toy_tokens

QUERY = Query(labels=["teff", "fe_h"], wavelengths=[15200.0])


def _predict(net):
    wave, flux, *_ = toy_spectra(4, n_pix=24, seed=5)
    toks = toy_tokens(wave, flux)
    with torch.no_grad():
        return net(toks, QUERY.build(4, net.vocabulary), return_attention=True)


@pytest.mark.parametrize("name", ["folder", "model.zip"])
def test_round_trip_is_bit_identical(tmp_path, name):
    net = tiny_network(seed=3, tokenizer={"normalisation": "continuum", "max_tokens": None},
                       coverage=[15000.0, 17000.0]).eval()
    ref = _predict(net)
    path = save_model(net, tmp_path / name, provenance={"steps": 7})
    again = load_model(path)
    out = _predict(again)
    for a, b in ((ref.mean, out.mean), (ref.logvar, out.logvar),
                 (ref.attention, out.attention)):
        assert torch.equal(a, b)
    assert again.config == net.config
    assert again.metadata["provenance"] == {"steps": 7}
    assert len(again.metadata["sha256"]) == 64
    config = read_model_config(path)
    assert config["model"]["tokenizer"]["normalisation"] == "continuum"
    assert config["model"]["coverage"] == [15000.0, 17000.0]
    units = {d["name"]: d["unit"] for d in config["model"]["vocabulary"]}
    assert units["teff"] == "K" and units["logg"] == "dex(cm / s2)"
    assert config["specfm_version"] and config["weights"]["n_parameters"] == net.n_parameters()


def test_folder_layout_is_plain_json_and_safetensors(tmp_path):
    net = tiny_network()
    save_model(net, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json",
                                                                  "model.safetensors"]
    json.loads((tmp_path / "m" / "config.json").read_text())
    weights = load_file(tmp_path / "m" / "model.safetensors")
    assert set(weights) == set(net.state_dict())
    with pytest.raises(ModelFileError, match="overwrite"):
        save_model(net, tmp_path / "m")
    save_model(net, tmp_path / "m", overwrite=True)


def test_corrupted_or_missing_files_are_refused(tmp_path):
    net = tiny_network()
    path = save_model(net, tmp_path / "m")
    weights = path / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="sha256"):
        load_model(path)
    with pytest.raises(ModelFileError, match=r"config\.json"):
        load_model(tmp_path / "nowhere")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text('{"format": "something-else"}')
    with pytest.raises(ModelFileError, match="not a specfm model"):
        load_model(tmp_path / "other")


def test_weights_that_do_not_fit_the_config_are_refused(tmp_path):
    path = save_model(tiny_network(), tmp_path / "m")
    config = json.loads((path / "config.json").read_text())
    config["model"]["d_model"] = 32
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="do not fit"):
        load_model(path)


def test_config_round_trip_and_unknown_keys():
    config = ModelConfig(d_model=16, n_heads=2, vocabulary=DEFAULT_VOCABULARY,
                         tokenizer={"a": 1})
    data = json.loads(json.dumps(config.to_dict()))
    assert ModelConfig.from_dict(data) == config
    with pytest.raises(ValueError, match="Unknown model configuration keys"):
        ModelConfig.from_dict(dict(data, n_experts=4))
