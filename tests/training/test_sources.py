"""Training data sources: splits, the Gaia XP table, synthetic corpora, config-driven runs."""

import json

import numpy as np
import pytest
import torch

from specfm.cli.train import main as train_main
from specfm.data import get_example_path
from specfm.exceptions import SpecfmInputError
from specfm.model import read_model_config
from specfm.tokens import TokenizerConfig, TokenKind
from specfm.training import (
    MaskedTokenObjective,
    ObjectiveConfig,
    SyntheticSource,
    TrainingBatch,
    gaia_xp_dataset,
    label_ranges,
    split_indices,
    synthetic_dataset,
    training_vocabulary,
)


def test_split_indices_is_a_reproducible_partition():
    train, val = split_indices(100, 0.1, seed=3)
    assert len(val) == 10 and len(train) == 90
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(100))
    again, _ = split_indices(100, 0.1, seed=3)
    assert np.array_equal(train, again)
    other, _ = split_indices(100, 0.1, seed=4)
    assert not np.array_equal(train, other)


def test_gaia_xp_dataset_has_tokens_colours_and_labels():
    config = TokenizerConfig(normalisation="auto", vocabulary=training_vocabulary())
    data = gaia_xp_dataset(get_example_path("gaia_xp_example.fits"), config)
    assert len(data) == 20
    vocab = data.vocabulary
    tokens = data.tokens
    assert int((tokens.kind == TokenKind.COLOUR).sum(1).min()) >= 5
    assert int((tokens.kind == TokenKind.FLUX).logical_and(tokens.valid).sum(1).min()) == 343
    assert bool(data.label_mask[:, vocab.index("teff")].all())
    assert not bool(data.label_mask[:, vocab.index("mg_fe")].any())
    ranges = label_ranges(data)
    assert 3000 < ranges["teff"][0] < ranges["teff"][1] < 20000
    assert set(ranges) <= {"teff", "logg", "fe_h", "alpha_m"}
    # errors carry the reference labels' uncertainties, scaled
    teff_err = data.label_errors[:, vocab.index("teff")] * vocab["teff"].scale
    assert float(teff_err.min()) > 0 and float(teff_err.max()) < 500


def test_colour_context_probability():
    config = TokenizerConfig(normalisation="auto", vocabulary=training_vocabulary())
    data = gaia_xp_dataset(get_example_path("gaia_xp_example.fits"), config)
    batch = TrainingBatch(data.tokens, data.labels, data.label_errors, data.label_mask)
    gen = torch.Generator().manual_seed(0)
    for p, expected in ((1.0, 7), (0.0, 0)):
        objective = MaskedTokenObjective(
            ObjectiveConfig(label_context_probability=0.0, colour_context_probability=p)
        )
        context, *_ = objective.sample(batch, gen)
        colours = (context.kind == TokenKind.COLOUR) & context.valid
        assert int(colours.sum(1).max()) == expected
        labels = (context.kind == TokenKind.LABEL) & context.valid
        assert not bool(labels.any())


def write_tiny_config(folder, tokenizer="", data="", extra="", steps=3):
    """A tiny training configuration on the bundled Gaia XP example."""
    example = get_example_path("gaia_xp_example.fits")
    config = folder / "tiny.toml"
    config.write_text(
        f"""
output = "model"
[tokenizer]
normalisation = "auto"
{tokenizer}
[data]
kind = "gaia_xp"
data_dir = "{example.parent}"
path = "{example.name}"
validation_fraction = 0.2
{data}
[model]
d_model = 16
n_heads = 2
n_latents = 8
n_latent_layers = 1
n_frequencies = 8
[trainer]
max_steps = {steps}
batch_size = 4
warmup_steps = 1
progress = false
{extra}
"""
    )
    return config


