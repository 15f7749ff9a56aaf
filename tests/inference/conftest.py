"""Tiny models saved to temporary folders, and toy spectra they can read."""

import numpy as np
import pytest
import torch
from astropy import units as u
from astropy.nddata import StdDevUncertainty

from specfm._compat import make_spectrum
from specfm.inference import load
from specfm.model import save_model
from specfm.tokens import TokenizerConfig
from specfm.training import MaskedTokenObjective, ObjectiveConfig, Trainer, TrainerConfig

from ..model.toy import tiny_network, toy_dataset, toy_spectra

IR = [(15100.0, 15300.0)]
RANGES = {"teff": [3000.0, 7000.0], "logg": [0.0, 5.0]}


def toy_spectrum(n=6, seed=99, n_pix=48, noise=0.01):
    """A 2-D Spectrum of toy stars (dimensionless flux near 1) and their scaled teff."""
    wave, flux, z_teff, z_logg, _ = toy_spectra(n, n_pix=n_pix, seed=seed, noise=noise)
    spec = make_spectrum(flux=flux * u.one, spectral_axis=wave * u.AA,
                         uncertainty=StdDevUncertainty(np.full(flux.shape, noise)))
    return spec, z_teff, z_logg


def save_tiny(path, coverage=IR, outputs=("teff", "logg"), label_ranges=RANGES, seed=0,
              network=None, normalisation="none", sampling=None, **tokenizer):
    """Save a tiny (untrained unless ``network`` is given) model; return its folder."""
    tok = TokenizerConfig(normalisation=normalisation, coverage=coverage, **tokenizer).to_dict()
    if network is None:
        network = tiny_network(seed=seed, d_model=16, n_frequencies=8, tokenizer=tok)
    else:
        network.config.tokenizer = tok
    provenance = {"outputs": list(outputs), "label_ranges": label_ranges,
                  "description": "a tiny test model", "version": "0.1-test"}
    if sampling is not None:
        provenance["sampling"] = list(sampling)
    return save_model(network, path, provenance=provenance)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("models") / "tiny-ir")


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory):
    """A tiny model trained for 250 steps (~5 s): teff sets the depth of three lines."""
    torch.set_num_threads(1)
    net = tiny_network(seed=0, d_model=16)
    objective = MaskedTokenObjective(ObjectiveConfig(
        context_fraction=(0.5, 1.0), label_context_probability=0.0, n_flux_queries=0))
    config = TrainerConfig(max_steps=250, batch_size=16, learning_rate=1e-2, warmup_steps=10,
                           progress=False)
    Trainer(net, toy_dataset(256, seed=0), None, objective, config).fit()
    return save_tiny(tmp_path_factory.mktemp("trained") / "toy-trained", network=net.cpu())


@pytest.fixture(scope="module")
def writer(tmp_path_factory):
    """A tiny model trained to read, write and fill toy spectra (~10 s)."""
    torch.set_num_threads(1)
    net = tiny_network(seed=1, d_model=32, n_latents=16)
    objective = MaskedTokenObjective(ObjectiveConfig(
        context_fraction=(0.5, 1.0), label_context_probability=0.2, n_flux_queries=24,
        generation_probability=0.3, block_mask_probability=0.5, block_fraction=(0.1, 0.3)))
    config = TrainerConfig(max_steps=600, batch_size=32, learning_rate=5e-3, warmup_steps=20,
                           progress=False, seed=0)
    Trainer(net, toy_dataset(512, seed=3, missing_logg=0.0), None, objective, config).fit()
    path = save_tiny(tmp_path_factory.mktemp("writer") / "toy-writer", network=net.cpu(),
                     coverage=[(15150.0, 15250.0)])
    return load(path)
