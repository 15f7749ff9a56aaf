"""Tiny emulators for the specfm.synth unit tests (no shared data needed)."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from specfm.synth import GridEmulator

CA_II_VAC = 8544.44  # Ca II triplet line, vacuum Angstrom
CA_II_AIR = 8542.09


def line_grid(center=CA_II_VAC, medium="vacuum", lo=8400.0, hi=8700.0, step=0.01,
              sigma=0.01, depths=(0.3, 0.6), extra_lines=()):
    """A 2-spectrum GridEmulator (label teff) with one narrow Gaussian absorption line.

    Depth grows linearly from depths[0] at teff=4000 K to depths[1] at 6000 K.
    """
    wave = np.arange(lo, hi + step / 2, step)
    flux = []
    for depth in depths:
        f = 1.0 - depth * np.exp(-0.5 * ((wave - center) / sigma) ** 2)
        for c in extra_lines:
            f -= depth * np.exp(-0.5 * ((wave - c) / sigma) ** 2)
        flux.append(f)
    labels = QTable({"teff": [4000.0, 6000.0] * u.K})
    return GridEmulator(wave * u.AA, np.array(flux), labels, medium, name="line")


@pytest.fixture
def ca_emulator():
    return line_grid()


def write_fake_cannon(path, n_pix=251, lo=4900.0, hi=5150.0, seed=0):
    """A cubic Cannon npz with a few pixels and a continuum model."""
    rng = np.random.default_rng(seed)
    powers = np.array([[i, j, k] for i in range(4) for j in range(4) for k in range(4)
                       if i + j + k <= 3], dtype=np.int8)
    theta = np.zeros((n_pix, len(powers)), np.float32)
    theta[:, 0] = 1.0
    theta[:, 1:] = rng.normal(0, 0.01, (n_pix, len(powers) - 1))
    cont_theta = np.zeros((20, len(powers)), np.float32)
    cont_theta[:, 0] = 5.0
    cont_theta[:, 1] = 0.1
    training = np.array([[t, g, m] for t in (4000.0, 5000.0, 6000.0) for g in (1.0, 4.0)
                         for m in (-1.0, 0.0)], np.float32)
    np.savez(
        path,
        label_names=np.array(["teff", "logg", "fe_h"]),
        wavelength_air_A=np.linspace(lo, hi, n_pix),
        theta=theta, term_powers=powers, scatter=np.full(n_pix, 0.01, np.float32),
        training_labels=training, label_offset=np.array([5000.0, 2.5, -0.5], np.float32),
        label_scale=np.array([1000.0, 1.5, 0.5]),
        continuum_wavelength_air_A=np.linspace(lo - 10, hi + 10, 20),
        continuum_theta=cont_theta, continuum_term_powers=powers,
        continuum_is_log10=np.array(True), continuum_training_labels=training,
    )
    return path


@pytest.fixture
def make_line_grid():
    """The `line_grid` factory."""
    return line_grid


@pytest.fixture
def fake_cannon(tmp_path):
    """Path of a tiny Cannon npz (251 pixels, 4900-5150 A air)."""
    return write_fake_cannon(tmp_path / "cannon.npz")
