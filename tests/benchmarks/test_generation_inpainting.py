"""The star-by-star comparison of ``benchmarks/generation_inpainting.py --against``."""

import astropy.units as u
import numpy as np
import pytest

from ..conftest import benchmark_modules


@pytest.fixture(scope="module")
def gen():
    with benchmark_modules("generation_inpainting") as (module,):
        yield module


def _rows(gen, scale=1.0, shift=0.0, n=40):
    rng = np.random.default_rng(0)
    errors = rng.lognormal(-5, 0.5, n)
    regions = [[lo, lo + 30.0] * u.AA for lo in rng.uniform(15200, 16900, n) + shift]
    inpainting = {0: errors * scale}
    return [gen.generation_row("synthetic APOGEE", errors * scale, errors * 2),
            *gen.inpainting_rows("synthetic APOGEE", "in-painting 30 A", inpainting,
                                 errors * 3, regions)]


def test_star_table_keeps_each_star_and_gap(gen):
    rows = _rows(gen)
    stars = gen.star_table(rows)
    assert len(stars) == 80
    generation = stars[stars["task"] == "generation"]
    assert np.all(np.isnan(generation["gap_start"]))
    gaps = stars[stars["task"] == "in-painting 30 A"]["gap_start"]
    np.testing.assert_allclose(gaps, [r[0].value for r in
                                      [[lo, lo + 30] * u.AA for lo in gaps]])
    np.testing.assert_allclose(generation["model_error"], rows[0]["errors"])


def test_compare_stars_pairs_the_same_stars(gen):
    old = gen.star_table(_rows(gen))
    same = gen.compare_stars(gen.star_table(_rows(gen)), old)
    assert [r["task"] for r in same] == ["generation", "in-painting 30 A"]
    for r in same:
        assert r["difference"] == r["low"] == r["high"] == 0
    worse = gen.compare_stars(gen.star_table(_rows(gen, scale=1.1)), old)
    for r in worse:
        assert r["low"] > 0
        assert r["model_mae"] == pytest.approx(1.1 * r["against_mae"])


def test_compare_stars_refuses_other_gaps_or_stars(gen):
    old = gen.star_table(_rows(gen))
    with pytest.raises(SystemExit, match="same stars and gaps"):
        gen.compare_stars(gen.star_table(_rows(gen, shift=5.0)), old)
    with pytest.raises(SystemExit, match="same stars and gaps"):
        gen.compare_stars(gen.star_table(_rows(gen, n=30)), old)
