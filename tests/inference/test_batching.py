"""Model.predict: input containers, batch sizes, one pass and chunks, a trained model."""

import numpy as np
import pytest
from specutils import SpectrumCollection, SpectrumList

from specfm.inference import load
from specfm.model import combine_rows

from .conftest import toy_spectrum


def _collection(spec):
    axis = np.tile(spec.spectral_axis.value, (spec.flux.shape[0], 1)) * spec.spectral_axis.unit
    return SpectrumCollection(flux=spec.flux, spectral_axis=axis, uncertainty=spec.uncertainty)


def _values(table, name="teff"):
    return table[name].unmasked.value


def test_containers_give_the_same_rows(tiny_dir):
    model = load(tiny_dir)
    spec, *_ = toy_spectrum(5)
    reference = model.predict(spec)
    singles = [spec[i] for i in range(5)]
    for spectra in (singles, SpectrumList(singles), [spec[:2], spec[2], spec[3:]],
                    _collection(spec)):
        table = model.predict(spectra, batch_size=2)
        assert len(table) == 5
        assert np.allclose(_values(table), _values(reference), rtol=1e-6)
        assert np.allclose(_values(table, "logg_err"), _values(reference, "logg_err"),
                           rtol=1e-6)


@pytest.mark.parametrize("method", ["one_pass", "chunked"])
def test_batch_size_does_not_change_results(tiny_dir, method):
    model = load(tiny_dir)
    spec, *_ = toy_spectrum(9)
    kwargs = dict(method=method, chunk_size=16, progress=False)
    tables = [model.predict(spec, batch_size=b, **kwargs) for b in (1, 4, 64)]
    for table in tables[1:]:
        for name in ("teff", "teff_err", "logg", "logg_err"):
            assert np.allclose(_values(table, name), _values(tables[0], name), rtol=1e-6,
                               atol=0)


def test_per_spectrum_velocities_follow_their_spectra(tiny_dir):
    import astropy.units as u

    model = load(tiny_dir)
    spec, *_ = toy_spectrum(5)
    rv = [-300.0, -100.0, 0.0, 100.0, 300.0] * u.km / u.s
    tables = [model.predict(spec, radial_velocity=rv, batch_size=b) for b in (2, 5)]
    assert np.allclose(_values(tables[0]), _values(tables[1]), rtol=1e-6)
    single = model.predict(spec[4], radial_velocity=rv[4])
    assert np.allclose(_values(single), _values(tables[0])[4], rtol=1e-6)
    assert not np.allclose(_values(model.predict(spec[4])), _values(single), rtol=1e-6)


def test_chunked_with_one_chunk_equals_one_pass(tiny_dir):
    model = load(tiny_dir)
    spec, *_ = toy_spectrum(3)
    one = model.predict(spec)
    chunked = model.predict(spec, method="chunked", chunk_size=512)
    assert chunked.meta["method"] == "chunked" and chunked.meta["chunk_size"] == 512
    assert np.allclose(_values(one), _values(chunked), rtol=1e-5)
    several = model.predict(spec, method="chunked", chunk_size=10)
    assert not np.allclose(_values(one), _values(several), rtol=1e-5)
    again = model.predict(spec, method="chunked", chunk_size=10)
    assert np.array_equal(_values(several), _values(again))  # seeded


def test_progress_bar(tiny_dir, capsys):
    model = load(tiny_dir)
    spec, *_ = toy_spectrum(3)
    model.predict(spec, batch_size=1, progress=True)
    assert "specfm tiny-ir" in capsys.readouterr().err
    model.predict(spec, batch_size=1)  # three batches: no bar by default
    assert capsys.readouterr().err == ""


def test_combine_rows_mixture():
    import torch

    mean = torch.tensor([[1.0], [3.0], [5.0]], dtype=torch.float64)
    logvar = torch.log(torch.tensor([[1.0], [1.0], [4.0]], dtype=torch.float64))
    avg, var = combine_rows(mean, logvar, torch.tensor([0, 0, 1]), 3)
    assert avg[:2, 0].tolist() == [2.0, 5.0] and var[:2, 0].tolist() == [2.0, 4.0]
    assert torch.isnan(avg[2, 0])  # a spectrum with no rows


def test_trained_model_predicts_the_toy_label(trained_dir):
    """teff sets the line depths; a briefly trained model must recover it on new stars."""
    model = load(trained_dir)
    spec, z_teff, _ = toy_spectrum(60, seed=123)
    table = model.predict(spec)
    truth = z_teff * 1000 + 5000
    rmse = np.sqrt(np.mean((_values(table) - truth) ** 2))
    # predicting the mean gives ~1000 K (teff is scaled by 1000 K); we reach ~230 K
    assert rmse < 450, rmse
    assert np.corrcoef(_values(table), truth)[0, 1] > 0.85
    # the uncertainty is in kelvin and of the order of the actual error
    assert 0.2 * rmse < np.median(_values(table, "teff_err")) < 5 * rmse


def test_long_rows_are_read_a_few_at_a_time_with_the_same_results(tiny_dir, monkeypatch):
    import specfm.inference.model as model_module

    model = load(tiny_dir)
    spec, *_ = toy_spectrum(7)  # 48 pixels a row
    reference = model.predict(spec, max_tokens=None, batch_size=7)
    calls = []
    real = model.network.forward

    def spy(tokens, queries, *args, **kwargs):
        calls.append(tuple(tokens.valid.shape))
        return real(tokens, queries, *args, **kwargs)

    monkeypatch.setattr(model.network, "forward", spy)
    monkeypatch.setattr(model_module, "TOKENS_PER_CALL", 100)  # two 48-token rows a call
    table = model.predict(spec, max_tokens=None, batch_size=7)
    assert [rows for rows, _ in calls] == [2, 2, 2, 1]
    assert all(rows * width <= 100 for rows, width in calls)
    assert np.allclose(_values(table), _values(reference), rtol=1e-6)
    assert np.allclose(_values(table, "logg_err"), _values(reference, "logg_err"), rtol=1e-6)
    monkeypatch.setattr(model_module, "TOKENS_PER_CALL", 10)  # a row longer than the budget
    calls.clear()
    model.predict(spec, max_tokens=None, batch_size=7)
    assert [rows for rows, _ in calls] == [1] * 7


def test_rows_per_call_keeps_to_both_limits():
    from specfm.inference.model import ROWS_PER_CALL, TOKENS_PER_CALL, rows_per_call

    assert rows_per_call(8) == ROWS_PER_CALL
    assert rows_per_call(TOKENS_PER_CALL // 3) == 3
    assert rows_per_call(10 * TOKENS_PER_CALL) == 1
    assert rows_per_call(0) == ROWS_PER_CALL
