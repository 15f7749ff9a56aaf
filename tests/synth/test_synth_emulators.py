"""Emulator loaders, forward passes, labels and the user-grid emulator (tiny fake files)."""

import astropy.units as u
import h5py
import numpy as np
import pytest
from astropy.io import fits
from astropy.table import QTable, Table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specfm.exceptions import SpecfmInputError
from specfm.synth import (
    CannonEmulator,
    ExtrapolationError,
    GridEmulator,
    LabelError,
    PayneEmulator,
    PixelwisePayneEmulator,
)
from specfm.synth.payne import payne_label_name
from specfm.wavelengths import air_to_vacuum

LOGG = u.dex(u.cm / u.s**2)


def _labels(teff=5000.0, logg=2.0, fe_h=-0.5):
    return QTable({"teff": [teff] * u.K, "logg": [logg] * LOGG, "fe_h": [fe_h] * u.dex})


def test_cannon_forward_matches_the_documented_formula(fake_cannon):
    em = CannonEmulator.from_npz(fake_cannon)
    d = np.load(fake_cannon)
    lab = np.array([5200.0, 3.0, -0.2])
    x = (lab - d["label_offset"]) / d["label_scale"]
    terms = np.prod(x[None, :] ** d["term_powers"], axis=1)
    expected = d["theta"] @ terms
    spec = em(_labels(5200.0, 3.0, -0.2))
    np.testing.assert_allclose(spec.flux.value[0], expected, rtol=1e-5)
    np.testing.assert_allclose(spec.spectral_axis.to_value(u.AA),
                               air_to_vacuum(d["wavelength_air_A"]))
    assert em.medium == "air" and spec.meta["medium"] == "vacuum"
    assert em.label_units["logg"] == LOGG
    assert em.label_ranges["teff"][0] == 4000 * u.K


def test_cannon_continuum_and_fluxed_output(fake_cannon):
    em = CannonEmulator.from_npz(fake_cannon)
    norm = em(_labels())
    fluxed = em(_labels(), fluxed=True)
    ratio = fluxed.flux.value / norm.flux.value
    # continuum log10 = 5 + 0.1 * x_teff with x_teff = 0 at 5000 K
    np.testing.assert_allclose(ratio, 1e5, rtol=1e-6)
    assert fluxed.meta["flux_scale"] == "arbitrary"


def test_extrapolation_raise_or_flag(fake_cannon):
    em = CannonEmulator.from_npz(fake_cannon)
    with pytest.raises(ExtrapolationError, match=r"teff=9000.*\[4000, 6000\]"):
        em(_labels(teff=9000.0))
    spec = em(_labels(teff=9000.0), extrapolate="flag")
    assert spec.meta["extrapolated"].tolist() == [True]
    with pytest.raises(SpecfmInputError, match="extrapolate must be"):
        em(_labels(), extrapolate="yes")


def test_labels_units_are_converted_and_checked(fake_cannon):
    em = CannonEmulator.from_npz(fake_cannon)
    a = em(QTable({"teff": [5.0] * u.kK, "logg": [2.0] * LOGG, "fe_h": [0.0] * u.dex}))
    b = em({"teff": [5000.0], "logg": [2.0], "fe_h": [0.0]})  # bare numbers: house units
    np.testing.assert_allclose(a.flux.value, b.flux.value)
    with pytest.raises(LabelError, match="fe_h"):
        em({"teff": [5000.0] * u.K, "logg": [2.0] * LOGG})
    with pytest.raises(LabelError, match="cannot be converted"):
        em({"teff": [5000.0] * u.m, "logg": [2.0] * LOGG, "fe_h": [0.0] * u.dex})


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bad=st.sampled_from([np.nan, np.inf, -np.inf]), column=st.integers(0, 2))
def test_non_finite_labels_are_refused(fake_cannon, bad, column):
    em = CannonEmulator.from_npz(fake_cannon)
    lab = np.array([[5000.0, 2.0, 0.0]])
    lab[0, column] = bad
    with pytest.raises(LabelError, match="NaN or infinite"):
        em(lab)


