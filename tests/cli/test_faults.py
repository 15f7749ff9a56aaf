"""Faults during a survey run: the process killed outright, a Dask worker killed.

Issue 21's fault cases that need real processes (the full and read-only disk are in
``test_predict_files.py``). Each run is compared with a run that met no fault: every
file's rows are there once, in file order, with the same labels.
"""

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from specfm.inference import predict_files
from specfm.inference.output import read_table

from .conftest import write_toy_fits

_RUN_CLI = "import sys; from specfm.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.fixture
def many_files(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    return [write_toy_fits(folder / f"toy{i:03d}.fits", seed=i) for i in range(40)]


def _rows(path):
    try:
        return len(read_table(path))
    except FileNotFoundError:
        return 0


def _same_rows(table, reference):
    assert list(table["file"]) == list(reference["file"])  # each file once, in order
    assert list(table["index"]) == list(reference["index"])
    for name in ("teff", "teff_err", "logg", "logg_err"):
        assert np.allclose(table[name].unmasked.value, reference[name].unmasked.value,
                           rtol=1e-6)


def test_sigkill_mid_run_then_rerun_loses_no_row_and_doubles_none(tiny_model, many_files,
                                                                  tmp_path):
    reference = predict_files(many_files, model=tiny_model)
    out = tmp_path / "labels.ecsv"
    command = [sys.executable, "-c", _RUN_CLI, "predict", *map(str, many_files), "--model",
               str(tiny_model), "-o", str(out), "--no-progress"]
    # Written after every file, so that the kill is sure to come between two writes.
    process = subprocess.Popen([*command, "--flush-every", "1"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while _rows(out) == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL, f"the run ended by itself first: {stderr}"
    killed_at = _rows(out)
    assert 0 < killed_at < len(many_files)

    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{killed_at} skipped (already" in again.stderr
    _same_rows(read_table(out), reference)


def _kill_a_busy_worker(client, killed):
    """SIGKILL the process of the first worker seen running a task; its nanny restarts it."""
    pids = client.run(os.getpid)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        busy = [address for address, keys in client.processing().items() if keys]
        if busy:
            os.kill(pids[busy[0]], signal.SIGKILL)
            killed.append(pids[busy[0]])
            return
        time.sleep(0.005)


def test_a_dask_worker_killed_mid_run_has_its_files_retried(tiny_model, fits_files, tmp_path):
    distributed = pytest.importorskip("distributed")
    files = [*fits_files, *(write_toy_fits(tmp_path / f"more{i}.fits", seed=10 + i)
                            for i in range(7))]
    reference = predict_files(files, model=tiny_model)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    try:
        with distributed.Client(cluster) as client:
            before = set(client.run(os.getpid).values())
            killed = []
            killer = threading.Thread(target=_kill_a_busy_worker, args=(client, killed))
            killer.start()
            out = tmp_path / "labels.ecsv"
            table = predict_files(files, model=tiny_model, client=client, files_per_task=1,
                                  output=out)
            killer.join()
            assert len(killed) == 1 and killed[0] in before
            client.wait_for_workers(2, timeout=60)
            after = set(client.run(os.getpid).values())
            assert killed[0] not in after  # the nanny started a new process in its place
    finally:
        cluster.close()
    assert table.meta["summary"]["failed"] == {}
    _same_rows(table, reference)
    _same_rows(read_table(out), reference)
