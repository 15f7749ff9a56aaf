"""Matching the rows of an inputs table to the spectra of a file, slice by slice."""

import astropy.units as u
import numpy as np
from astropy.table import QTable

from specfm.inference import inputs_table
from specfm.inference.reading import piece_position


class _Piece:
    def __init__(self, **meta):
        self.meta = meta


def test_source_ids_are_matched_in_any_order_and_the_last_duplicate_wins():
    table = QTable({"source_id": [30, 10, 20, 10], "bp_rp": [3.0, 1.0, 2.0, 1.5] * u.mag})
    rows = inputs_table._rows_for(table, "x.fits", [10, 99, 30, 20], 4)
    assert rows.tolist() == [3, -1, 0, 2]


def test_the_source_index_is_built_once_per_table(monkeypatch):
    table = QTable({"source_id": np.arange(100, 0, -1), "bp_rp": np.ones(100) * u.mag})
    built = []
    real = np.argsort

    def counting(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(inputs_table.np, "argsort", counting)
    for start in range(0, 100, 10):  # ten slices of one file
        ids = np.arange(100, 0, -1)[start:start + 10]
        assert inputs_table._rows_for(table, "x.fits", ids, 10).tolist() == list(
            range(start, start + 10))
    assert len(built) == 1
    other = QTable(table)  # another table is indexed on its own
    assert inputs_table._rows_for(other, "x.fits", [1], 1).tolist() == [99]
    assert len(built) == 2


def test_an_empty_table_matches_nothing():
    table = QTable({"source_id": np.array([], np.int64), "bp_rp": np.array([]) * u.mag})
    assert inputs_table._rows_for(table, "x.fits", [1, 2], 2).tolist() == [-1, -1]


def test_piece_position_reads_the_slice_of_a_file():
    assert piece_position(_Piece(first_index=14, rows_in_file=25)) == (14, 25)
    assert piece_position(_Piece()) == (0, None)
    assert piece_position(object()) == (0, None)
