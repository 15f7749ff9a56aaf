"""Tiny synthetic data and tiny networks shared by the model and training tests.

Spectra: a flat continuum with three Gaussian absorption lines near 15,200 A. The depth
of every line grows with the (scaled) label ``teff``; the width of the third line with
the scaled ``logg``; a fourth line's depth encodes a label that is *not* in the default
vocabulary (used to test adding labels when fine-tuning).
"""

import numpy as np
import torch

from specfm.model import ModelConfig, SpecFMNetwork
from specfm.tokens import DEFAULT_VOCABULARY, TokenBatch, TokenKind
from specfm.training import TokenDataset

WAVE_MIN, WAVE_MAX = 15150.0, 15250.0
LINES = (15170.0, 15195.0, 15220.0)
EXTRA_LINE = 15240.0


def tiny_config(**overrides):
    kwargs = dict(d_model=24, n_heads=2, n_latents=8, n_latent_layers=1, n_frequencies=16)
    kwargs.update(overrides)
    return ModelConfig(**kwargs)


def tiny_network(seed=0, **overrides):
    torch.manual_seed(seed)
    return SpecFMNetwork(tiny_config(**overrides))


def toy_spectra(n_stars, n_pix=48, seed=0, noise=0.01):
    """Return wavelength (n_pix,), flux (n, n_pix), z_teff, z_logg, z_extra."""
    rng = np.random.default_rng(seed)
    wave = np.linspace(WAVE_MIN, WAVE_MAX, n_pix)
    z_teff, z_logg, z_extra = rng.normal(size=(3, n_stars))
    depth = np.clip(0.35 + 0.12 * z_teff, 0.02, 0.9)
    width = 2.5 + 0.6 * np.clip(z_logg, -2, 2)
    flux = np.ones((n_stars, n_pix))
    for line in LINES[:2]:
        flux -= depth[:, None] * np.exp(-0.5 * ((wave - line) / 2.5) ** 2)
    flux -= depth[:, None] * np.exp(-0.5 * ((wave - LINES[2]) / width[:, None]) ** 2)
    flux -= np.clip(0.3 + 0.1 * z_extra, 0.02, 0.9)[:, None] * np.exp(
        -0.5 * ((wave - EXTRA_LINE) / 2.0) ** 2)
    flux += noise * rng.normal(size=flux.shape)
    return wave, flux, z_teff, z_logg, z_extra


def toy_tokens(wave, flux, noise=0.01, vocabulary=DEFAULT_VOCABULARY, n_pad=0):
    n, n_pix = flux.shape
    width = n_pix + n_pad
    valid = torch.zeros(n, width, dtype=torch.bool)
    valid[:, :n_pix] = True
    wl = torch.zeros(n, width)
    wl[:, :n_pix] = torch.as_tensor(wave, dtype=torch.float32)
    val = torch.zeros(n, width)
    val[:, :n_pix] = torch.as_tensor(flux, dtype=torch.float32)
    err = torch.zeros(n, width)
    err[:, :n_pix] = noise
    return TokenBatch(
        wavelength=wl, value=val, error=err,
        kind=torch.full((n, width), int(TokenKind.FLUX)),
        ident=torch.full((n, width), -1), valid=valid,
        spectrum_index=torch.arange(n), vocabulary=vocabulary)


def toy_dataset(n_stars=64, n_pix=48, seed=0, missing_logg=0.3, vocabulary=DEFAULT_VOCABULARY,
                extra_name=None):
    """A TokenDataset whose labels are the scaled teff, logg (partly missing), [extra]."""
    wave, flux, z_teff, z_logg, z_extra = toy_spectra(n_stars, n_pix, seed)
    tokens = toy_tokens(wave, flux, vocabulary=vocabulary)
    n_vocab = len(vocabulary)
    labels = torch.zeros(n_stars, n_vocab)
    errors = torch.full((n_stars, n_vocab), 0.05)
    mask = torch.zeros(n_stars, n_vocab, dtype=torch.bool)
    labels[:, vocabulary.index("teff")] = torch.as_tensor(z_teff, dtype=torch.float32)
    mask[:, vocabulary.index("teff")] = True
    labels[:, vocabulary.index("logg")] = torch.as_tensor(z_logg, dtype=torch.float32)
    rng = np.random.default_rng(seed + 1)
    mask[:, vocabulary.index("logg")] = torch.as_tensor(rng.random(n_stars) >= missing_logg)
    if extra_name is not None:
        labels[:, vocabulary.index(extra_name)] = torch.as_tensor(z_extra, dtype=torch.float32)
        mask[:, vocabulary.index(extra_name)] = True
    return TokenDataset(tokens, labels, errors, mask)
