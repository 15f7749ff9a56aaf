"""Integration: each real survey file against the reference its header (or the literature) gives.

The cases and tolerances are those of ``benchmarks/real_file_references.py`` (which writes
the table of the model card). The stars the shipped models miss are expected failures,
strictly: when a better ``specfm-base`` starts to pass one, this test says so, and the
marker, the benchmark table and the model card (``docs/models.rst``) are updated together.
"""

import pytest

from specfm.inference import load_pretrained
from specfm.pretrained import available_models

from ..conftest import benchmark_modules

pytestmark = pytest.mark.integration

MISSES = {
    "apVisit-r13-5095-55844-128.fits": "specfm-base v6: 7,006 K against 6,500 K",
    "apVisit-r13-9518-57729-104.fits": "specfm-base v6: 4,971 K against 4,500 K",
    "18Sco-XP-spectra.csv": "specfm-xp: 4,740 K against 5,810 K (no colours in the file)",
}
NAMES = ["apStar-dr17-2M17335483-2753043.fits", "apStar-dr17-2M19485057+5005279.fits",
         "apVisit-r13-5095-55844-128.fits", "apVisit-r13-9518-57729-104.fits",
         "18Sco-XP-spectra.csv"]


@pytest.fixture(scope="module")
def references():
    """The benchmark's cases, imported the way the scripts import their helpers."""
    with benchmark_modules("real_file_references") as (module,):
        yield module


@pytest.fixture(scope="module")
def models():
    if not {"specfm-base", "specfm-xp"} <= set(available_models()):
        pytest.skip("the shipped models are not in specfm/pretrained/models")
    return {"base": load_pretrained("specfm-base"), "xp": load_pretrained("specfm-xp")}


def test_every_case_is_tested(references):
    assert [case[0] for case in references.CASES] == NAMES


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=[pytest.mark.xfail(strict=True, raises=AssertionError,
                                                reason=MISSES[name])] if name in MISSES else [])
    for name in NAMES])
def test_labels_near_the_reference(shared_data, references, models, name):
    case = next(c for c in references.CASES if c[0] == name)
    if name.endswith(".csv"):
        pytest.importorskip("gaiaxpy")
    reference, prediction, _ = references.predict_case(case, shared_data, models)
    off = {k: abs(prediction[k] - reference[k]) for k in references.TOLERANCE}
    assert all(off[k] <= tol for k, tol in references.TOLERANCE.items()), (off, reference)
