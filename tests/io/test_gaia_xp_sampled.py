"""The "Gaia XP sampled" reader: CSV, ECSV and FITS as GaiaXPy and the archive write them."""

import subprocess
import sys

import astropy.units as u
import numpy as np
import pytest
from astropy.io import registry
from astropy.table import Table
from specutils import SpectrumList

from specfm._compat import SpectrumClass
from specfm.exceptions import FileFormatError
from specfm.io import (
    FORMAT_NAME,
    GAIA_XP_FLUX_UNIT,
    GAIA_XP_SAMPLING,
    identify_gaia_xp_sampled,
    read_gaia_xp_sampled,
)

from .xp_files import array_text, write_xp_csv, write_xp_fits, xp_flux


def test_default_sampling_is_the_archive_grid():
    assert GAIA_XP_SAMPLING.size == 343
    assert GAIA_XP_SAMPLING[0] == 336 * u.nm and GAIA_XP_SAMPLING[-1] == 1020 * u.nm
    assert np.allclose(np.diff(GAIA_XP_SAMPLING.value), 2.0)


def test_csv_reads_into_one_2d_spectrum(tmp_path):
    path = write_xp_csv(tmp_path / "xp.csv", n=4, seed=3, first_id=7)
    spectrum = SpectrumClass.read(path, format=FORMAT_NAME)
    flux, error = xp_flux(4, seed=3)
    assert spectrum.flux.shape == (4, 343)
    assert spectrum.flux.unit == GAIA_XP_FLUX_UNIT
    assert np.allclose(spectrum.flux.value, flux, rtol=1e-12)
    assert np.allclose(spectrum.uncertainty.array, error, rtol=1e-12)
    assert type(spectrum.uncertainty).__name__ == "StdDevUncertainty"
    assert np.array_equal(spectrum.meta["source_id"], [7, 8, 9, 10])
    assert u.allclose(spectrum.spectral_axis, GAIA_XP_SAMPLING)
    assert not spectrum.mask.any()


def test_format_is_identified_without_format_argument(tmp_path):
    csv_path = write_xp_csv(tmp_path / "xp.csv", n=2)
    fits_path = write_xp_fits(tmp_path / "xp.fits", n=2)
    for path in (csv_path, fits_path):
        assert FORMAT_NAME in registry.identify_format("read", SpectrumClass, str(path), None,
                                                       [], {})
        spectrum = SpectrumClass.read(str(path))
        assert spectrum.flux.shape == (2, 343)
    assert len(SpectrumList.read(str(csv_path), format=FORMAT_NAME)) == 1


def test_identifier_ignores_other_tables(tmp_path):
    other = tmp_path / "other.csv"
    Table({"a": [1, 2], "flux": [1.0, 2.0]}).write(other, format="ascii.csv")
    assert not identify_gaia_xp_sampled("read", str(other))
    assert not identify_gaia_xp_sampled("read", str(tmp_path / "missing.csv"))
    assert not identify_gaia_xp_sampled("read", None)


def test_missing_values_are_masked(tmp_path):
    flux, error = xp_flux(1)
    flux[0, 10] = np.nan
    error[0, 20] = -1.0
    path = tmp_path / "xp.csv"
    path.write_text("source_id,flux,flux_error\n"
                    f'5,"{array_text(flux[0], "[]")}","{array_text(error[0], "[]")}"\n')
    spectrum = read_gaia_xp_sampled(path)
    assert spectrum.mask[0, 10] and spectrum.mask[0, 20]
    assert spectrum.mask.sum() == 2


def test_sampling_from_companion_file(tmp_path):
    """GaiaXPy writes output_spectra.csv and output_spectra_sampling.csv beside it."""
    wave = np.linspace(400.0, 900.0, 50)
    path = write_xp_csv(tmp_path / "output_spectra.csv", n=2, n_samples=50)
    (tmp_path / "output_spectra_sampling.csv").write_text(f'pos\n"{array_text(wave)}"\n')
    spectrum = read_gaia_xp_sampled(path)
    assert u.allclose(spectrum.spectral_axis, wave * u.nm)


def test_sampling_from_fits_header_and_argument(tmp_path):
    wave = np.linspace(350.0, 1000.0, 60)
    path = write_xp_fits(tmp_path / "xp.fits", n=2, sampling=wave)
    spectrum = SpectrumClass.read(path, format=FORMAT_NAME)
    assert u.allclose(spectrum.spectral_axis, wave * u.nm)
    again = SpectrumClass.read(path, format=FORMAT_NAME, sampling=wave * 10 * u.AA)
    assert u.allclose(again.spectral_axis, wave * u.nm)


