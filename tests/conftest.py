"""Shared test fixtures: where the shared data lives, and tiny spectra."""

import contextlib
import importlib
import os
import sys
from pathlib import Path

import pytest
import torch

_HERE = Path(__file__).resolve().parent

REAL_FILES = {
    "apStar-dr17-2M17335483-2753043.fits": "APOGEE apStar",
    "apStar-dr17-2M19485057+5005279.fits": "APOGEE apStar",
    "apVisit-r13-5095-55844-128.fits": "APOGEE apVisit",
    "apVisit-r13-9518-57729-104.fits": "APOGEE apVisit",
    "spec-3586-55181-0500.fits": "SDSS-III/IV spec",
}
"""The real survey files of the shared data (``real_spectra/``) and their specutils formats."""


def shared_data_dir():
    """Return the shared data folder, or None when it is absent."""
    env = os.environ.get("SPECFM_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(_HERE.parent.parent / "shared" / "data")
    for path in candidates:
        if path.is_dir():
            return path
    return None


@pytest.fixture
def shared_data():
    """The shared data folder; skips the test when it is absent."""
    path = shared_data_dir()
    if path is None:
        pytest.skip(
            "shared data not found: set SPECFM_DATA or place the data at ../shared/data "
            "beside the repository"
        )
    return path


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """Tiny models run fastest on one thread; two threads fight on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


BENCHMARKS = _HERE.parent / "benchmarks"
"""The benchmark scripts' folder (absent when only the installed package is tested)."""


@contextlib.contextmanager
def benchmark_modules(*names):
    """Import scripts of ``benchmarks/`` the way they import each other; skip without them."""
    if not all((BENCHMARKS / f"{name}.py").is_file() for name in names):
        pytest.skip("benchmarks/ is not next to the tests (installed package only)")
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield tuple(importlib.import_module(name) for name in names)
    finally:
        sys.path.remove(str(BENCHMARKS))
