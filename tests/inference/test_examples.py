"""The bundled example files (real survey formats) run through predict with tiny models."""

import astropy.units as u
import numpy as np
import pytest

from specfm.data import read_example
from specfm.inference import load

from .conftest import save_tiny


@pytest.fixture(scope="module")
def xp():
    return read_example("gaia_xp_example.fits")


def test_apstar_example(tmp_path):
    model = load(save_tiny(tmp_path / "apogee", coverage=[(15100.0, 17000.0)],
                           normalisation="continuum"))
    table = model.predict(read_example("apStar-dr17-2M19485057+5005279.fits"))
    assert len(table) == 1 and table["flag"][0] == 0
    assert table["n_tokens"][0] > 7000  # most of the 8575 pixels; the chip gaps are empty
    assert np.isfinite(table["teff"][0].unmasked.to_value(u.K))


def test_gaia_xp_example_with_colours(tmp_path, xp):
    model = load(save_tiny(tmp_path / "xp", coverage=[(3300.0, 10300.0)],
                           normalisation="median"))
    colours = xp.meta["labels"][["bp_rp", "g_rp", "j_k"]]
    table = model.predict(xp, inputs=colours, batch_size=8)
    assert len(table) == 20 and (table["n_tokens"] == 343).all()
    assert not table["teff"].mask.any() and (table["flag"] == 0).all()
    plain = model.predict(xp)
    assert not np.allclose(plain["teff"].unmasked.value, table["teff"].unmasked.value)
