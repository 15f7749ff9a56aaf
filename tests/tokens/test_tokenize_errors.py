"""Bad input gets a specific exception with a useful message; partial problems do not."""

import astropy.units as u
import numpy as np
import pytest
from astropy.nddata import StdDevUncertainty
from specutils import SpectrumCollection

from specfm import tokenize
from specfm._compat import make_spectrum
from specfm.exceptions import (
    CoverageError,
    CoverageWarning,
    EmptySpectrumError,
    FluxUnitError,
    ShapeMismatchError,
    SpecfmInputError,
    SpectralAxisError,
)

from .helpers import line_spectrum


def test_bare_array_is_rejected_with_advice():
    with pytest.raises(FluxUnitError, match="Wrap it first"):
        tokenize(np.ones(10))


def test_unknown_object_is_rejected():
    with pytest.raises(SpecfmInputError, match="Cannot read a spectrum from a dict"):
        tokenize({"flux": [1, 2]})


def test_flux_in_a_non_flux_unit_is_rejected():
    spec = make_spectrum(flux=np.ones(10) * u.K, spectral_axis=np.arange(1, 11) * u.AA)
    with pytest.raises(FluxUnitError, match="not a flux density"):
        tokenize(spec)


@pytest.mark.parametrize("unit", [u.km / u.s, u.pix])
def test_non_spectral_axis_is_rejected(unit):
    spec = make_spectrum(flux=np.ones(10) * u.Jy, spectral_axis=np.arange(1, 11) * unit)
    with pytest.raises(SpectralAxisError, match="not a wavelength"):
        tokenize(spec)


def test_non_finite_axis_is_rejected():
    axis = np.append(np.arange(1.0, 10.0), np.inf) * u.AA
    spec = make_spectrum(flux=np.ones(10) * u.Jy, spectral_axis=axis)
    with pytest.raises(SpectralAxisError, match="not finite positive"):
        tokenize(spec)


def test_all_masked_spectrum_is_rejected_or_reported():
    spec = line_spectrum(mask=np.ones(2000, bool))
    with pytest.raises(EmptySpectrumError, match="2000 are masked"):
        tokenize(spec)
    batch = tokenize([line_spectrum(), spec], on_error="mask")
    assert batch.reports[1].error is not None and "masked" in batch.reports[1].error
    assert not batch.valid[1].any()
    assert batch.reports[0].error is None


def test_all_nan_spectrum_is_rejected():
    spec = line_spectrum()
    spec = make_spectrum(flux=np.full(2000, np.nan) * u.Jy, spectral_axis=spec.spectral_axis)
    with pytest.raises(EmptySpectrumError, match="non-finite flux"):
        tokenize(spec)


def test_empty_spectrum_is_rejected():
    coll = SpectrumCollection(flux=np.ones((1, 0)) * u.Jy, spectral_axis=np.ones((1, 0)) * u.AA)
    with pytest.raises(EmptySpectrumError, match="no pixels"):
        tokenize(coll)


def test_spectrum_outside_coverage_is_rejected():
    spec = line_spectrum()  # 15100-17000 AA
    with pytest.raises(CoverageError, match="entirely outside the coverage"):
        tokenize(spec, coverage=(3000, 10000) * u.AA)


def test_partial_coverage_is_masked_and_warned():
    spec = line_spectrum()
    with pytest.warns(CoverageWarning, match="pixels outside it were masked"):
        batch = tokenize(spec, coverage=(1.5, 1.6) * u.um)
    report = batch.reports[0]
    assert report.n_outside_coverage > 0
    assert report.n_valid + report.n_outside_coverage == 2000
    assert batch.wavelength[batch.valid].max() <= 16000.0


def test_coverage_accepts_several_ranges():
    spec = line_spectrum()
    with pytest.warns(CoverageWarning):
        batch = tokenize(spec, coverage=[(15100, 15500), (16500, 17000)] * u.AA)
    waves = batch.wavelength[batch.valid].numpy()
    assert not np.any((waves > 15500) & (waves < 16500))


def test_mismatched_mask_shape_in_collection():
    coll = SpectrumCollection(
        flux=np.ones((2, 10)) * u.Jy, spectral_axis=np.tile(np.arange(1.0, 11.0), (2, 1)) * u.AA
    )
    coll._mask = np.zeros((2, 7), bool)
    with pytest.raises(ShapeMismatchError, match="mask has shape"):
        tokenize(coll)


def test_mismatched_uncertainty_shape():
    spec = make_spectrum(flux=np.ones(10) * u.Jy, spectral_axis=np.arange(1.0, 11.0) * u.AA)
    spec._uncertainty = StdDevUncertainty(np.ones(7))
    with pytest.raises(ShapeMismatchError, match="uncertainty has shape"):
        tokenize(spec)


def test_velocity_list_of_wrong_length():
    with pytest.raises(ShapeMismatchError, match="radial_velocity has 3 values"):
        tokenize(line_spectrum(n_rows=2), radial_velocity=[1, 2, 3] * u.km / u.s)


def test_velocity_without_unit():
    with pytest.raises(SpecfmInputError, match="needs a unit"):
        tokenize(line_spectrum(), radial_velocity=10.0)


def test_bad_medium():
    with pytest.raises(SpecfmInputError, match="medium must be"):
        tokenize(line_spectrum(), medium="water")


def test_median_normalisation_of_negative_flux():
    spec = make_spectrum(flux=-np.ones(50) * u.Jy, spectral_axis=np.linspace(5000, 5100, 50) * u.AA)
    with pytest.raises(EmptySpectrumError, match="could not be normalised"):
        tokenize(spec, normalisation="median")


def test_errors_are_value_errors():
    # Callers that catch ValueError keep working.
    with pytest.raises(ValueError):
        tokenize(np.ones(3))
