"""Settings and results of the `~specfm.training.Trainer`."""

import dataclasses

from ..exceptions import SpecfmInputError
from ..model.precision import check_precision

__all__ = ["TrainerConfig", "TrainingResult"]


@dataclasses.dataclass
class TrainerConfig:
    """Settings of the `Trainer`.

    Parameters
    ----------
    epochs : int
        Passes over the training data (ignored when `max_steps` is set).
    max_steps : int or None
        Total optimizer steps; overrides `epochs`.
    batch_size : int
        Rows per step and process.
    learning_rate, weight_decay : float
        AdamW settings.
    warmup_steps : int
        Linear warm-up from 0 to `learning_rate`; then a cosine decay to
        ``min_lr_ratio * learning_rate`` at the last step.
    min_lr_ratio : float
        Final learning rate as a fraction of the peak.
    grad_clip : float or None
        Clip the global gradient norm to this value.
    seed : int
        Seed of the data order, the context sampling and dropout.
    checkpoint_every : int
        Write a checkpoint every this many steps (0: never).
    checkpoint_dir : str or None
        Where to write ``step_*`` checkpoint folders.
    keep_checkpoints : int or None
        Newest checkpoints to keep (None: all).
    resume_point : str or None
        A folder that every checkpoint is also copied to, replacing the previous one in
        place (atomically): a resume point of fixed name and size that can be committed
        to a repository so that a long run outlives the machine it ran on
        (``specfm train --resume`` picks the newer of it and ``checkpoint_dir``).
    patience : int or None
        Early stopping: stop after this many epochs without a better validation loss.
    min_delta : float
        Smallest decrease of the validation loss that counts as better.
    restore_best : bool
        With early stopping, end with the weights of the best validation epoch.
    progress : bool
        Show a tqdm progress bar (rank 0 only).
    device : str or None
        ``"cpu"``, ``"cuda"``, ... or None for automatic choice.
    precision : {"float32", "bfloat16"}
        Arithmetic of the training steps' forward pass: float32 (default), or bfloat16
        autocast (matrix products in bfloat16; the weights, their gradients, the optimiser
        and the output heads stay float32). Faster on CPUs and GPUs with bfloat16 units,
        slower elsewhere. Validation is always in float32, so that losses compare between
        runs.

    """

    epochs: int = 1
    max_steps: int | None = None
    batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 100
    min_lr_ratio: float = 0.05
    grad_clip: float | None = 1.0
    seed: int = 0
    checkpoint_every: int = 0
    checkpoint_dir: str | None = None
    keep_checkpoints: int | None = 3
    resume_point: str | None = None
    patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True
    progress: bool = True
    device: str | None = None
    precision: str = "float32"

    def __post_init__(self):
        check_precision(self.precision)
        if self.checkpoint_every and not self.checkpoint_dir:
            raise SpecfmInputError("checkpoint_every needs a checkpoint_dir to write into.")
        if self.resume_point and not self.checkpoint_every:
            raise SpecfmInputError("resume_point is written at each checkpoint: set "
                                   "checkpoint_every (and checkpoint_dir) too.")
        if self.batch_size < 1:
            raise SpecfmInputError("batch_size must be a positive integer.")

    def to_dict(self):
        """Return a JSON-serialisable dict."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class TrainingResult:
    """What `Trainer.fit` returns.

    Attributes
    ----------
    steps : int
        Optimizer steps done in total (including before a resume).
    epochs_completed : int
        Epochs finished.
    history : list of dict
        One entry per epoch: ``epoch``, ``step``, ``train_loss``, ``val_loss``, ``lr``.
    best_val_loss : float or None
        Lowest validation loss seen.
    stopped_early : bool
        True if early stopping ended the run.
    interrupted : bool
        True if the run was stopped before its end: by ``fit(stop_after=...)``, its
        ``time_limit`` or one of its ``stop_signals``.
    stop_reason : str or None
        What stopped it: ``"stop_after"``, ``"time_limit"``, or the signal's name
        (``"SIGTERM"``, ``"SIGINT"``); None when it was not interrupted.

    """

    steps: int
    epochs_completed: int
    history: list
    best_val_loss: float | None
    stopped_early: bool
    interrupted: bool = False
    stop_reason: str | None = None