def test_sample_labels_is_reproducible_and_in_range(fake_cannon):
    em = CannonEmulator.from_npz(fake_cannon)
    a = em.sample_labels(200, seed=4)
    b = em.sample_labels(200, seed=4)
    assert np.array_equal(a["teff"], b["teff"])
    assert a["teff"].unit == u.K and a["logg"].unit == LOGG
    for name, (lo, hi) in em.label_ranges.items():
        values = a[name].value
        assert values.min() >= lo.value and values.max() <= hi.value
    assert np.std(a["teff"].value) > 100  # the prior spreads over the training labels


def test_npz_without_required_arrays_or_with_objects_is_refused(tmp_path, fake_cannon):
    bad = tmp_path / "bad.npz"
    np.savez(bad, theta=np.zeros(3))
    with pytest.raises(SpecfmInputError, match="lacks arrays"):
        CannonEmulator.from_npz(bad)
    with pytest.raises(SpecfmInputError, match="not found"):
        CannonEmulator.from_npz(tmp_path / "missing.npz")
    objs = tmp_path / "objs.npz"
    good = dict(np.load(fake_cannon))
    good["label_names"] = np.array([{"a": 1}], dtype=object)
    np.savez(objs, **good)
    with pytest.raises(ValueError, match="pickle"):
        CannonEmulator.from_npz(objs)


def _leaky(z):
    return np.where(z > 0, z, 0.01 * z)


def test_payne_optical_forward_and_label_names(tmp_path):
    rng = np.random.default_rng(0)
    names = np.array(["teff", "logg", "mh", "mgm", "fem"])
    w = {f"w_array_{i}": rng.normal(size=s).astype(np.float32)
         for i, s in enumerate([(6, 5), (6, 6), (30, 6)])}
    b = {f"b_array_{i}": rng.normal(size=s).astype(np.float32)
         for i, s in enumerate([6, 6, 30])}
    x_min = np.array([4000.0, 0.0, -2.5, -0.6, -0.6])
    x_max = np.array([5000.0, 3.5, 0.5, 0.6, 0.6])
    path = tmp_path / "payne.npz"
    np.savez(path, **w, **b, x_min=x_min, x_max=x_max, label_names=names,
             wavelength_air_A=np.linspace(5000, 5014.5, 30),
             training_labels=rng.uniform(x_min, x_max, (50, 5)))
    em = PayneEmulator.from_npz(path)
    assert em.label_names == ["teff", "logg", "m_h", "mg_m", "fe_m"]
    assert em.labels[3].description == "[Mg/M]"
    lab = np.array([4500.0, 2.0, -1.0, 0.1, 0.0])
    s = (lab - x_min) / (x_max - x_min) - 0.5
    h = _leaky(w["w_array_0"] @ s + b["b_array_0"])
    h = _leaky(w["w_array_1"] @ h + b["b_array_1"])
    expected = w["w_array_2"] @ h + b["b_array_2"]
    np.testing.assert_allclose(em(lab).flux.value[0], expected, rtol=1e-4, atol=1e-4)
    assert em.native_resolution == 2000.0


def test_payne_label_name_mapping():
    assert payne_label_name("mh") == "m_h"
    assert payne_label_name("nam") == "na_m"
    assert payne_label_name("teff") == "teff"


def test_pixelwise_payne_forward(tmp_path):
    rng = np.random.default_rng(1)
    n_pix = 12
    weights = {"w_array_0": rng.normal(size=(n_pix, 4, 5)).astype(np.float32),
               "b_array_0": rng.normal(size=(n_pix, 4)).astype(np.float32),
               "w_array_1": rng.normal(size=(n_pix, 4)).astype(np.float32),
               "b_array_1": rng.normal(size=n_pix).astype(np.float32)}
    x_min = np.array([4200.0, 4.0, -0.8, -0.3, -2.0])
    x_max = np.array([7000.0, 5.0, 0.4, 0.5, 45.0])
    path, wpath = tmp_path / "pw.npz", tmp_path / "wave.npz"
    np.savez(path, **weights, x_min=x_min, x_max=x_max)
    np.savez(wpath, wavelength=10 ** (4.181 + 6e-6 * np.arange(n_pix)))
    em = PixelwisePayneEmulator.from_npz(path, wpath)
    assert em.label_names == ["teff", "logg", "fe_h", "mg_fe", "vmacro"]
    assert em.label_ranges["vmacro"][0] == 0 * u.km / u.s  # negative vmacro is not valid
    lab = np.array([5500.0, 4.5, 0.0, 0.1, 5.0])
    s = (lab - x_min) / (x_max - x_min) - 0.5
    inner = np.einsum("pjk,k->pj", weights["w_array_0"], s) + weights["b_array_0"]
    expected = (weights["w_array_1"] / (1 + np.exp(-inner))).sum(1) + weights["b_array_1"]
    np.testing.assert_allclose(em(lab).flux.value[0], expected, rtol=1e-5, atol=1e-5)
    assert em.medium == "vacuum"


