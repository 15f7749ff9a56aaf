"""The inputs of ``benchmarks/speed.py shipped`` (``benchmarks/_speed_shipped.py``)."""

import numpy as np
import pytest

from ..conftest import benchmark_modules


@pytest.fixture(scope="module")
def shipped_module():
    with benchmark_modules("_speed_shipped") as (module,):
        yield module


def test_bad_pixels_mask_each_spectrum_differently(shipped_module):
    import specfm

    model = specfm.load_pretrained("specfm-base")
    same, _, desc = shipped_module.make_inputs(model, "apogee", 6)
    assert "masked at random" not in desc
    base = np.asarray(same.mask)
    assert all(np.array_equal(base[0], row) for row in base)
    ragged, _, desc = shipped_module.make_inputs(model, "apogee", 6, bad_pixels=0.05)
    assert "5% more pixels masked at random" in desc
    mask = np.asarray(ragged.mask)
    assert np.all(mask >= base)  # the spectrum's own mask is kept
    extra = (mask & ~base).mean(axis=1)
    assert np.all((extra > 0.03) & (extra < 0.07))
    assert not np.array_equal(mask[0], mask[1])
    np.testing.assert_array_equal(np.asarray(ragged.flux), np.asarray(same.flux))
