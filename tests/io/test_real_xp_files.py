"""Integration: the Gaia XP files of the shared data, and real sampled XP spectra."""

import astropy.units as u
import numpy as np
import pytest

from specfm._compat import SpectrumClass
from specfm.data import get_example_path
from specfm.exceptions import FileFormatError
from specfm.io import (
    FORMAT_NAME,
    GAIA_XP_FLUX_UNIT,
    identify_gaia_xp_sampled,
    read_gaia_xp_table,
)

from .xp_files import array_text

pytestmark = pytest.mark.integration

XP_FILES = ["XP_CONTINUOUS_RAW.csv", "18Sco-XP-spectra.csv"]


@pytest.mark.parametrize("name", XP_FILES)
def test_shared_xp_files_are_continuous_and_read_through_gaiaxpy(shared_data, name):
    """Both files of the shared data hold coefficients (XP_CONTINUOUS), not fluxes."""
    pytest.importorskip("gaiaxpy")
    import warnings

    path = shared_data / "real_spectra" / name
    assert not identify_gaia_xp_sampled("read", str(path))
    with pytest.raises(FileFormatError, match=r"continuous representation"):
        SpectrumClass.read(str(path), format=FORMAT_NAME)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spectrum = SpectrumClass.read(str(path))  # identified as "Gaia XP continuous"
    n = {"XP_CONTINUOUS_RAW.csv": 2, "18Sco-XP-spectra.csv": 1}[name]
    assert spectrum.flux.shape == (n, 343) and spectrum.flux.unit == GAIA_XP_FLUX_UNIT
    assert len(spectrum.meta["source_id"]) == n
    flux = spectrum.flux.value
    assert np.all(np.isfinite(flux)) and np.median(flux) > 0
    # only the export without the standard deviations says so; GaiaXPy's own chatter is kept
    # to itself
    messages = [str(w.message) for w in caught]
    assert any("standard_deviation" in m for m in messages) == (name != "XP_CONTINUOUS_RAW.csv")
    assert not [m for m in messages if "standard_deviation" not in m]
    if name == "18Sco-XP-spectra.csv":  # G alone: kept, but it makes no colour
        assert spectrum.meta["photometry"]["phot_g_mean_mag"][0].to_value(u.mag) == 5.327651


def test_real_sampled_spectra_read_back(tmp_path):
    """The bundled Gaia DR3 XP spectra, written as GaiaXPy's calibrate writes a CSV."""
    xp = read_gaia_xp_table(get_example_path("gaia_xp_example.fits"))
    medflux = xp.meta["medflux"].unmasked.to_value(GAIA_XP_FLUX_UNIT)
    flux = xp.spectra.flux.value * medflux[:, None]
    error = xp.spectra.uncertainty.array * medflux[:, None]
    ids = np.arange(len(flux)) + 4_000_000_000_000_000_000
    lines = ["source_id,flux,flux_error"]
    lines += [f'{i},"{array_text(f)}","{array_text(e)}"' for i, f, e in zip(ids, flux, error,
                                                                            strict=True)]
    path = tmp_path / "output_spectra.csv"
    path.write_text("\n".join(lines) + "\n")
    spectrum = SpectrumClass.read(str(path))
    assert spectrum.flux.shape == (20, 343)
    assert np.array_equal(spectrum.meta["source_id"], ids)
    assert u.allclose(spectrum.spectral_axis, xp.spectra.spectral_axis)
    assert np.allclose(spectrum.flux.to_value(GAIA_XP_FLUX_UNIT), flux, rtol=1e-12)


def test_the_xp_star_the_model_does_not_know_is_flagged(shared_data):
    """XP_CONTINUOUS_RAW's second star: Teff 11,900 +- 4,100 K, flagged UNCERTAIN."""
    pytest.importorskip("gaiaxpy")
    from specfm.inference import PredictionFlag, load_pretrained

    spectrum = SpectrumClass.read(str(shared_data / "real_spectra" / "XP_CONTINUOUS_RAW.csv"))
    table = load_pretrained("specfm-xp").predict(spectrum)
    uncertain = (table["flag"] & PredictionFlag.UNCERTAIN) > 0
    assert uncertain.tolist() == [False, True]
    assert table["teff_err"][1] > 1000 * u.K > table["teff_err"][0]
