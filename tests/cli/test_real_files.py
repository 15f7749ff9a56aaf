"""Integration: ``specfm predict`` on the real survey files of the shared data."""

import pytest

from specfm.cli import main
from specfm.inference.output import read_table
from specfm.pretrained import available_models

from ..conftest import REAL_FILES

pytestmark = pytest.mark.integration

MODEL = "specfm-base"  # covers every wavelength; specfm-xp reads Gaia XP only


@pytest.fixture(scope="module")
def shipped():
    if MODEL not in available_models():
        pytest.skip(f"the shipped model {MODEL} is not in specfm/pretrained/models")
    return MODEL


def test_every_real_file_is_identified_predicted_or_reported(shared_data, shipped, tmp_path,
                                                              capsys):
    out = tmp_path / "labels.fits"
    pattern = str(shared_data / "real_spectra" / "*")
    assert main(["predict", pattern, "--model", shipped, "-o", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    table = read_table(out)
    names = {p.split("/")[-1] for p in table["file"]}
    assert set(REAL_FILES) <= names
    assert (table["flag"] & 2 == 0).all()
    assert (table["n_tokens"] > 0).all()
    # the archive's XP coefficient files are sampled through GaiaXPy when it is installed
    continuous = ("XP_CONTINUOUS_RAW.csv", "18Sco-XP-spectra.csv")
    try:
        import gaiaxpy  # noqa: F401
    except ImportError:
        assert "3 failed" in err
    else:
        assert "1 failed" in err and {"XP_CONTINUOUS_RAW.csv", "18Sco-XP-spectra.csv"} <= {
            p.split("/")[-1] for p in table["file"]}
        assert not any(f"{name}: " in err for name in continuous)


@pytest.mark.parametrize("fmt", sorted(set(REAL_FILES.values())))
def test_explicit_format(shared_data, shipped, fmt, tmp_path, capsys):
    files = [str(shared_data / "real_spectra" / n) for n, f in REAL_FILES.items() if f == fmt]
    out = tmp_path / "labels.ecsv"
    assert main(["predict", *files, "--format", fmt, "--model", shipped, "-o", str(out),
                 "--no-progress"]) == 0
    table = read_table(out)
    assert sorted(set(table["file"])) == sorted(files)
    assert "0 failed" in capsys.readouterr().err


def test_strict_fails_on_the_continuous_xp_files_read_as_sampled(shared_data, shipped, tmp_path,
                                                                 capsys):
    files = [str(shared_data / "real_spectra" / n)
             for n in ("XP_CONTINUOUS_RAW.csv", "18Sco-XP-spectra.csv")]
    args = ["predict", *files, "--format", "Gaia XP sampled", "--model", shipped,
            "--no-progress"]
    # every file fails: exit 1 with or without --strict, and nothing is written
    assert main([*args, "-o", str(tmp_path / "a.ecsv")]) == 1
    assert "format='Gaia XP continuous'" in capsys.readouterr().err
    assert main([*args, "-o", str(tmp_path / "b.ecsv"), "--strict"]) == 1
    assert not (tmp_path / "a.ecsv").exists() and not (tmp_path / "b.ecsv").exists()