def test_sampling_from_ecsv_header(tmp_path):
    wave = np.linspace(400.0, 800.0, 20)
    flux, error = xp_flux(2, n_samples=20)
    table = Table({"source_id": np.array([1, 2]), "flux": flux, "flux_error": error},
                  meta={"sampling": wave.tolist()})
    path = tmp_path / "xp.ecsv"
    table.write(path, format="ascii.ecsv")
    spectrum = SpectrumClass.read(str(path))
    assert u.allclose(spectrum.spectral_axis, wave * u.nm)
    assert np.allclose(spectrum.flux.value, flux)


def test_unknown_sampling_is_a_clear_error(tmp_path):
    path = write_xp_csv(tmp_path / "xp.csv", n=1, n_samples=40)
    with pytest.raises(FileFormatError, match=r"40 samples.*sampling="):
        read_gaia_xp_sampled(path)
    with pytest.raises(FileFormatError, match="gives 3 wavelengths"):
        read_gaia_xp_sampled(path, sampling=[1.0, 2.0, 3.0])


def test_continuous_files_are_sent_to_their_own_reader(tmp_path):
    path = tmp_path / "XP_CONTINUOUS.csv"
    path.write_text('source_id,bp_coefficients,rp_coefficients\n1,"(1.0, 2.0)","(3.0, 4.0)"\n')
    assert not identify_gaia_xp_sampled("read", str(path))
    with pytest.raises(FileFormatError,
                       match=r"continuous representation.*format='Gaia XP continuous'"):
        SpectrumClass.read(str(path), format="Gaia XP sampled")


def test_converted_and_unrelated_files_are_rejected(tmp_path):
    converted = tmp_path / "converted.csv"
    converted.write_text('source_id,xp,flux,flux_error\n1,BP,"(1.0)","(0.1)"\n')
    with pytest.raises(FileFormatError, match=r"gaiaxpy\.calibrate"):
        read_gaia_xp_sampled(converted)
    unrelated = tmp_path / "table.csv"
    unrelated.write_text("a,b\n1,2\n")
    with pytest.raises(FileFormatError, match="no 'flux' and 'flux_error'"):
        read_gaia_xp_sampled(unrelated)
    with pytest.raises(FileFormatError, match=r"\.csv, \.ecsv or \.fits"):
        read_gaia_xp_sampled(tmp_path / "spectra.txt")


def test_bad_array_text_is_a_clear_error(tmp_path):
    path = tmp_path / "xp.csv"
    path.write_text('source_id,flux,flux_error\n1,"(1.0, abc)","(0.1, 0.1)"\n')
    with pytest.raises(FileFormatError, match="not a list of numbers"):
        read_gaia_xp_sampled(path)


def test_registration_on_import_is_silent():
    code = ("import warnings; warnings.simplefilter('error'); import specfm; "
            "from astropy.io import registry; from specfm._compat import SpectrumClass; "
            "assert 'Gaia XP sampled' in registry.get_formats(SpectrumClass, 'Read')['Format']")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_a_fits_table_is_read_in_slices_of_rows(tmp_path):
    from specfm.io import iter_gaia_xp_sampled

    path = write_xp_fits(tmp_path / "many.fits", n=25)
    whole = read_gaia_xp_sampled(path)
    pieces = list(iter_gaia_xp_sampled(path, rows=10))
    assert [len(p.flux) for p in pieces] == [10, 10, 5]
    assert [p.meta["first_index"] for p in pieces] == [0, 10, 20]
    assert {p.meta["rows_in_file"] for p in pieces} == {25}
    assert np.array_equal(np.vstack([p.flux.value for p in pieces]), whole.flux.value)
    assert np.array_equal(np.vstack([p.uncertainty.array for p in pieces]),
                          whole.uncertainty.array)
    assert np.array_equal(np.concatenate([p.meta["source_id"] for p in pieces]),
                          whole.meta["source_id"])
    assert all(p.spectral_axis.unit == whole.spectral_axis.unit for p in pieces)
    text = write_xp_csv(tmp_path / "few.csv", n=3)
    assert [len(p.flux) for p in iter_gaia_xp_sampled(text, rows=2)] == [3]  # read whole
    with pytest.raises(ValueError, match="positive"):
        next(iter_gaia_xp_sampled(path, rows=0))


def test_without_a_source_id_column_there_are_no_ids(tmp_path):
    from astropy.io import fits

    flux = np.full((2, 343), 1e-17, np.float32)
    columns = [fits.Column(name="flux", array=flux, format="343E"),
               fits.Column(name="flux_error", array=0.01 * flux, format="343E")]
    path = tmp_path / "anonymous.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(columns)]).writeto(path)
    assert "source_id" not in read_gaia_xp_sampled(path).meta  # not a stand-in such as -1