def test_train_command_on_the_xp_example(tmp_path):
    config = write_tiny_config(
        tmp_path,
        data='train_selection = "fe_h > -1"\ncache = "cache"',
        extra='[provenance]\noutputs = ["teff", "logg", "fe_h", "alpha_m"]\n'
        'description = "tiny test model"',
    )
    assert train_main([str(config)]) == 0
    saved = read_model_config(tmp_path / "model")
    provenance = saved["provenance"]
    assert provenance["outputs"] == ["teff", "logg", "fe_h", "alpha_m"]
    assert provenance["training_data"]["kind"] == "gaia_xp"
    assert provenance["training_data"]["n_validation_rows"] == 4
    assert provenance["label_ranges"]["fe_h"][0] > -1
    tokenizer = TokenizerConfig.from_dict(saved["model"]["tokenizer"])
    assert tokenizer.normalisation["name"] == "auto"
    assert (tmp_path / "cache" / "train.safetensors").exists()
    json.dumps(saved)  # the whole record is JSON


def test_data_cache_is_reused_only_with_the_same_settings(tmp_path):
    config = write_tiny_config(tmp_path, data='cache = "cache"', steps=1)
    assert train_main([str(config)]) == 0
    settings = json.loads((tmp_path / "cache" / "settings.json").read_text())
    assert settings["data"]["validation_fraction"] == 0.2
    assert train_main([str(config)]) == 0  # same settings: the cache is read back
    changed = write_tiny_config(
        tmp_path, data='cache = "cache"\ntrain_selection = "fe_h > -1"', steps=1)
    with pytest.raises(SpecfmInputError, match="other \\[data\\] or \\[tokenizer\\]"):
        train_main([str(changed)])


def test_split_seed_holds_the_validation_split_whatever_the_training_seed(tmp_path):
    import tomllib

    from specfm.training.config_data import load_training_data

    def validation_flux(folder, trainer_seed, data=""):
        folder.mkdir()
        config = tomllib.loads(write_tiny_config(folder, data=data).read_text())
        _, val, _, _ = load_training_data(config, folder, trainer_seed, progress=False)
        return val.tokens.value

    seed0 = validation_flux(tmp_path / "a", 0)
    held = validation_flux(tmp_path / "b", 1, data="split_seed = 0")
    moved = validation_flux(tmp_path / "c", 1)
    assert torch.equal(held, seed0)
    assert not torch.equal(moved, seed0)
    # a data cache written by the seed-0 run serves a seed-1 run with split_seed = 0
    config = write_tiny_config(tmp_path / "a", data='cache = "cache"', steps=1)
    assert train_main([str(config)]) == 0
    second = write_tiny_config(tmp_path / "a", data='cache = "cache"\nsplit_seed = 0', steps=1,
                               extra="seed = 1")
    assert train_main([str(second)]) == 0


@pytest.mark.integration
def test_synthetic_dataset_from_the_shared_emulators(shared_data):
    config = TokenizerConfig(normalisation="auto", max_tokens=256, vocabulary=training_vocabulary())
    source = SyntheticSource("cannon_coolstars", ["apogee", "gaia_xp"], n_stars=6, shard_size=3)
    data = synthetic_dataset([source], config, data_dir=shared_data, workers=0, progress=False)
    assert len(data) == 12
    vocab = data.vocabulary
    for name in ("teff", "logg", "fe_h"):
        assert bool(data.label_mask[:, vocab.index(name)].all())
    assert not bool(data.label_mask[:, vocab.index("mg_fe")].any())
    widths = data.tokens.valid.sum(1)
    assert int(widths.max()) == 256 and int(widths.min()) > 200
    again = synthetic_dataset([source], config, data_dir=shared_data, workers=0, progress=False)
    assert torch.equal(again.tokens.value, data.tokens.value)


