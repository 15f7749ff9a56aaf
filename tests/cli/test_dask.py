"""predict_files on a real two-process Dask LocalCluster, and without dask installed."""

import sys

import numpy as np
import pytest

from specfm.cli import main
from specfm.exceptions import MissingDependencyError
from specfm.inference import predict_files
from specfm.inference.output import read_table

distributed = pytest.importorskip("distributed")



@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def _loaded_models():
    from specfm.inference import distributed as module

    return len(module._MODELS)


def test_client_gives_the_serial_rows_in_file_order(client, tiny_model, fits_files, xp_files):
    files = [*fits_files, *xp_files]
    serial = predict_files(files, model=tiny_model)
    spread = predict_files(files, model=tiny_model, client=client, files_per_task=1)
    assert list(spread["file"]) == list(serial["file"])
    assert list(spread["index"]) == list(serial["index"])
    for name in ("teff", "teff_err", "logg", "logg_err"):
        assert np.allclose(spread[name].unmasked.value, serial[name].unmasked.value,
                           rtol=1e-6)
    assert spread.meta["summary"]["done"] == len(files)
    # Seven tasks over two workers: each worker process loaded the model once.
    assert set(client.run(_loaded_models).values()) == {1}


def test_client_run_resumes_and_reports_bad_files(client, tiny_model, fits_files, tmp_path):
    bad = tmp_path / "broken.fits"
    bad.write_text("not a FITS file")
    out = tmp_path / "labels.ecsv"
    predict_files(fits_files[:2], model=tiny_model, output=out, client=client)
    table = predict_files([*fits_files, bad], model=tiny_model, output=out, client=client,
                          files_per_task=2)
    assert table.meta["summary"]["skipped"] == 2
    assert set(table.meta["summary"]["failed"]) == {str(bad)}
    assert len(read_table(out)) == 5 and len(set(read_table(out)["file"])) == 5


def test_cli_scheduler_address(client, tiny_model, fits_files, tmp_path, capsys):
    out = tmp_path / "labels.ecsv"
    assert main(["predict", *map(str, fits_files), "--model", str(tiny_model), "-o", str(out),
                 "--scheduler", client.scheduler.address, "--no-progress"]) == 0
    assert "5 files done" in capsys.readouterr().err
    assert list(read_table(out)["file"]) == [str(p) for p in fits_files]


def test_cli_workers_maps_to_n_workers(monkeypatch, tmp_path):
    seen = {}

    def fake(paths, **kwargs):
        seen.update(kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr("specfm.cli.predict.predict_files", fake)
    assert main(["predict", "x.fits", "--workers", "2", "--files-per-task", "3"]) == 130
    assert seen["n_workers"] == 2 and seen["files_per_task"] == 3 and seen["client"] is None


def test_n_workers_starts_and_closes_a_local_cluster(tiny_model, fits_files):
    """One worker process keeps this quick; the two-worker case is tested with ``client``."""
    table = predict_files(fits_files, model=tiny_model, n_workers=1)
    assert list(table["file"]) == [str(p) for p in fits_files]
    assert table.meta["summary"]["done"] == 5


def test_model_without_folder_cannot_go_to_workers(client, tiny_model, fits_files):
    from specfm.inference import Model, load

    loaded = load(tiny_model)
    orphan = Model(loaded.network, name="orphan")
    with pytest.raises(Exception, match="no folder"):
        predict_files(fits_files, model=orphan, client=client)


def test_missing_dask_is_a_clear_error(tiny_model, fits_files, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingDependencyError, match=r"specfm\[dask\]"):
        predict_files(fits_files, model=tiny_model, n_workers=2)
