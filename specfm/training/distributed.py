"""Multi-process data-parallel training with `torch.distributed` (launch with torchrun).

``torchrun --nproc_per_node N -m specfm.cli.train config.toml`` starts N processes
and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``.
`init_distributed` reads them and joins the process group (NCCL on GPUs, gloo on CPUs);
without them it does nothing, so the same code runs in one process.
"""

import dataclasses
import os

import torch
import torch.distributed as dist

__all__ = [
    "DistributedInfo",
    "all_reduce_sum",
    "barrier",
    "choose_device",
    "cleanup_distributed",
    "distributed_info",
    "init_distributed",
]


@dataclasses.dataclass(frozen=True)
class DistributedInfo:
    """Where this process stands: its rank, the number of processes, its local rank."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self):
        """True on rank 0 (the process that writes files and shows progress)."""
        return self.rank == 0


def distributed_info():
    """Return the `DistributedInfo` of the current process group (or of a single process)."""
    if dist.is_available() and dist.is_initialized():
        return DistributedInfo(dist.get_rank(), dist.get_world_size(),
                               int(os.environ.get("LOCAL_RANK", 0)))
    return DistributedInfo()


def init_distributed(backend=None):
    """Join the process group described by torchrun's environment variables, if any.

    Parameters
    ----------
    backend : str or None
        ``"gloo"`` or ``"nccl"``; by default NCCL when CUDA is available, else gloo.

    Returns
    -------
    DistributedInfo
        For a single process (no ``WORLD_SIZE`` > 1 in the environment), rank 0 of 1.

    """
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world <= 1 or not dist.is_available():
        return DistributedInfo()
    if not dist.is_initialized():
        if backend is None:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group(backend=backend)
    return distributed_info()


def cleanup_distributed():
    """Leave the process group, if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier():
    """Wait for all processes (no-op in a single process)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_reduce_sum(tensor):
    """Sum ``tensor`` over processes in place and return it (no-op in a single process)."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def choose_device(device=None):
    """Return the device to train on.

    Parameters
    ----------
    device : str, torch.device or None
        An explicit choice, or None / ``"auto"`` for CUDA when available (this process's
        ``LOCAL_RANK`` GPU), else CPU.

    Examples
    --------
    >>> from specfm.training import choose_device
    >>> choose_device("cpu")
    device(type='cpu')

    """
    if device not in (None, "auto"):
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")
