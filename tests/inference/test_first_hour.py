"""What a new user runs into first: frames, paths, flags, plots (issue 'first hour')."""

import astropy.units as u
import numpy as np
import pytest
from astropy.nddata import StdDevUncertainty
from astropy.table import QTable

from specfm._compat import make_spectrum
from specfm.exceptions import FileFormatError, SpecfmInputError
from specfm.inference import PredictionFlag, header_velocity, load
from specfm.inference.table import prediction_flags
from specfm.tokens import DEFAULT_VOCABULARY, tokenize
from specfm.wavelengths import doppler_factor

from .conftest import toy_spectrum


def _with_header(spectrum, **header):
    return make_spectrum(flux=spectrum.flux, spectral_axis=spectrum.spectral_axis,
                         uncertainty=spectrum.uncertainty, meta={"header": header})


def test_a_velocity_shifts_the_spectrum_to_the_rest_frame(trained_dir):
    model = load(trained_dir)
    rest, *_ = toy_spectrum(3, n_pix=64)
    v = 150.0 * u.km / u.s
    observed = make_spectrum(flux=rest.flux,
                             spectral_axis=rest.spectral_axis * doppler_factor(v.value),
                             uncertainty=rest.uncertainty)
    plain = model.predict(rest)
    shifted = model.predict(observed, radial_velocity=v)
    assert np.allclose(shifted["teff"].unmasked.value, plain["teff"].unmasked.value,
                       rtol=1e-4)
    assert shifted["radial_velocity"].unit == u.km / u.s
    assert shifted["radial_velocity"].value.tolist() == [150.0] * 3
    assert shifted.meta["frame"].startswith("rest frame")
    assert plain.meta["frame"].startswith("as given") and "radial_velocity" not in plain.colnames
    # not shifting an observed-frame spectrum changes the answer (the shift matters here)
    unshifted = model.predict(observed)
    assert not np.allclose(unshifted["teff"].unmasked.value, plain["teff"].unmasked.value,
                           rtol=1e-3)


def test_velocity_from_a_header_keyword_or_an_inputs_column(trained_dir):
    model = load(trained_dir)
    spectrum, *_ = toy_spectrum(1, n_pix=64)
    spectrum = _with_header(spectrum[0], VRAD=-44.4, VHELIO=-33.1)
    by_header = model.predict(spectrum, radial_velocity="VRAD")
    by_value = model.predict(spectrum, radial_velocity=-44.4 * u.km / u.s)
    assert by_header["teff"][0] == by_value["teff"][0]
    assert "VRAD" in by_header.meta["frame"]
    assert "VRAD" in by_header["radial_velocity"].info.description
    assert header_velocity([spectrum, spectrum], "VHELIO").value.tolist() == [-33.1, -33.1]
    with pytest.raises(SpecfmInputError, match="no 'VREL' keyword; it has VRAD, VHELIO"):
        model.predict(spectrum, radial_velocity="VREL")
    inputs = QTable({"vrad": [-44.4] * u.km / u.s})
    by_column = model.predict(spectrum, radial_velocity="vrad", inputs=inputs)
    assert by_column["teff"][0] == by_value["teff"][0]
    with pytest.raises(SpecfmInputError, match="not a velocity"):
        model.predict(spectrum, radial_velocity="vrad", inputs=QTable({"vrad": [1.0] * u.K}))


def test_predict_reads_a_path(trained_dir, tmp_path):
    from specfm._compat import SpectrumClass

    from ..cli.conftest import write_toy_fits

    model = load(trained_dir)
    path = write_toy_fits(tmp_path / "one.fits")
    from_path = model.predict(str(path))
    read = SpectrumClass.read(path, format="tabular-fits")
    assert from_path["teff"][0] == model.predict(read)["teff"][0]
    with pytest.raises(FileFormatError, match="No such file"):
        model.predict(str(tmp_path / "missing.fits"))
    (tmp_path / "junk.txt").write_text("not a spectrum\n")
    with pytest.raises(FileFormatError, match=r"Spectrum\.read.*predict_files"):
        model.predict(tmp_path / "junk.txt")
    with pytest.raises(SpecfmInputError, match=r"file name.*Spectrum\.read"):
        tokenize(str(path))


def test_uncertain_predictions_are_flagged():
    names = ["teff", "logg"]
    value = np.array([[5000.0, 3.0], [11900.0, 3.0], [5000.0, 3.0]])
    std = np.array([[300.0, 0.2], [4070.0, 0.2], [300.0, 2.0]])  # teff scale 1000, logg 1.5
    given = np.full((3, len(DEFAULT_VOCABULARY)), np.nan)
    flags = prediction_flags(names, value, np.ones(3, bool), [0, 0, 0], given, {},
                             DEFAULT_VOCABULARY, std)
    assert [bool(f & PredictionFlag.UNCERTAIN) for f in flags] == [False, True, True]
    # no uncertainty given, no such flag; masked rows are not flagged
    assert not prediction_flags(names, value, np.ones(3, bool), [0] * 3, given, {},
                                DEFAULT_VOCABULARY).any()
    flags = prediction_flags(names, value, np.array([True, False, True]), [0] * 3, given, {},
                             DEFAULT_VOCABULARY, std)
    assert flags.tolist() == [0, int(PredictionFlag.NO_DATA), int(PredictionFlag.UNCERTAIN)]


def test_plot_spectrum_takes_one_star_batches_and_keeps_the_flux_in_view(tiny_dir):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from specfm.plotting import plot_spectrum

    spectrum, *_ = toy_spectrum(2, n_pix=48)
    one = spectrum[0:1]  # a 2-D batch of one, as a one-star file gives
    n = one.flux.shape[-1]
    wide = make_spectrum(flux=np.ones(n) * u.one, spectral_axis=one.spectral_axis,
                         uncertainty=StdDevUncertainty(np.full(n, 10.0)))
    ax = plot_spectrum([one], wide)
    low, high = ax.get_ylim()
    assert -1.0 < low and high < 2.5  # the 10-sigma band does not squeeze the spectrum
    plot_spectrum(one)
    with pytest.raises(SpecfmInputError, match=r"batch of shape \(2, 48\).*\[0\]"):
        plot_spectrum(spectrum)
    with pytest.raises(SpecfmInputError, match="list of 2"):
        plot_spectrum([spectrum[0], spectrum[1]])
    import matplotlib.pyplot as plt

    plt.close("all")


def test_the_masked_dex_one_liner_of_the_docs(tiny_dir):
    table = load(tiny_dir).predict(toy_spectrum(2)[0])
    logg = table["logg"].filled(np.nan * table["logg"].unit)
    assert type(logg) is u.Dex and logg.unit == u.dex(u.cm / u.s**2)
    assert np.allclose(logg.value, table["logg"].unmasked.value)
