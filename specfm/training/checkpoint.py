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
    "checkpoint_progress",
    "checkpoint_step",
    "latest_checkpoint",
    "model_state",
    "newest_checkpoint",
    "optimizer_from_flat",
    "optimizer_to_flat",
    "read_checkpoint",
    "read_rng",
    "write_checkpoint",
    "write_resume_point",
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


def model_state(tensors):
    """Return the network's ``state_dict`` from the tensors of `read_checkpoint`."""
    return {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}


def checkpoint_step(folder):
    """Return the step of a complete checkpoint folder, or None if it is not one."""
    path = pathlib.Path(folder) / "state.json"
    if not path.exists():
        return None
    try:
        return int(json.loads(path.read_text())["step"])
    except (ValueError, KeyError, TypeError):
        return None


def checkpoint_progress(folder):
    """How far the run of a complete checkpoint folder had come, and whether it had ended.

    Parameters
    ----------
    folder : path-like
        A checkpoint folder (with its ``state.json``).

    Returns
    -------
    finished : bool
        Whether the checkpoint is the end of its run: it stopped early, or it reached
        ``max_steps``, or (a run counted in epochs) its epoch count reached ``epochs``.
        A run counted in epochs writes its checkpoints within its epochs, before each is
        closed, so in practice it counts as finished only once it stopped early.
    where : str
        The step and the end, in words (``"step 39,497 of 100,000"``), for messages.

    """
    state = json.loads((pathlib.Path(folder) / "state.json").read_text())
    trainer = state.get("trainer") or {}
    step, max_steps = int(state["step"]), trainer.get("max_steps")
    if max_steps is not None:
        where = f"step {step:,} of {int(max_steps):,}"
        reached = step >= int(max_steps)
    else:
        epochs = trainer.get("epochs")
        where = f"step {step:,}, epoch {int(state['epoch']):,} of {epochs}"
        reached = epochs is not None and int(state["epoch"]) >= int(epochs)
    return bool(state.get("stopped_early")) or reached, where


def newest_checkpoint(*folders):
    """Return the complete checkpoint with the highest step among some candidates.

    Parameters
    ----------
    *folders : path-like or None
        Checkpoint folders (a resume point, whose ``.new``/``.old`` spares left by an
        interrupted ``write_resume_point`` are considered too) or directories of ``step_*``
        folders; None and missing paths are skipped.

    Returns
    -------
    pathlib.Path or None
        The newest complete checkpoint (the first given wins a tie), or None.

    """
    best, best_step = None, None
    for folder in folders:
        if folder is None:
            continue
        folder = pathlib.Path(folder)
        # a resume point cut short between its two renames (`write_resume_point`)
        spares = [folder.with_name(folder.name + end) for end in (".new", ".old")]
        for path in [folder, *spares]:
            candidate = path if checkpoint_step(path) is not None else latest_checkpoint(path)
            step = checkpoint_step(candidate) if candidate is not None else None
            if step is not None and (best_step is None or step > best_step):
                best, best_step = candidate, step
    return best


def write_resume_point(checkpoint, resume_point):
    """Copy a complete checkpoint folder to ``resume_point``, replacing it in place.

    The copy is written beside the target and swapped in by renaming, so the resume point
    is at every moment either the previous complete checkpoint or the new one (after a
    crash between the two renames, the previous one is kept as ``<name>.old`` and
    `newest_checkpoint` still finds the newer copy). Only the checkpoint's files are
    copied: the folder keeps one fixed size, so committing it to a repository after each
    session overwrites rather than adds.

    Parameters
    ----------
    checkpoint : path-like
        A complete checkpoint folder (written by `write_checkpoint` and `write_rng`).
    resume_point : path-like
        The folder to replace.

    Returns
    -------
    pathlib.Path
        ``resume_point``.

    """
    source, target = pathlib.Path(checkpoint), pathlib.Path(resume_point)
    if checkpoint_step(source) is None:
        raise CheckpointError(f"{source} is not a complete checkpoint.")
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = target.with_name(target.name + ".new")
    old = target.with_name(target.name + ".old")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    names = sorted(p.name for p in source.iterdir() if p.name != "state.json")
    for name in [*names, "state.json"]:  # state.json last: its presence = complete
        shutil.copyfile(source / name, fresh / name)
    if target.exists():
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    fresh.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target
