"""Training specfm networks: objectives, data, the Trainer, fine-tuning, distributed runs."""

from .checkpoint import CheckpointError, latest_checkpoint
from .command import train_main
from .data import TokenDataset, TrainingBatch, labels_to_tensors
from .distributed import (
    DistributedInfo,
    choose_device,
    cleanup_distributed,
    distributed_info,
    init_distributed,
)
from .finetune import PARTS, FineTuneConfig, extend_network, finetune, freeze, unfreeze
from .loop import Trainer
from .objectives import MaskedTokenObjective, ObjectiveConfig, ObjectiveOutput, gaussian_nll
from .optim import parameter_groups, seed_everything, warmup_cosine
from .settings import TrainerConfig, TrainingResult

__all__ = [
    "PARTS",
    "CheckpointError",
    "DistributedInfo",
    "FineTuneConfig",
    "MaskedTokenObjective",
    "ObjectiveConfig",
    "ObjectiveOutput",
    "TokenDataset",
    "Trainer",
    "TrainerConfig",
    "TrainingBatch",
    "TrainingResult",
    "choose_device",
    "cleanup_distributed",
    "distributed_info",
    "extend_network",
    "finetune",
    "freeze",
    "gaussian_nll",
    "init_distributed",
    "labels_to_tensors",
    "latest_checkpoint",
    "parameter_groups",
    "seed_everything",
    "train_main",
    "unfreeze",
    "warmup_cosine",
]
