"""The plotting helpers draw what they say on the Axes they return, and never show."""

import astropy.units as u
import matplotlib
import numpy as np
import pytest
from astropy.nddata import StdDevUncertainty
from astropy.table import QTable

import specfm
from specfm._compat import make_spectrum
from specfm.exceptions import SpecfmInputError

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def attention_table():
    wave = np.linspace(15740.0, 15780.0, 80)
    weight = np.exp(-0.5 * ((wave - 15753.0) / 1.0) ** 2)
    table = QTable({"spectrum_index": np.zeros(80, int), "wavelength": wave * u.AA,
                    "flux": 1 - 0.3 * weight, "mg_fe": weight / weight.sum() * u.one})
    table.meta.update({"labels": ["mg_fe"], "model": "toy"})
    return table


def test_plot_attention_marks_the_lines_of_the_label_element():
    ax = specfm.plot_attention(attention_table())
    marked = [line.get_xdata()[0] for line in ax.get_lines()[1:]]
    # the Mg I lines in 15740-15780 A (strong_lines), and nothing else
    expected = specfm.data.strong_lines("Mg", [15740, 15780] * u.AA)["wavelength"].value
    np.testing.assert_allclose(sorted(marked), sorted(expected))
    assert len(expected) >= 3
    twin = ax.attention_axes
    assert twin.get_ylabel() == "attention of mg_fe"
    with pytest.raises(SpecfmInputError, match="no attention for 'fe_h'"):
        specfm.plot_attention(attention_table(), label="fe_h")


def test_plot_spectrum_overlays_model_band_and_inpainted_region():
    wave = np.linspace(5000, 5100, 50) * u.AA
    obs = make_spectrum(flux=np.ones(50) * u.one, spectral_axis=wave)
    filled = np.zeros(50, bool)
    filled[10:20] = True
    model = make_spectrum(flux=np.full(50, 0.9) * u.one, spectral_axis=wave,
                          uncertainty=StdDevUncertainty(np.full(50, 0.05)),
                          meta={"inpainted": filled})
    _, ax = plt.subplots()
    out = specfm.plot_spectrum(obs, model, ax=ax)
    assert out is ax
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(labels) == sorted(["observed", "model", "observed - model + 0.2", "in-painted"])
    resid = ax.get_lines()[2].get_ydata()
    np.testing.assert_allclose(resid, 0.2 + 0.1)


def test_predicted_vs_reference_reports_bias_and_scatter():
    rng = np.random.default_rng(0)
    ref = QTable({"teff": rng.normal(5000, 500, 200) * u.K})
    pred = QTable({"teff": ref["teff"] + 30 * u.K + rng.normal(0, 50, 200) * u.K})
    pred.meta["labels"] = ["teff"]
    axes = specfm.plot_predicted_vs_reference(pred, ref)
    assert axes.shape == (2, 1)
    title = axes[0, 0].get_title()
    bias = float(title.split("bias ")[1].split(",")[0])
    scatter = float(title.split("scatter ")[1])
    assert 15 < bias < 45 and 35 < scatter < 65
    with pytest.raises(SpecfmInputError, match="row for row"):
        specfm.plot_predicted_vs_reference(pred, ref[:10])


def test_kiel_diagram_reverses_axes_and_skips_masked_rows():
    teff = np.ma.MaskedArray([4000.0, 5000.0, 6000.0], mask=[False, True, False])
    table = QTable({"teff": teff, "logg": [1.0, 3.0, 4.5], "fe_h": [-0.5, 0.0, 0.2]})
    ax = specfm.plot_kiel(table)
    assert ax.xaxis_inverted() and ax.yaxis_inverted()
    assert len(ax.collections[0].get_offsets()) == 2
    with pytest.raises(SpecfmInputError, match="needs teff and logg"):
        specfm.plot_kiel(QTable({"teff": [1.0]}))
