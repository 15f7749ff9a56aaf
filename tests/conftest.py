"""Shared test fixtures: where the shared data lives, and tiny spectra."""

import os
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent


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
