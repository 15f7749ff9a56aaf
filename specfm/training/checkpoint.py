"""Training checkpoints without pickle: tensors in safetensors, everything else in JSON.

A checkpoint is a folder ``step_00001234/`` holding

* ``state.safetensors``: model weights (``model.*``), optimizer tensors
  (``optimizer.<param index>.<name>``) and, when early stopping keeps one, the best
  weights so far (``best.*``);
* ``rng_rank<r>.safetensors``: each process's random-number states;
* ``state.json``: step, epoch, position in the epoch, scheduler and optimizer settings,
  early-stopping counters, history, the model configuration, and the sha256 of
  ``state.safetensors``.
"""

import json
import pathlib
import shutil

import torch
from safetensors.torch import load as load_bytes
from safetensors.torch import save

from ..exceptions import SpecfmInputError
from ..model.storage import sha256_bytes

__all__ = [
    "CheckpointError",
    "latest_checkpoint",
    "optimizer_from_flat",
    "optimizer_to_flat",
    "read_checkpoint",
    "read_rng",
    "write_checkpoint",
    "write_rng",
]


class CheckpointError(SpecfmInputError):
    """A checkpoint folder that is missing, incomplete or corrupted."""


def optimizer_to_flat(state_dict):
    """Split an optimizer ``state_dict`` into flat tensors and a JSON-able rest."""
    tensors = {}
    for index, entries in state_dict["state"].items():
        for name, value in entries.items():
            value = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"optimizer.{index}.{name}"] = value.detach().cpu().contiguous()
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()}
              for g in state_dict["param_groups"]]
    return tensors, groups


def optimizer_from_flat(tensors, groups):
    """Inverse of `optimizer_to_flat`."""
    state = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in groups]
    return {"state": state, "param_groups": groups}


def write_rng(folder, rank, states):
    """Write one process's RNG states (a dict of uint8 tensors)."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"rng_rank{rank}.safetensors").write_bytes(
        save({k: v.cpu().contiguous() for k, v in states.items()}))


def read_rng(folder, rank):
    """Read what `write_rng` wrote for ``rank``."""
    path = pathlib.Path(folder) / f"rng_rank{rank}.safetensors"
    if not path.exists():
        raise CheckpointError(f"{path} is missing: resume with as many processes as the run "
                              "that wrote the checkpoint.")
    return load_bytes(path.read_bytes())


def write_checkpoint(folder, tensors, state, keep=None):
    """Write ``tensors`` and the JSON ``state`` into ``folder`` (replacing it).

    Parameters
    ----------
    folder : path-like
        ``.../step_XXXXXXXX``.
    tensors : dict of str to torch.Tensor
        Everything tensor-valued.
    state : dict
        JSON-serialisable rest.
    keep : int or None
        Keep only this many newest ``step_*`` folders next to ``folder``.

    """
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = save({k: v.detach().cpu().contiguous() for k, v in tensors.items()})
    (folder / "state.safetensors").write_bytes(data)
    state = dict(state, sha256=sha256_bytes(data))
    tmp = folder / "state.json.tmp"
    tmp.write_text(json.dumps(state, indent=1))
    tmp.replace(folder / "state.json")  # state.json appears last: its presence = complete
    if keep:
        done = sorted(p for p in folder.parent.glob("step_*") if (p / "state.json").exists())
        for old in done[:-int(keep)]:
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)


def read_checkpoint(folder):
    """Return ``(tensors, state)`` from a checkpoint folder, checking the sha256.

    Raises
    ------
    CheckpointError
        If files are missing or the tensors do not match their checksum.

    """
    folder = pathlib.Path(folder)
    try:
        state = json.loads((folder / "state.json").read_text())
        data = (folder / "state.safetensors").read_bytes()
    except FileNotFoundError as err:
        raise CheckpointError(f"{folder} is not a complete checkpoint: {err}.") from None
    if sha256_bytes(data) != state.get("sha256"):
        raise CheckpointError(f"{folder}/state.safetensors does not match its sha256; the "
                              "checkpoint is corrupted. Resume from an earlier one.")
    return load_bytes(data), state


def latest_checkpoint(directory):
    """Return the newest complete ``step_*`` folder in ``directory``, or None."""
    done = sorted(p for p in pathlib.Path(directory).glob("step_*")
                  if (p / "state.json").exists())
    return done[-1] if done else None
