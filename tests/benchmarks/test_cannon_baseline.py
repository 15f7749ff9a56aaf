"""The quadratic Cannon of the benchmarks (``benchmarks/_cannon_baseline.py``)."""

import numpy as np
import pytest

from ..conftest import benchmark_modules


@pytest.fixture(scope="module")
def cannon_module():
    with benchmark_modules("_cannon_baseline") as (module,):
        yield module


def _design(x):
    k = x.shape[1]
    pairs = [(i, j) for i in range(k) for j in range(i, k)]
    return np.column_stack([np.ones(len(x)), x, *[x[:, i] * x[:, j] for i, j in pairs]])


def test_labels_of_a_quadratic_model_come_back(cannon_module):
    rng = np.random.default_rng(0)
    theta = rng.normal(0, 0.05, (400, 10))
    theta[:, 0] = 1.0
    physical = np.array([1000.0, 1.0, 0.3]), np.array([5000.0, 3.0, -0.5])

    def spectra(n, noise):
        x = rng.normal(size=(n, 3))
        flux = _design(x) @ theta.T + noise * rng.normal(size=(n, 400))
        return x * physical[0] + physical[1], flux, np.full_like(flux, noise)

    labels, flux, sigma = spectra(600, 0.01)
    sigma[:, :5] = np.inf  # bad pixels are left out
    model = cannon_module.QuadraticCannon(labels, flux, sigma)
    assert np.all(model.scatter < 0.005)  # no intrinsic scatter to find (noise: 0.01)
    true, test_flux, test_sigma = spectra(30, 0.01)
    got = model.test(test_flux, test_sigma)
    error = np.std(got - true, axis=0) / physical[0]  # in units of the label spread
    assert np.all(error < 0.02), error


def test_intrinsic_scatter_is_estimated(cannon_module):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(800, 2))
    flux = 1.0 + 0.1 * x[:, :1] + rng.normal(0, 0.05, (800, 50))  # 0.05 beyond the errors
    model = cannon_module.QuadraticCannon(x, flux, np.full_like(flux, 0.01))
    assert np.allclose(model.scatter, np.sqrt(0.05**2), rtol=0.25)
