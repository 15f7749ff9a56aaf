"""Gaia XP continuous (coefficient) files, sampled through GaiaXPy."""

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from specfm._compat import SpectrumClass
from specfm.exceptions import FileFormatError, MissingDependencyError, SpecfmWarning
from specfm.io import (
    CONTINUOUS_FORMAT_NAME,
    GAIA_XP_FLUX_UNIT,
    identify_gaia_xp_continuous,
    photometry_inputs,
    read_gaia_xp_continuous,
)
from specfm.io import gaia_xp_continuous as module

from .xp_files import array_text

N_COEF = 55


def write_continuous_csv(path, n=2, standard_deviation=True, photometry=("phot_g_mean_mag",)):
    """A small XP_CONTINUOUS-style CSV: smooth spectra (a few low-order coefficients)."""
    shape = {band: np.random.default_rng(k).normal(0, 300, 4) for k, band in
             enumerate(("bp", "rp"))}
    columns = ["source_id", "bp_n_parameters", "rp_n_parameters", *photometry]
    for band in ("bp", "rp"):
        columns += [f"{band}_coefficients", f"{band}_coefficient_errors",
                    f"{band}_coefficient_correlations"]
        if standard_deviation:
            columns.append(f"{band}_standard_deviation")
    lines = [",".join(columns)]
    for i in range(n):
        cells = {"source_id": str(1000 + i), "bp_n_parameters": str(N_COEF),
                 "rp_n_parameters": str(N_COEF)}
        for j, name in enumerate(photometry):
            cells[name] = repr(12.0 + 0.3 * j + 0.1 * i)
        for band in ("bp", "rp"):
            coefficients = np.zeros(N_COEF)
            coefficients[0] = 1e4
            coefficients[1:5] = shape[band]
            coefficients *= 1 + 0.1 * i  # star i is 10 i % brighter
            cells[f"{band}_coefficients"] = f'"{array_text(coefficients)}"'
            cells[f"{band}_coefficient_errors"] = f'"{array_text(np.full(N_COEF, 20.0))}"'
            correlations = np.zeros(N_COEF * (N_COEF - 1) // 2)
            cells[f"{band}_coefficient_correlations"] = f'"{array_text(correlations)}"'
            cells[f"{band}_standard_deviation"] = "1.1"
        lines.append(",".join(cells[c] for c in columns))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_identified_by_its_columns(tmp_path):
    path = write_continuous_csv(tmp_path / "XP_CONTINUOUS.csv")
    assert identify_gaia_xp_continuous("read", str(path))
    with open(path) as handle:  # astropy passes open files too
        assert identify_gaia_xp_continuous("read", handle)
    other = tmp_path / "other.csv"
    other.write_text("source_id,flux,flux_error\n1,(1.0),(0.1)\n")
    assert not identify_gaia_xp_continuous("read", str(other))
    assert not identify_gaia_xp_continuous("read", 42)


def test_without_gaiaxpy_the_error_says_what_to_install(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_gaiaxpy(name, *args, **kwargs):
        if name.startswith("gaiaxpy"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_gaiaxpy)
    path = write_continuous_csv(tmp_path / "XP_CONTINUOUS.csv")
    with pytest.raises(MissingDependencyError, match=r"specfm\[xp\].*XP_SAMPLED"):
        read_gaia_xp_continuous(path)


def test_sampled_on_the_models_grid(tmp_path):
    pytest.importorskip("gaiaxpy")
    path = write_continuous_csv(tmp_path / "XP_CONTINUOUS.csv", n=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing of GaiaXPy's leaks out
        spectrum = SpectrumClass.read(str(path))
    assert spectrum.flux.shape == (2, 343) and spectrum.flux.unit == GAIA_XP_FLUX_UNIT
    assert spectrum.spectral_axis.to_value(u.nm)[[0, -1]].tolist() == [336.0, 1020.0]
    assert spectrum.meta["source_id"].tolist() == [1000, 1001]
    flux = spectrum.flux.value
    assert np.all(np.isfinite(flux)) and not spectrum.mask.any()
    # the second star has 10% larger coefficients: 10% brighter everywhere
    assert np.allclose(flux[1] / flux[0], 1.1, rtol=1e-6)
    assert np.all(spectrum.uncertainty.array > 0)
    g = spectrum.meta["photometry"]["phot_g_mean_mag"]
    assert g.unit == u.mag and np.allclose(g.to_value(u.mag), [12.0, 12.1])
    assert photometry_inputs(spectrum.meta["photometry"]) is None  # G alone: no colour
    explicit = read_gaia_xp_continuous(path, sampling=np.arange(400.0, 901.0, 10.0))
    assert explicit.flux.shape == (2, 51)


def test_missing_standard_deviations_are_assumed_one_with_a_warning(tmp_path):
    pytest.importorskip("gaiaxpy")
    full = read_gaia_xp_continuous(write_continuous_csv(tmp_path / "a.csv"))
    with pytest.warns(SpecfmWarning, match="no bp_standard_deviation or rp_standard_deviation"):
        bare = read_gaia_xp_continuous(write_continuous_csv(tmp_path / "b.csv",
                                                            standard_deviation=False))
    assert np.allclose(bare.flux.value, full.flux.value)


def test_photometry_makes_colours():
    photometry = QTable({"source_id": [1, 2], "phot_g_mean_mag": [12.0, 13.0] * u.mag,
                         "phot_bp_mean_mag": [12.5, np.nan] * u.mag,
                         "phot_rp_mean_mag": [11.4, 12.4] * u.mag})
    colours = photometry_inputs(photometry)
    assert sorted(colours) == ["bp_g", "bp_rp", "g_rp"]
    assert np.allclose(colours["bp_rp"].to_value(u.mag)[0], 1.1)
    assert np.isnan(colours["bp_rp"][1]) and np.allclose(colours["g_rp"].value, [0.6, 0.6])
    assert photometry_inputs(None) is None


def test_not_a_continuous_file(tmp_path):
    pytest.importorskip("gaiaxpy")
    path = tmp_path / "table.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(FileFormatError, match="not a file of Gaia XP continuous"):
        read_gaia_xp_continuous(path)
    assert module.CONTINUOUS_FORMAT_NAME == CONTINUOUS_FORMAT_NAME
