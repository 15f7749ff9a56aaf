"""Appending to an ECSV output, and cutting off an append that a crash interrupted."""

import io

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable
from astropy.utils.masked import Masked

from specfm.inference import output


def _rows(files, teff, meta=None):
    mask = np.isnan(teff)
    return QTable({"file": files, "teff": Masked(np.nan_to_num(teff) * u.K, mask=mask)},
                  meta=meta or {"model": "m"})


def test_appended_rows_read_back_with_their_masks(tmp_path):
    out = tmp_path / "labels.ecsv"
    output.write_table_atomic(_rows(["a", "b"], np.array([5000.0, np.nan])), out, mark=True)
    assert output.append_table(_rows(["c"], np.array([4000.0])), out)
    back = output.read_table(out)
    assert list(back["file"]) == ["a", "b", "c"]
    assert back["teff"].mask.tolist() == [False, True, False]
    assert back.meta == {"model": "m"}
    assert output.repair_appended(out) == 0  # it ends with a complete write


@pytest.mark.parametrize("other", [
    QTable({"file": ["c"], "teff": [4000.0] * u.K, "logg": [2.0]}, meta={"model": "m"}),
    _rows(["c"], np.array([4000.0]), meta={"model": "another"}),
])
def test_rows_with_another_header_are_not_appended(tmp_path, other):
    out = tmp_path / "labels.ecsv"
    output.write_table_atomic(_rows(["a"], np.array([5000.0])), out, mark=True)
    before = out.read_bytes()
    assert not output.append_table(other, out)
    assert out.read_bytes() == before


@pytest.mark.parametrize("cut", [1, 9, 30])
def test_repair_cuts_back_to_the_last_complete_write(tmp_path, cut):
    out = tmp_path / "labels.ecsv"
    output.write_table_atomic(_rows(["a"], np.array([5000.0])), out, mark=True)
    output.append_table(_rows(["b"], np.array([4000.0])), out)
    good = out.read_bytes()
    output.append_table(_rows(["c"], np.array([4500.0])), out)
    out.write_bytes(out.read_bytes()[:-cut])  # the last append (or its mark line) cut short
    torn = len(out.read_bytes())
    assert output.repair_appended(out) == torn - len(good)
    assert out.read_bytes() == good
    assert list(output.read_table(out)["file"]) == ["a", "b"]


def test_the_last_mark_is_found_across_blocks():
    text = b"x" * 50 + b"\n# specfm: complete write of 3 rows\n" + b"y" * 20
    for block in (3, 7, 16, 1 << 20):
        kept = output._end_of_last_mark(io.BytesIO(text), len(text), block=block)
        assert kept == len(text) - 20
    assert output._end_of_last_mark(io.BytesIO(b"no mark\n"), 8) is None


def test_a_file_written_whole_is_left_alone(tmp_path):
    out = tmp_path / "labels.ecsv"
    output.write_table_atomic(_rows(["a"], np.array([5000.0])), out)  # no mark
    before = out.read_bytes()
    assert output.repair_appended(out) == 0 and out.read_bytes() == before
    assert output.repair_appended(tmp_path / "labels.fits") == 0
