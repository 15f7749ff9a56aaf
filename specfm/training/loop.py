"""The training loop: AdamW, warm-up + cosine, clipping, checkpoints, resume, validation.

`Trainer` runs the same code in one process or in every process of a ``torchrun`` job
(then the network is wrapped in `~torch.nn.parallel.DistributedDataParallel`, each
process reads its own shard of a `TokenDataset`, and only rank 0 writes files).
"""

import copy
import datetime
import signal
import time
import warnings

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from ..exceptions import SpecfmInputError, SpecfmWarning
from ..model.precision import precision_autocast
from ..model.storage import save_model
from . import checkpoint as ckpt
from .data import TokenDataset
from .distributed import all_reduce_sum, barrier, choose_device, distributed_info
from .objectives import MaskedTokenObjective
from .optim import parameter_groups, warmup_cosine
from .settings import TrainerConfig, TrainingResult
from .stopping import StopRequest

__all__ = ["Trainer"]

class Trainer:
    """Train a `~specfm.model.SpecFMNetwork`.

    Parameters
    ----------
    network : `~specfm.model.SpecFMNetwork`
        The network (moved to the chosen device).
    train_data : `TokenDataset` or iterable of `TrainingBatch`
        Training data. A re-iterable source is read once per epoch, as it is (in a
        distributed run it must give each process its own shard); it needs a length or
        ``max_steps``.
    val_data : `TokenDataset`, iterable of `TrainingBatch`, or None
        Validation data, evaluated at the end of every epoch.
    objective : callable or None
        Defaults to `MaskedTokenObjective` with default settings.
    config : `TrainerConfig` or None
        Settings.

    """

    def __init__(self, network, train_data, val_data=None, objective=None, config=None):
        self.config = cfg = config if config is not None else TrainerConfig()
        self.info = distributed_info()
        self.device = choose_device(cfg.device)
        self.network = network.to(self.device)
        self.train_data, self.val_data = train_data, val_data
        self.objective = objective if objective is not None else MaskedTokenObjective()
        self._check_vocabulary(train_data)
        torch.manual_seed(cfg.seed + 7919 * self.info.rank)  # dropout
        self.generator = torch.Generator(self.device).manual_seed(
            cfg.seed + 7919 * self.info.rank + 1)
        if self.info.world_size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = DistributedDataParallel(self.network, device_ids=ids)
        else:
            self.model = self.network
        groups = parameter_groups(self.network, cfg.weight_decay)
        if not any(g["params"] for g in groups):
            raise SpecfmInputError("Every weight is frozen: nothing to train.")
        self.optimizer = torch.optim.AdamW(groups, lr=cfg.learning_rate)
        self.total_steps = self._total_steps()
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self._lr_factor)
        self.step = self.epoch = self.batch_in_epoch = 0
        self._epoch_loss = [0.0, 0]
        self.history, self.best_val_loss, self.bad_epochs = [], None, 0
        self.stopped_early, self._best_state = False, None
        #: An identifier of the training data (e.g. a sha256), stored in checkpoints and
        #: compared on resume: a run resumed on rebuilt data that differ is not exact.
        self.data_fingerprint = None
        #: JSON-able facts about the run (data, label ranges, description) kept in every
        #: checkpoint, so that a model exported from one (`export_checkpoint`) has them.
        self.run_record = {}

    def _check_vocabulary(self, data):
        vocab = getattr(data, "vocabulary", None)
        if vocab is not None and vocab != self.network.vocabulary:
            raise SpecfmInputError(
                "The training data's vocabulary differs from the network's; tokenize the "
                "data with the network's vocabulary (extend the network first if needed)."
            )

    def _batches_per_epoch(self):
        if isinstance(self.train_data, TokenDataset):
            return self.train_data.n_batches(self.config.batch_size, self.info.world_size)
        try:
            return len(self.train_data)
        except TypeError:
            return None

    def _total_steps(self):
        if self.config.max_steps is not None:
            return int(self.config.max_steps)
        per_epoch = self._batches_per_epoch()
        if per_epoch is None:
            raise SpecfmInputError("The training data has no length: set max_steps.")
        return int(self.config.epochs) * per_epoch

    def _lr_factor(self, step):
        return warmup_cosine(step, self.config.warmup_steps, self.total_steps,
                             self.config.min_lr_ratio)

    def _batches(self, data, epoch, start=0, shuffle=True):
        if isinstance(data, TokenDataset):
            yield from data.batches(self.config.batch_size, epoch, self.config.seed,
                                    self.info.rank, self.info.world_size, start, shuffle)
        else:
            for i, batch in enumerate(data):
                if i >= start:
                    yield batch

    def _train_step(self, batch):
        self.model.train()
        with precision_autocast(self.device.type, self.config.precision):
            out = self.objective(self.model, batch.to(self.device), self.generator)
        self.optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        if self.config.grad_clip:
            torch.nn.utils.clip_grad_norm_(
                [p for p in self.network.parameters() if p.requires_grad],
                self.config.grad_clip)
        self.optimizer.step()
        self.scheduler.step()
        return float(out.loss.detach())

    @torch.no_grad()
    def validate(self):
        """Return the mean validation loss (over all processes), or None without data.

        The context sampling uses its own generator, seeded the same way every epoch: the
        epochs are compared on identical contexts and requests, and validating never
        changes the course of training.
        """
        if self.val_data is None:
            return None
        self.network.eval()
        gen = torch.Generator(self.device).manual_seed(self.config.seed + 104729
                                                       + self.info.rank)
        total = torch.zeros(2, dtype=torch.float64, device=self.device)
        for batch in self._batches(self.val_data, 0, shuffle=False):
            out = self.objective(self.network, batch.to(self.device), gen)
            n = out.n_label + out.n_flux
            total += torch.tensor([float(out.loss) * n, n], dtype=torch.float64,
                                  device=self.device)
        all_reduce_sum(total)
        return float(total[0] / total[1]) if total[1] > 0 else None

    def _end_epoch(self):
        val = self.validate()
        loss_sum, count = self._epoch_loss
        self.history.append({
            "epoch": self.epoch, "step": self.step,
            "train_loss": loss_sum / count if count else None,
            "val_loss": val, "lr": self.scheduler.get_last_lr()[0],
        })
        if val is not None:
            if self.best_val_loss is None or val < self.best_val_loss - self.config.min_delta:
                self.best_val_loss, self.bad_epochs = val, 0
                if self.config.patience is not None:
                    self._best_state = {k: v.detach().cpu().clone()
                                        for k, v in self.network.state_dict().items()}
            else:
                self.bad_epochs += 1
                if self.config.patience is not None and self.bad_epochs >= self.config.patience:
                    self.stopped_early = True
        self.epoch += 1
        self.batch_in_epoch = 0
        self._epoch_loss = [0.0, 0]

    def fit(self, stop_after=None, time_limit=None, stop_signals=()):
        """Train until the last step, the last epoch, or early stopping.

        Parameters
        ----------
        stop_after : int or None
            Stop (as if interrupted) once this many steps are done in total, without
            validating; used to test that resuming gives the uninterrupted result.
        time_limit : float or None
            Stop (as if interrupted) after the first step that ends this many seconds
            after the call, writing a checkpoint there (and the resume point, if the
            configuration names one) when checkpoints are on: a run that must end before
            its machine does (all processes of a distributed run stop at the same step).
        stop_signals : sequence of int
            Signals (e.g. ``(signal.SIGTERM, signal.SIGINT)``) that stop the run the same
            way, after the step in which the first of them arrives (`StopRequest`; a
            second signal acts as it would without this). Empty by default: a library call
            keeps Python's own handling of Ctrl-C.

        Returns
        -------
        `TrainingResult`

        """
        cfg = self.config
        deadline = None if time_limit is None else time.monotonic() + float(time_limit)
        bar = tqdm(total=self.total_steps, initial=self.step, desc="training",
                   disable=not (cfg.progress and self.info.is_main), leave=False)
        with StopRequest(stop_signals) as request:
            try:
                interrupted, reason = self._run_steps(bar, stop_after, deadline, request)
            finally:
                bar.close()
        if not interrupted and cfg.restore_best and self._best_state is not None:
            self.network.load_state_dict(self._best_state)
        return TrainingResult(self.step, self.epoch, list(self.history), self.best_val_loss,
                              self.stopped_early, interrupted, reason)

    def _run_steps(self, bar, stop_after, deadline, request):
        """Run the steps of `fit`; return ``(interrupted, stop_reason)``."""
        cfg = self.config
        interrupted, reason = False, None
        while self.step < self.total_steps and not self.stopped_early:
            if cfg.max_steps is None and self.epoch >= cfg.epochs:
                break
            ran = False
            for batch in self._batches(self.train_data, self.epoch, self.batch_in_epoch):
                ran = True
                loss = self._train_step(batch)
                self.step += 1
                self.batch_in_epoch += 1
                self._epoch_loss[0] += loss
                self._epoch_loss[1] += 1
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}", epoch=self.epoch)
                if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                    self.save_checkpoint()
                if self.step >= self.total_steps:
                    break
                if stop_after is not None and self.step >= stop_after:
                    interrupted, reason = True, "stop_after"
                    break
                reason = self._stop_reason(deadline, request)
                if reason is not None:
                    if cfg.checkpoint_every and self.step % cfg.checkpoint_every:
                        self.save_checkpoint()
                    interrupted = True
                    break
            if interrupted:
                break
            if not ran and self.batch_in_epoch == 0:
                raise SpecfmInputError("The training data gave no batches.")
            self._end_epoch()
        return interrupted, reason

    def _stop_reason(self, deadline, request):
        """``"time_limit"``, a signal's name, or None: whether any process must stop now.

        All processes of a distributed run agree (one all-reduce per step while a deadline
        or signals are watched), so that they stop at the same step even when a signal
        reaches them at different times. A single process decides on the host, without a
        tensor (no device synchronisation in the step loop).
        """
        if deadline is None and not request.signals:
            return None
        late = deadline is not None and time.monotonic() > deadline
        signalled = request.requested is not None
        if self.info.world_size > 1:
            flags = torch.tensor([float(late), float(signalled)], device=self.device)
            all_reduce_sum(flags)
            late, signalled = flags[0].item() > 0, flags[1].item() > 0
        if late:
            return "time_limit"
        if signalled:
            # the signal of this process, or (another process's) the first one watched
            return signal.Signals(request.requested or request.signals[0]).name
        return None

    # --- checkpoints -------------------------------------------------------------------
    def _rng_states(self):
        states = {"torch": torch.get_rng_state(), "objective": self.generator.get_state()}
        if self.device.type == "cuda":
            states["cuda"] = torch.cuda.get_rng_state(self.device)
        return states

    def save_checkpoint(self, folder=None):
        """Write a checkpoint (rank 0 writes the state, every rank its RNG states).

        Returns
        -------
        pathlib.Path
            The checkpoint folder.

        """
        import pathlib

        folder = pathlib.Path(folder or pathlib.Path(self.config.checkpoint_dir)
                              / f"step_{self.step:08d}")
        barrier()
        ckpt.write_rng(folder, self.info.rank, self._rng_states())
        barrier()
        if self.info.is_main:
            tensors = {f"model.{k}": v for k, v in self.network.state_dict().items()}
            opt_tensors, groups = ckpt.optimizer_to_flat(self.optimizer.state_dict())
            tensors.update(opt_tensors)
            if self._best_state is not None:
                tensors.update({f"best.{k}": v for k, v in self._best_state.items()})
            sched = {k: v for k, v in self.scheduler.state_dict().items() if k != "lr_lambdas"}
            state = {
                "step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
                "epoch_loss": self._epoch_loss, "history": self.history,
                "best_val_loss": self.best_val_loss, "bad_epochs": self.bad_epochs,
                "stopped_early": self.stopped_early, "scheduler": sched,
                "optimizer_groups": groups, "world_size": self.info.world_size,
                "model_config": self.network.config.to_dict(),
                "trainer": self.config.to_dict(),
                "data_fingerprint": self.data_fingerprint,
                "run_record": self.run_record,
            }
            ckpt.write_checkpoint(folder, tensors, state, keep=self.config.keep_checkpoints)
            if self.config.resume_point:
                ckpt.write_resume_point(folder, self.config.resume_point)
        barrier()
        return folder

    def load_checkpoint(self, folder):
        """Restore everything from a checkpoint, so that `fit` continues exactly.

        Raises
        ------
        specfm.training.CheckpointError
            If the checkpoint is incomplete, corrupted, or from a run with a different
            number of processes.

        Warns
        -----
        specfm.exceptions.SpecfmWarning
            If the checkpoint and this trainer both know the fingerprint of their
            training data and the two differ (the run continues at the same position,
            but on other data, so not exactly as it would have).

        """
        tensors, state = ckpt.read_checkpoint(folder)
        stored = state.get("data_fingerprint")
        if stored and self.data_fingerprint and stored != self.data_fingerprint:
            warnings.warn(
                f"{folder} was written while training on data with fingerprint "
                f"{stored[:12]}..., but this run's data have {self.data_fingerprint[:12]}... "
                "(rebuilt on another machine or with another version?). Training continues "
                "from the same step and position, but not exactly as the run would have.",
                SpecfmWarning, stacklevel=2)
        if state["world_size"] != self.info.world_size:
            raise ckpt.CheckpointError(
                f"{folder} was written by {state['world_size']} processes; resume it with "
                f"the same number (this run has {self.info.world_size}).")
        self.network.load_state_dict(ckpt.model_state(tensors), strict=True)
        self.optimizer.load_state_dict(
            ckpt.optimizer_from_flat(tensors, state["optimizer_groups"]))
        self.scheduler.load_state_dict(dict(state["scheduler"], lr_lambdas=[None]))
        best = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
        self._best_state = best or None
        rng = ckpt.read_rng(folder, self.info.rank)
        torch.set_rng_state(rng["torch"])
        self.generator.set_state(rng["objective"])
        if "cuda" in rng and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        self.step, self.epoch = state["step"], state["epoch"]
        self.batch_in_epoch = state["batch_in_epoch"]
        self._epoch_loss = list(state["epoch_loss"])
        self.history = state["history"]
        self.best_val_loss, self.bad_epochs = state["best_val_loss"], state["bad_epochs"]
        self.stopped_early = state["stopped_early"]

    def provenance(self):
        """Return a JSON-able record of this training run (stored with saved models)."""
        n_rows = len(self.train_data) if isinstance(self.train_data, TokenDataset) else None
        return {
            "created": datetime.datetime.now(datetime.UTC).isoformat(),
            "steps": self.step, "epochs_completed": self.epoch,
            "world_size": self.info.world_size, "device": str(self.device),
            "n_train_rows": n_rows, "best_val_loss": self.best_val_loss,
            "history": self.history, "trainer": self.config.to_dict(),
            "objective": (self.objective.config.to_dict()
                          if hasattr(self.objective, "config") else None),
        }

    def save_model(self, path, overwrite=False, extra_provenance=None):
        """Save the network with this run's provenance (rank 0 only; others return None).

        ``extra_provenance`` (a JSON-able dict: training data, outputs, label ranges, ...) is
        merged into the record, and so is the growth of a network made by
        `~specfm.model.grow_network` (``grown_from``).
        """
        if not self.info.is_main:
            return None
        provenance = dict(self.network.metadata.get("provenance") or {})
        record = self.provenance()
        record.update(extra_provenance or {})
        if self.network.metadata.get("grown_from"):
            record["grown_from"] = self.network.metadata["grown_from"]
        if provenance:
            record["parent"] = provenance
        return save_model(self.network, path, provenance=record, overwrite=overwrite)

    def copy_network(self):
        """Return a CPU deep copy of the network (e.g. to compare runs)."""
        return copy.deepcopy(self.network).to("cpu")
