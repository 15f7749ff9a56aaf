"""A tiny model folder and small spectrum files, written once per module."""

import astropy.units as u
import numpy as np
import pytest
from astropy.nddata import StdDevUncertainty

from specfm._compat import make_spectrum
from specfm.model import save_model
from specfm.tokens import TokenizerConfig

from ..io.xp_files import write_xp_csv
from ..model.toy import tiny_network, toy_spectra

RANGES = {"teff": [3000.0, 7000.0], "logg": [0.0, 5.0]}


def save_tiny_model(path, seed=0, coverage=None):
    """Save an untrained tiny model (median-normalised; any wavelength by default)."""
    tok = TokenizerConfig(normalisation="median", coverage=coverage).to_dict()
    network = tiny_network(seed=seed, d_model=16, n_frequencies=8, tokenizer=tok)
    provenance = {"outputs": ["teff", "logg"], "label_ranges": RANGES,
                  "description": "a tiny test model", "version": "0.1-test"}
    return save_model(network, path, provenance=provenance)


def write_toy_fits(path, seed=0, n_pix=48):
    """Write one toy spectrum (near-infrared lines) as specutils 'tabular-fits'."""
    wave, flux, *_ = toy_spectra(1, n_pix=n_pix, seed=seed)
    unit = 1e-17 * u.erg / u.s / u.cm**2 / u.AA
    spectrum = make_spectrum(flux=flux[0] * unit, spectral_axis=wave * u.AA,
                             uncertainty=StdDevUncertainty(np.full(n_pix, 0.01) * unit))
    spectrum.write(path, format="tabular-fits")
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny-any")


@pytest.fixture(scope="module")
def other_model(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny-other", seed=1)


@pytest.fixture
def fits_files(tmp_path):
    """Five one-spectrum tabular-FITS files."""
    folder = tmp_path / "spectra"
    folder.mkdir()
    return [write_toy_fits(folder / f"toy{i}.fits", seed=i) for i in range(5)]


@pytest.fixture
def xp_files(tmp_path):
    """Two Gaia XP sampled CSV files of three stars each."""
    folder = tmp_path / "xp"
    folder.mkdir()
    return [write_xp_csv(folder / f"xp{i}.csv", n=3, seed=i, first_id=100 * i)
            for i in range(2)]
