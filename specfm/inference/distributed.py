"""Running `~specfm.inference.predict_files` on Dask: tasks of files, one model per worker.

The files are cut into tasks of a few files each. A task names the model by its folder and
sha256 rather than carrying the network: each worker process loads the model the first
time, keeps it (`worker_model`), and checks that the weights are those the client used.
Results come back as tables as the tasks finish; `~specfm.inference.predict_files` puts them
back in the order of the files. Dask (``dask[distributed]``) is an optional dependency,
imported only here.
"""

import math
import os
import threading

from ..exceptions import MissingDependencyError, SpecfmInputError

__all__ = ["dask_outcomes", "import_distributed", "predict_task", "worker_model"]

_MODELS = {}
_LOCK = threading.Lock()
_MAX_FILES_PER_TASK = 32


def import_distributed():
    """Return the ``distributed`` module.

    Raises
    ------
    specfm.exceptions.MissingDependencyError
        When dask.distributed is not installed; the message says what to install.

    """
    try:
        import distributed
    except ImportError as error:
        raise MissingDependencyError(
            "Running on Dask needs dask.distributed: pip install 'specfm[dask]' (or run "
            "without client=/n_workers=, --scheduler/--workers)."
        ) from error
    return distributed


def worker_model(path, sha256, name=None, device=None):
    """Return the model of folder ``path``, loaded once per process and checked by sha256.

    Parameters
    ----------
    path : str
        The model folder (or ``.zip``); it must be readable where this runs.
    sha256 : str or None
        The sha256 of the weights the caller used; a different model is an error.
    name : str, optional
        The model's name (for tables).
    device : str, optional
        Torch device to move it to.

    Returns
    -------
    `~specfm.inference.Model`

    Raises
    ------
    SpecfmInputError
        When the weights found at ``path`` are not those expected.

    """
    from .model import load

    key = (os.path.abspath(path), sha256, name, device)
    with _LOCK:
        model = _MODELS.get(key)
        if model is None:
            model = load(path, name=name)
            if sha256 is not None and model.sha256 != sha256:
                raise SpecfmInputError(
                    f"The model at {path} on this worker has weights with sha256 "
                    f"{str(model.sha256)[:12]}, not {sha256[:12]} as on the client: give the "
                    "workers the same model files."
                )
            if device is not None:
                model.to(device)
            _MODELS[key] = model
    return model


def predict_task(model_spec, items, options, torch_threads=None):
    """Predict the files of one task (runs on a worker).

    Parameters
    ----------
    model_spec : dict
        Arguments of `worker_model`.
    items : list of tuple
        ``(index, path)`` of the files.
    options : `~specfm.inference.one_file.FileOptions`
        How the files are read and predicted.
    torch_threads : int, optional
        Threads torch may use in this worker process.

    Returns
    -------
    list of tuple
        ``(index, FileOutcome)``, one per file.

    """
    from .one_file import FileOutcome, predict_file

    if torch_threads is not None:
        import torch

        torch.set_num_threads(int(torch_threads))
    try:
        model = worker_model(**model_spec)
    except Exception as error:  # report on every file rather than lose the task
        reason = f"{type(error).__name__}: {error}"
        return [(index, FileOutcome(path, error=reason)) for index, path in items]
    return [(index, predict_file(model, path, options)) for index, path in items]


def _available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _model_spec(model, device):
    if model.path is None:
        raise SpecfmInputError(
            f"Model {model.name!r} has no folder, so Dask workers cannot load it: save it with "
            "specfm.model.save_model and pass the folder (or a shipped model's name)."
        )
    return {"path": os.path.abspath(model.path), "sha256": model.sha256, "name": model.name,
            "device": device}


def _n_workers(client):
    try:
        return max(1, len(client.scheduler_info()["workers"]))
    except Exception:  # pragma: no cover - a scheduler that does not say
        return 1


def dask_outcomes(model, todo, options, client=None, n_workers=None, files_per_task=None,
                  device=None):
    """Yield ``(index, FileOutcome)`` for the files of ``todo`` as Dask tasks finish.

    Parameters
    ----------
    model : `~specfm.inference.Model`
        The model (its folder is loaded on the workers).
    todo : list of tuple
        ``(index, path)`` of the files to predict.
    options : `~specfm.inference.one_file.FileOptions`
        How the files are read and predicted.
    client : distributed.Client, optional
        The cluster to use; without one, a local cluster of ``n_workers`` processes is
        started and closed again.
    n_workers : int, optional
        Processes of the local cluster.
    files_per_task : int, optional
        Files per task (default: about four tasks per worker, at most 32 files each).
    device : str, optional
        Torch device on the workers.

    Yields
    ------
    tuple
        ``(index, FileOutcome)``, in the order the tasks finish.

    """
    distributed = import_distributed()
    spec = _model_spec(model, device)
    own, cluster, torch_threads = client is None, None, None
    if own:
        n = int(n_workers)
        if n < 1:
            raise SpecfmInputError(f"n_workers must be a positive integer, not {n_workers!r}.")
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           dashboard_address=":0")  # any free port
        client = distributed.Client(cluster)
        torch_threads = max(1, _available_cores() // n)
    futures = []
    try:
        workers = _n_workers(client)
        size = files_per_task or min(_MAX_FILES_PER_TASK,
                                     max(1, math.ceil(len(todo) / (4 * workers))))
        chunks = [todo[i:i + int(size)] for i in range(0, len(todo), int(size))]
        futures = [client.submit(predict_task, spec, chunk, options, torch_threads, pure=False)
                   for chunk in chunks]
        for future in distributed.as_completed(futures):
            yield from future.result()
    finally:
        if futures:
            client.cancel(futures)
        if own:
            client.close()
            cluster.close()