# --- user grids ----------------------------------------------------------------------------

def _regular_grid():
    teff = np.array([4000.0, 5000.0, 6000.0])
    feh = np.array([-1.0, 0.0])
    tt, ff = np.meshgrid(teff, feh, indexing="ij")
    tt, ff = tt.ravel(), ff.ravel()
    wave = np.linspace(5000.0, 5010.0, 21)
    # flux linear in both labels: interpolation must be exact
    flux = 0.5 + 1e-4 * (tt[:, None] - 4000) + 0.1 * ff[:, None] + 0.001 * (wave - 5000)
    labels = QTable({"teff": tt * u.K, "fe_h": ff * u.dex, "name": [f"s{i}" for i in
                                                                   range(tt.size)]})
    return wave, flux, labels


def test_grid_regular_interpolation_is_exact_for_linear_spectra():
    wave, flux, labels = _regular_grid()
    perm = np.random.default_rng(0).permutation(len(labels))  # row order must not matter
    grid = GridEmulator(wave * u.AA, flux[perm], labels[perm], "vacuum")
    assert grid.regular and grid.label_names == ["teff", "fe_h"]
    spec = grid({"teff": [4321.0, 5999.0] * u.K, "fe_h": [-0.3, 0.0] * u.dex})
    expected = (0.5 + 1e-4 * (np.array([4321.0, 5999.0])[:, None] - 4000)
                + 0.1 * np.array([-0.3, 0.0])[:, None] + 0.001 * (wave - 5000))
    np.testing.assert_allclose(spec.flux.value, expected, rtol=1e-5)


def test_grid_irregular_uses_delaunay_and_flags_outside_hull():
    rng = np.random.default_rng(2)
    pts = np.r_[[[4000, -1], [6000, -1], [4000, 0.5], [6000, 0.5]],
                rng.uniform([4000, -1], [6000, 0.5], (20, 2))]
    wave = np.linspace(6000.0, 6002.0, 5)
    flux = 0.2 + 1e-4 * pts[:, :1] + 0.05 * pts[:, 1:2] + 0 * wave
    grid = GridEmulator(wave, flux, Table({"teff": pts[:, 0], "fe_h": pts[:, 1]}), "air")
    assert not grid.regular
    spec = grid({"teff": [5123.0] * u.K, "fe_h": [0.1] * u.dex})
    np.testing.assert_allclose(spec.flux.value[0], 0.2 + 0.5123 + 0.005, rtol=1e-5)
    tri = Table({"teff": [4000.0, 6000.0, 4000.0], "fe_h": [-1.0, -1.0, 0.5]})
    grid = GridEmulator(wave, np.ones((3, 5)), tri, "air")
    with pytest.raises(ExtrapolationError, match="convex hull"):
        grid({"teff": [5900.0], "fe_h": [0.4]})  # inside the box, outside the triangle
    spec = grid({"teff": [5900.0], "fe_h": [0.4]}, extrapolate="flag")
    assert spec.meta["extrapolated"].tolist() == [True]