@pytest.mark.integration
def test_synthetic_source_extinction_range(shared_data):
    config = TokenizerConfig(normalisation="auto", vocabulary=training_vocabulary())

    def blue_over_red(av_range):
        source = SyntheticSource("cannon_coolstars", ["gaia_xp"], n_stars=4, seed=5,
                                 av_range=av_range)
        data = synthetic_dataset([source], config, data_dir=shared_data, workers=0,
                                 progress=False)
        wave, flux = data.tokens.wavelength, data.tokens.value
        blue = torch.where(wave < 5000, flux, torch.nan).nanmean(1)
        red = torch.where(wave > 8000, flux, torch.nan).nanmean(1)
        return blue / red

    # the same stars, reddened by 4 magnitudes of A(V): much less blue flux
    assert bool((blue_over_red((4.0, 4.0)) < 0.7 * blue_over_red((0.0, 0.0))).all())


def test_synthetic_source_noise_setting():
    preset = SyntheticSource("cannon_coolstars", ["gaia_xp", "apogee"], n_stars=4)
    xp, apogee = preset.make_instruments()
    assert xp.noise.relative_sigma is not None  # the shape of real XP noise
    assert apogee.noise.relative_sigma is None
    photon = SyntheticSource("cannon_coolstars", ["gaia_xp"], n_stars=4, noise="photon")
    assert photon.make_instruments()[0].noise.relative_sigma is None
    assert preset.noise_fingerprint()["gaia_xp"] != photon.noise_fingerprint()["gaia_xp"]
    with pytest.raises(SpecfmInputError, match="noise must be one of"):
        SyntheticSource("cannon_coolstars", ["gaia_xp"], n_stars=4, noise="white")


def test_synthetic_source_flux_correction():
    factor = np.linspace(0.9, 1.1, 343)
    source = SyntheticSource("cannon_coolstars", ["gaia_xp", "apogee"], n_stars=4,
                             noise="photon", flux_correction={"gaia_xp": factor})
    xp, apogee = source.make_instruments()
    np.testing.assert_array_equal(xp.flux_correction, factor)
    assert apogee.flux_correction is None and xp.noise.relative_sigma is None
    plain = SyntheticSource("cannon_coolstars", ["gaia_xp", "apogee"], n_stars=4,
                            noise="photon")
    marked, unmarked = source.noise_fingerprint(), plain.noise_fingerprint()
    assert marked["gaia_xp"][:2] == unmarked["gaia_xp"][:2] and len(marked["gaia_xp"]) == 4
    assert marked["gaia_xp"][3] == unmarked["gaia_xp"][2] == "uncertainty=observed"
    assert marked["apogee"] == unmarked["apogee"]  # caches without corrections stay valid
    with pytest.raises(SpecfmInputError, match="does not render"):
        SyntheticSource("cannon_coolstars", ["apogee"], n_stars=4,
                        flux_correction={"gaia_xp": factor})
    with pytest.raises(SpecfmInputError, match="uncertainty must be one of"):
        SyntheticSource("cannon_coolstars", ["apogee"], n_stars=4, uncertainty="smooth")
    noiseless = SyntheticSource("cannon_coolstars", ["apogee"], n_stars=4,
                                uncertainty="noiseless")
    assert noiseless.make_instruments()[0].uncertainty == "noiseless"


def test_prediction_section_sets_the_stored_tokenizer(tmp_path):
    config = write_tiny_config(
        tmp_path,
        tokenizer='max_tokens = 1024\n[prediction]\nmax_tokens = 64\ncap_mode = "chunk"',
        steps=1,
    )
    assert train_main([str(config)]) == 0
    stored = TokenizerConfig.from_dict(read_model_config(tmp_path / "model")["model"]["tokenizer"])
    assert stored.max_tokens == 64 and stored.cap_mode == "chunk"
    assert stored.normalisation["name"] == "auto"


def test_prediction_section_can_ask_for_the_whole_spectrum_in_one_row(tmp_path):
    config = write_tiny_config(
        tmp_path, tokenizer='max_tokens = 1024\n[prediction]\nmax_tokens = "all"', steps=1)
    assert train_main([str(config)]) == 0
    stored = TokenizerConfig.from_dict(read_model_config(tmp_path / "model")["model"]["tokenizer"])
    assert stored.max_tokens is None
