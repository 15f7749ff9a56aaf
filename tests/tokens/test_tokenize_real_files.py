"""Integration: real survey files, read with specutils' own readers, become tokens."""

import warnings

import numpy as np
import pytest
import torch
from specutils import SpectrumList

from specfm import tokenize
from specfm._compat import SpectrumClass

from ..conftest import REAL_FILES

pytestmark = pytest.mark.integration

FILES = REAL_FILES


def read(path, fmt):
    with warnings.catch_warnings():
        # The survey headers carry keywords that astropy's FITS/WCS readers comment on.
        warnings.simplefilter("ignore")
        return SpectrumClass.read(path, format=fmt)


@pytest.mark.parametrize("name", sorted(FILES))
def test_real_file_tokenises(shared_data, name):
    path = shared_data / "real_spectra" / name
    if not path.exists():
        pytest.skip(f"{path} not found in the shared data")
    spec = read(path, FILES[name])
    batch = tokenize(spec, normalisation="continuum")
    report = batch.reports[0]
    assert report.n_valid > 0.8 * report.n_pixels
    assert torch.isfinite(batch.value).all() and torch.isfinite(batch.error).all()
    values = batch.value[batch.valid].numpy()
    # Continuum-normalised stellar spectra: median near 1, few wild values.
    assert abs(np.median(values) - 1) < 0.05
    assert np.mean((values > 0) & (values < 1.5)) > 0.98
    waves = batch.wavelength[batch.valid].numpy()
    assert np.all(np.diff(waves) > 0)
    if "apStar" in name or "apVisit" in name:
        assert 15100 < waves[0] < 15300 and 16800 < waves[-1] < 17000
    else:
        assert 3500 < waves[0] < 3700 and 10200 < waves[-1] < 10400


def test_real_files_together_as_a_list(shared_data):
    paths = [shared_data / "real_spectra" / n for n in sorted(FILES)]
    if not all(p.exists() for p in paths):
        pytest.skip("some real spectra are missing from the shared data")
    spectra = SpectrumList([read(p, FILES[p.name]) for p in paths])
    batch = tokenize(spectra, max_tokens=512, cap_mode="chunk")
    assert batch.n_spectra == len(paths)
    assert set(batch.spectrum_index.tolist()) == set(range(len(paths)))
    assert int(batch.valid.sum()) == sum(r.n_valid for r in batch.reports)
