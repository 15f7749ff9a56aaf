"""Non-spectral inputs (colours, known labels) become tokens."""

import astropy.units as u
import numpy as np
import pytest
import torch
from astropy.table import MaskedColumn, QTable, Table

from specfm import TokenKind, tokenize
from specfm.exceptions import FluxUnitError, ShapeMismatchError, SpecfmInputError
from specfm.tokens import DEFAULT_VOCABULARY as VOCAB

from .helpers import line_spectrum


def extra_part(batch, row, n_extra):
    n = int(batch.reports[batch.spectrum_index[row]].n_valid)
    cols = slice(n, n + n_extra)
    return (
        batch.kind[row, cols],
        batch.ident[row, cols],
        batch.value[row, cols],
        batch.valid[row, cols],
        batch.error[row, cols],
    )


def test_colours_and_labels_are_appended_with_kind_and_scaling():
    spec = line_spectrum(n_rows=2)
    inputs = {
        "bp_rp": [1.7, 0.7] * u.mag,
        "logg": [2.5, 4.0] * u.dex(u.cm / u.s**2),
        "logg_err": [0.1, 0.2] * u.dex,
        "teff": 4500 * u.K,
    }
    batch = tokenize(spec, inputs=inputs)
    assert batch.n_tokens == 2000 + 3
    kind, ident, value, valid, error = extra_part(batch, 0, 3)
    assert kind.tolist() == [TokenKind.COLOUR, TokenKind.LABEL, TokenKind.LABEL]
    assert ident.tolist() == [VOCAB.index("bp_rp"), VOCAB.index("logg"), VOCAB.index("teff")]
    spec_logg, spec_bp = VOCAB["logg"], VOCAB["bp_rp"]
    assert float(value[0]) == pytest.approx((1.7 - spec_bp.offset) / spec_bp.scale)
    assert float(value[1]) == pytest.approx((2.5 - spec_logg.offset) / spec_logg.scale)
    assert float(error[1]) == pytest.approx(0.1 / spec_logg.scale)
    assert float(error[0]) == pytest.approx(1e-3)  # no error given: exact, floored
    assert valid.all()
    assert batch.reports[1].n_inputs == 3
    _, _, value1, _, _ = extra_part(batch, 1, 3)
    assert float(value1[1]) == pytest.approx((4.0 - spec_logg.offset) / spec_logg.scale)


def test_units_are_converted_and_plain_numbers_taken_in_vocabulary_unit():
    spec = line_spectrum()
    a = tokenize(spec, inputs={"teff": 4.5 * u.kK})
    b = tokenize(spec, inputs={"teff": 4500.0})
    assert torch.allclose(a.value, b.value)


def test_masked_inputs_make_no_token():
    spec = line_spectrum(n_rows=2)
    table = Table({"j_k": MaskedColumn([0.8, 0.0], mask=[False, True], unit=u.mag)})
    batch = tokenize(spec, inputs=table)
    assert batch.reports[0].n_inputs == 1 and batch.reports[1].n_inputs == 0
    _, ident, _, valid, _ = extra_part(batch, 1, 1)
    assert not valid.any() and int(ident[0]) == -1
    qtable = QTable({"j_k": [0.8, np.nan] * u.mag})
    assert tokenize(spec, inputs=qtable).reports[1].n_inputs == 0


def test_chunked_rows_all_get_the_inputs():
    batch = tokenize(line_spectrum(), inputs={"h_k": 0.1}, max_tokens=512, cap_mode="chunk")
    assert batch.n_rows == 4
    assert int((batch.kind == TokenKind.COLOUR).sum()) == 4


def test_unknown_input_name():
    with pytest.raises(SpecfmInputError, match="not in the vocabulary"):
        tokenize(line_spectrum(), inputs={"colour_x": 1.0})


def test_inputs_of_wrong_length():
    with pytest.raises(ShapeMismatchError, match="one per spectrum"):
        tokenize(line_spectrum(n_rows=2), inputs={"bp_rp": [1, 2, 3]})


def test_input_in_wrong_unit():
    with pytest.raises(FluxUnitError, match="cannot be converted"):
        tokenize(line_spectrum(), inputs={"teff": 3 * u.m})
