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
def test_shared_xp_files_are_continuous_and_say_how_to_sample(shared_data, name):
    """Both files of the shared data hold coefficients (XP_CONTINUOUS), not fluxes."""
    path = shared_data / "real_spectra" / name
    assert identify_gaia_xp_sampled("read", str(path))
    for kwargs in ({"format": FORMAT_NAME}, {}):
        with pytest.raises(FileFormatError, match=r"continuous representation.*calibrate"):
            SpectrumClass.read(str(path), **kwargs)


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