def test_grid_from_fits_and_hdf5_files(tmp_path):
    wave, flux, labels = _regular_grid()
    labels.remove_column("name")
    fpath = tmp_path / "grid.fits"
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(flux.astype(np.float32), name="FLUX"),
                         fits.ImageHDU(wave, name="WAVELENGTH"),
                         fits.BinTableHDU(Table({"teff": labels["teff"].value,
                                                 "fe_h": labels["fe_h"].value}),
                                          name="LABELS")])
    hdul[1].header["MEDIUM"] = "air"
    hdul.writeto(fpath)
    from_fits = GridEmulator.from_file(fpath)
    assert from_fits.medium == "air" and from_fits.name == "grid"
    hpath = tmp_path / "grid.h5"
    with h5py.File(hpath, "w") as f:
        f["flux"] = flux
        f["wavelength"] = wave
        f.attrs["medium"] = "air"
    labels.write(hpath, path="labels", append=True, serialize_meta=True)
    from_h5 = GridEmulator.from_file(hpath)
    query = {"teff": [4500.0] * u.K, "fe_h": [-0.5] * u.dex}
    np.testing.assert_allclose(from_fits(query).flux.value, from_h5(query).flux.value,
                               rtol=1e-6)
    # WCS-style wavelength axis and labels from a separate table; no medium: refused
    wpath = tmp_path / "wcs.fits"
    hdu = fits.PrimaryHDU(flux.astype(np.float32))
    hdu.header.update(CRVAL1=5000.0, CDELT1=0.5, CRPIX1=1)
    hdu.writeto(wpath)
    with pytest.raises(SpecfmInputError, match="medium"):
        GridEmulator.from_file(wpath, labels=Table(labels))
    wcs = GridEmulator.from_file(wpath, labels=Table(labels), medium="vacuum")
    np.testing.assert_allclose(wcs.wavelength.to_value(u.AA), wave)


def test_grid_input_errors():
    with pytest.raises(SpecfmInputError, match="shape"):
        GridEmulator([1.0, 2.0, 3.0], np.ones((2, 4)), Table({"teff": [1.0, 2.0]}), "vacuum")
    with pytest.raises(SpecfmInputError, match="NaN"):
        GridEmulator([1.0, 2.0], np.ones((2, 2)), Table({"teff": [1.0, np.nan]}), "vacuum")
    with pytest.raises(SpecfmInputError, match=r"\.fits"):
        GridEmulator.from_file("grid.txt")


# --- combined emulators -----------------------------------------------------------------------

def _member(tmp_path, name, teff_lo, teff_hi, level):
    wave = np.linspace(5000.0, 5010.0, 11)
    labels = Table({"teff": [teff_lo, teff_hi, teff_lo, teff_hi],
                    "logg": [1.0, 1.0, 3.0, 3.0]})
    return GridEmulator(wave, np.full((4, 11), level), labels, "air", name=name)


def test_combined_emulator_routes_each_star_to_a_valid_member(tmp_path):
    from specfm.synth import CombinedEmulator

    cool = _member(tmp_path, "cool", 3500.0, 4200.0, 0.5)
    warm = _member(tmp_path, "warm", 4000.0, 5000.0, 0.7)
    both = CombinedEmulator([cool, warm])
    assert both.name == "cool+warm" and both.medium == "air"
    assert both.label_ranges["teff"][1] == 5000 * u.K
    spec = both({"teff": [3600.0, 4150.0, 4900.0], "logg": [2.0, 2.0, 2.0]})
    # 4150 K lies in both ranges; it goes to the member where it is further from the edges
    np.testing.assert_allclose(spec.flux.value[:, 0], [0.5, 0.7, 0.7], rtol=1e-6)
    with pytest.raises(ExtrapolationError, match="every member"):
        both({"teff": [5500.0], "logg": [2.0]})
    _, flags = both.prepare(both.sample_labels(50, seed=1, jitter=0.3))
    assert not flags.any()  # the prior only draws stars some member can render
    flagged = both({"teff": [5500.0], "logg": [2.0]}, extrapolate="flag")
    assert flagged.meta["extrapolated"].tolist() == [True]
    other = GridEmulator(np.linspace(6000.0, 6010.0, 11), np.ones((4, 11)),
                         Table({"teff": [1.0, 2.0, 1.0, 2.0], "logg": [1.0, 1.0, 2.0, 2.0]}),
                         "air")
    with pytest.raises(SpecfmInputError, match="wavelength grid"):
        CombinedEmulator([cool, other])


def test_batch_with_as_many_stars_as_pixels_is_not_ambiguous():
    wave = np.array([5000.0, 5001.0, 5002.0])
    grid = GridEmulator(wave, np.ones((2, 3)), Table({"teff": [4000.0, 5000.0]}), "vacuum")
    spec = grid({"teff": [4100.0, 4200.0, 4300.0]})  # 3 stars x 3 pixels
    assert spec.flux.shape == (3, 3) and spec.spectral_axis.size == 3
