"""Training specfm networks: objectives, data, the Trainer, fine-tuning, distributed runs."""

from .checkpoint import CheckpointError, latest_checkpoint, newest_checkpoint
from .data import TokenDataset, TrainingBatch, labels_to_tensors
from .distributed import (
    DistributedInfo,
    choose_device,
    cleanup_distributed,
    distributed_info,
    init_distributed,
)
from .ensemble import build_ensemble, ensemble_provenance
from .finetune import PARTS, FineTuneConfig, extend_network, finetune, freeze, unfreeze
from .finetune_spectra import SpectraFineTune, finetune_spectra, label_targets
from .from_config import ConfigRun, export_checkpoint, train_from_config
from .loop import Trainer
from .objectives import MaskedTokenObjective, ObjectiveConfig, ObjectiveOutput, gaussian_nll
from .optim import parameter_groups, seed_everything, warmup_cosine
from .settings import TrainerConfig, TrainingResult
from .sources import (
    EMULATORS,
    EXTRA_LABELS,
    SyntheticSource,
    data_directory,
    gaia_xp_dataset,
    label_ranges,
    load_emulator,
    split_indices,
    synthetic_dataset,
    training_coverage,
    training_max_snr,
    training_vocabulary,
)
from .stopping import StopRequest

__all__ = [
    "EMULATORS",
    "EXTRA_LABELS",
    "PARTS",
    "CheckpointError",
    "ConfigRun",
    "DistributedInfo",
    "FineTuneConfig",
    "MaskedTokenObjective",
    "ObjectiveConfig",
    "ObjectiveOutput",
    "SpectraFineTune",
    "StopRequest",
    "SyntheticSource",
    "TokenDataset",
    "Trainer",
    "TrainerConfig",
    "TrainingBatch",
    "TrainingResult",
    "build_ensemble",
    "choose_device",
    "cleanup_distributed",
    "data_directory",
    "distributed_info",
    "ensemble_provenance",
    "export_checkpoint",
    "extend_network",
    "finetune",
    "finetune_spectra",
    "freeze",
    "gaia_xp_dataset",
    "gaussian_nll",
    "init_distributed",
    "label_ranges",
    "label_targets",
    "labels_to_tensors",
    "latest_checkpoint",
    "load_emulator",
    "newest_checkpoint",
    "parameter_groups",
    "seed_everything",
    "split_indices",
    "synthetic_dataset",
    "train_from_config",
    "training_coverage",
    "training_max_snr",
    "training_vocabulary",
    "unfreeze",
    "warmup_cosine",
]
