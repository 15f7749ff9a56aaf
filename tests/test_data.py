"""The example files that ship in ``specfm.data``."""

import astropy.units as u
import numpy as np
import pytest

from specfm._compat import is_spectrum
from specfm.data import get_example_path, list_examples, read_example

APSTAR = "apStar-dr17-2M19485057+5005279.fits"
XP = "gaia_xp_example.fits"


def test_list_examples():
    assert list_examples() == [APSTAR, XP]


@pytest.mark.parametrize("name", [APSTAR, XP])
def test_examples_exist_and_are_small(name):
    path = get_example_path(name)
    assert path.is_file()
    assert path.name == name
    assert path.stat().st_size < 2_000_000


def test_total_size_under_5_mb():
    assert sum(get_example_path(n).stat().st_size for n in list_examples()) < 5_000_000


def test_unknown_example_names_the_choices():
    with pytest.raises(ValueError, match=r"gaia_xp_example\.fits"):
        get_example_path("no_such_file.fits")


def test_read_apstar():
    spectrum = read_example(APSTAR)
    assert is_spectrum(spectrum)
    assert spectrum.flux.shape == (8575,)
    wave = spectrum.spectral_axis.to_value(u.AA)
    assert 15100 < wave[0] < wave[-1] < 17000
    assert spectrum.flux.unit.is_equivalent(u.erg / u.s / u.cm**2 / u.AA)
    assert spectrum.uncertainty is not None
    assert np.isfinite(spectrum.flux.value).sum() > 7000


def test_read_gaia_xp():
    spectrum = read_example(XP)
    assert is_spectrum(spectrum)
    assert spectrum.flux.shape == (20, 343)
    assert spectrum.flux.unit == u.dimensionless_unscaled
    wave = spectrum.spectral_axis.to_value(u.AA)
    np.testing.assert_allclose(wave, 3360 + 20 * np.arange(343))
    # Each star was divided by its median flux.
    np.testing.assert_allclose(np.median(spectrum.flux.value, axis=1), 1, atol=0.05)
    error = spectrum.uncertainty.array
    assert error.shape == (20, 343)
    assert np.all(np.isfinite(error) & (error > 0))


def test_gaia_xp_labels():
    labels = read_example(XP).meta["labels"]
    assert len(labels) == 20
    assert labels["teff"].unit == u.K
    assert labels["medflux"].unit == u.W / u.m**2 / u.nm
    assert np.all((labels["teff"] > 3000 * u.K) & (labels["teff"] < 20000 * u.K))
    logg = labels["logg"].to_value(u.dex(u.cm / u.s**2))
    assert labels["logg"].unit == u.dex(u.cm / u.s**2)
    assert np.all((logg > -0.5) & (logg < 5.5))
    for name in ("apogee_id", "gaiaedr3_source_id", "fe_h", "alpha_m", "j", "h", "k"):
        assert name in labels.colnames
