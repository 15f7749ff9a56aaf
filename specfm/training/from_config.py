"""Train or fine-tune from a TOML file: what ``specfm train config.toml`` runs.

Example configuration::

    output = "runs/tiny"            # model folder (or .zip) to write
    [data]
    train = "train.safetensors"     # written by TokenDataset.save
    validation = "val.safetensors"  # optional; else validation_fraction of train
    validation_fraction = 0.1
    [model]                         # ModelConfig fields (not used when fine-tuning)
    d_model = 64
    n_latents = 32
    [objective]                     # ObjectiveConfig fields
    n_flux_queries = 16
    [trainer]                       # TrainerConfig fields
    epochs = 10
    checkpoint_every = 500
    checkpoint_dir = "runs/tiny-checkpoints"
    [finetune]                      # optional: start from a trained model
    from = "models/base"
    from_run = "base.toml"          # optional: the configuration whose model ``from`` is;
                                    # when ``from`` is absent, it is written from that
                                    # run's newest checkpoint first (export_checkpoint)
    freeze = ["encoder"]
    new_tokens = [{name = "li_fe", kind = "LABEL", unit = "dex", scale = 0.3}]
    grow = {width = 256, n_latents = 128, split = "random"}  # optional: a larger network
                                    # with the same answers to start (grow_network)

Instead of pre-tokenised files, ``[data]`` can name a source that is rendered or read and
tokenised with the ``[tokenizer]`` settings (`~specfm.tokens.TokenizerConfig` fields, stored
in the model), and cached in ``cache`` (a folder) for later runs::

    [tokenizer]
    normalisation = "auto"
    max_tokens = 1024
    [data]
    kind = "synthetic"              # or "gaia_xp"
    cache = "runs/base-data"
    validation_fraction = 0.05
    workers = 2
    [[data.sources]]                # SyntheticSource fields
    emulator = "cannon_coolstars"
    instruments = ["apogee", "gaia_xp"]
    n_stars = 1000
    # kind = "gaia_xp": path = "gaia_xp_apogee/train.fits.gz" (in the shared data folder),
    # colours = true, n_train = 100 with train_selection = "fe_h > -1" for small subsets.

``[prediction]`` overrides fields of ``[tokenizer]`` in the tokenizer settings stored with
the model, i.e. how spectra are tokenised at prediction time (e.g. ``max_tokens = 512`` and
``cap_mode = "chunk"``: every pixel is used, in chunks as long as the training contexts;
``max_tokens = "all"``: every pixel in one row, the whole spectrum in one pass). A model
pre-trained on synthetic sources also stores their coverage (`training_coverage`) and the
top of their S/N range as ``max_snr`` (`training_max_snr`: spectra of higher S/N are read
at that S/N, with noise added), unless ``[prediction]`` sets them (``max_snr = "none"``:
spectra are read as they come).

``[provenance]`` (``description``, ``outputs``, ``training_data``, ``credits``) is stored
with the model, together with the label ranges of the training data.

`train_from_config` is the library function behind ``specfm train`` (whose argument parsing
is in `specfm.cli.train`); `export_checkpoint` writes the model of a run still going.
Launch on several processes with
``torchrun --nproc_per_node 4 -m specfm.cli.train config.toml``.
"""

import dataclasses
import pathlib
import sys
import tomllib

from ..exceptions import SpecfmInputError
from ..model.config import ModelConfig
from ..model.growth import grow_network
from ..model.network import SpecFMNetwork
from ..model.storage import CONFIG_NAME, load_model, save_model
from .checkpoint import checkpoint_progress, model_state, newest_checkpoint, read_checkpoint
from .config_data import load_training_data
from .distributed import barrier, cleanup_distributed, init_distributed
from .finetune import extend_network, freeze
from .loop import Trainer
from .objectives import MaskedTokenObjective, ObjectiveConfig
from .optim import seed_everything
from .settings import TrainerConfig
from .sources import label_ranges, training_coverage, training_max_snr

__all__ = ["ConfigRun", "export_checkpoint", "finetune_base", "prediction_tokenizer",
           "producing_config", "read_config",
           "train_from_config", "trainer_config", "training_objective"]


@dataclasses.dataclass
class ConfigRun:
    """What `train_from_config` did.

    Attributes
    ----------
    result : `~specfm.training.TrainingResult`
        Steps, epochs, history and best validation loss.
    model : pathlib.Path or None
        The model written (None without an output, when the run stopped before its end,
        and on every process but the first).
    resumed_from : pathlib.Path or None
        The checkpoint the run continued from.

    """

    result: object
    model: pathlib.Path | None = None
    resumed_from: pathlib.Path | None = None


def read_config(path):
    """Read a TOML training configuration; return ``(config dict, its folder)``."""
    path = pathlib.Path(path)
    with open(path, "rb") as f:
        return tomllib.load(f), path.parent


def _section(config, name, cls):
    values = dict(config.get(name, {}))
    try:
        return cls(**values)
    except TypeError as err:
        raise SpecfmInputError(f"Bad key in [{name}] of the configuration: {err}") from None


def prediction_tokenizer(tokenizer, config):
    """Return the tokenizer settings stored with a model, for reading spectra at prediction.

    Parameters
    ----------
    tokenizer : `~specfm.tokens.TokenizerConfig`
        The training tokenizer (``[tokenizer]``).
    config : dict
        The parsed configuration: its ``[prediction]`` overrides fields (``max_tokens =
        "all"`` and ``max_snr = "none"`` stand for None); for synthetic pre-training, the
        coverage and ``max_snr`` not given there come from ``[[data.sources]]``
        (`training_coverage`, `training_max_snr`).

    Returns
    -------
    `~specfm.tokens.TokenizerConfig`

    """
    prediction = config.get("prediction", {})
    stored = {**tokenizer.to_dict(), **prediction}
    for key, none in (("max_tokens", "all"), ("max_snr", "none")):  # TOML has no None
        if stored.get(key) == none:
            stored[key] = None
    stored["vocabulary"] = tokenizer.vocabulary
    data = config.get("data", {})
    if data.get("kind") == "synthetic":
        if stored.get("coverage") is None:
            stored["coverage"] = training_coverage(data.get("sources", []))
        if "max_snr" not in prediction:
            stored["max_snr"] = training_max_snr(data.get("sources", []))
    return type(tokenizer)(**stored)


def trainer_config(config):
    """Return the `~specfm.training.TrainerConfig` of a configuration's ``[trainer]``.

    Raises
    ------
    SpecfmInputError
        For a key that `~specfm.training.TrainerConfig` does not have.

    """
    return _section(config, "trainer", TrainerConfig)


def training_objective(config):
    """Return the `~specfm.training.MaskedTokenObjective` of a configuration's ``[objective]``.

    Raises
    ------
    SpecfmInputError
        For a key that `~specfm.training.ObjectiveConfig` does not have.

    """
    return MaskedTokenObjective(_section(config, "objective", ObjectiveConfig))


def _checkpoint_folders(config, base):
    trainer = config.get("trainer", {})
    return [base / trainer[key] if trainer.get(key) else None
            for key in ("checkpoint_dir", "resume_point")]


_GROW_KEYS = ("width", "n_latents", "n_latent_layers", "jitter", "split", "seed")


def _grow_settings(grow):
    """Return the ``[finetune] grow`` table as keyword arguments of `grow_network`."""
    if not isinstance(grow, dict):
        raise SpecfmInputError(f"[finetune] grow must be a table of {', '.join(_GROW_KEYS)}, "
                               f"not {grow!r}.")
    unknown = sorted(set(grow) - set(_GROW_KEYS))
    if unknown:
        raise SpecfmInputError(f"[finetune] grow takes {', '.join(_GROW_KEYS)}; not "
                               f"{', '.join(unknown)}.")
    return dict(grow)


def finetune_base(fine, base, write=True):
    """Return the folder of the model a fine-tune starts from, writing it first if need be.

    Parameters
    ----------
    fine : dict
        The ``[finetune]`` table: ``from`` (the model, relative to ``base``) and, optionally,
        ``from_run``: the configuration (relative to ``base``) whose ``output`` is ``from``.
    base : pathlib.Path
        The folder of the configuration.
    write : bool
        Export the model when it is absent (False on all but the main process, which wait).

    Returns
    -------
    pathlib.Path
        The model folder. When it is absent and ``from_run`` is given, it is written from
        that run's newest checkpoint (`export_checkpoint`, e.g. a committed resume point), so
        a fresh machine needs no separate step.

    Raises
    ------
    SpecfmInputError
        If the model is absent and cannot be written: no ``from_run``, a ``from_run`` whose
        ``output`` is not ``from``, or a run with no checkpoint or not finished.

    """
    folder = base / fine["from"]
    if (folder / CONFIG_NAME).exists() or (folder.suffix == ".zip" and folder.exists()):
        return folder
    run = fine.get("from_run")
    if run is None:
        raise SpecfmInputError(
            f"[finetune] from = {fine['from']!r}: there is no model at {folder}. Train or "
            "export it first, or name the configuration that writes it as from_run.")
    source = producing_config(base / run, folder)
    if write:
        print(f"specfm train: writing {folder} from {source}'s newest checkpoint",
              file=sys.stderr)
        export_checkpoint(source, folder)
    barrier()
    return folder


def producing_config(run, model, finished=True):
    """Check that the configuration ``run`` writes ``model`` and has a checkpoint; return it.

    Parameters
    ----------
    run : path-like
        A training configuration (``[finetune] from_run``).
    model : path-like
        The model folder a fine-tune reads (``[finetune] from``).
    finished : bool
        Also ask that the run's newest checkpoint be its end (False: a configuration planned
        to follow a run still in progress is checked for everything else).

    Returns
    -------
    pathlib.Path
        ``run``.

    Raises
    ------
    SpecfmInputError
        If ``run`` does not exist, its ``output`` is another folder, it has no checkpoint
        to export, or its newest checkpoint is not the end of the run
        (`~specfm.training.checkpoint.checkpoint_progress`): a model written from it
        would stand where the finished run's model belongs.

    """
    run = pathlib.Path(run)
    if not run.exists():
        raise SpecfmInputError(f"[finetune] from_run: no configuration at {run}.")
    config, base = read_config(run)
    output = config.get("output")
    if output is None or (base / output).resolve() != pathlib.Path(model).resolve():
        raise SpecfmInputError(
            f"[finetune] from_run: {run} writes {output!r}, not the model named in from "
            f"({model}).")
    newest = newest_checkpoint(*_checkpoint_folders(config, base))
    if newest is None:
        raise SpecfmInputError(
            f"[finetune] from_run: {run} has no checkpoint (checkpoint_dir or resume_point) "
            "to write the model from.")
    ended, where = checkpoint_progress(newest)
    if finished and not ended:
        raise SpecfmInputError(
            f"[finetune] from_run: {run} has not finished (its newest checkpoint, {newest}, "
            f"is at {where}), so it has not written the model named in from ({model}). "
            f"Finish it first: specfm train {run} --resume.")
    return run


def export_checkpoint(config_path, output, checkpoint=None, overwrite=False):
    """Write the network of a training checkpoint as a model folder, without training.

    Parameters
    ----------
    config_path : path-like
        The run's TOML configuration (it says where its checkpoints are).
    output : path-like
        Model folder (or ``.zip``) to write.
    checkpoint : path-like or None
        A checkpoint folder; None takes the newest of ``[trainer] checkpoint_dir`` and
        ``resume_point``.
    overwrite : bool
        Replace an existing model at ``output``.

    Returns
    -------
    pathlib.Path
        The model written. Its provenance is the run's (as `train_from_config` records it when
        the run ends) plus ``checkpoint``: the step, epoch and loss history so far.

    Raises
    ------
    SpecfmInputError
        If there is no checkpoint to export.

    """
    config, base = read_config(config_path)
    folder = (pathlib.Path(checkpoint) if checkpoint is not None
              else newest_checkpoint(*_checkpoint_folders(config, base)))
    if folder is None:
        raise SpecfmInputError(f"{config_path} has no checkpoint yet: train first.")
    tensors, state = read_checkpoint(folder)
    network = SpecFMNetwork(ModelConfig.from_dict(state["model_config"]))
    network.load_state_dict(model_state(tensors), strict=True)
    record = dict(state.get("run_record") or {})
    record["checkpoint"] = {key: state.get(key) for key in (
        "step", "epoch", "batch_in_epoch", "history", "best_val_loss", "data_fingerprint")}
    record["checkpoint"]["total_steps"] = state.get("trainer", {}).get("max_steps")
    return save_model(network, output, provenance=record, overwrite=overwrite)


def train_from_config(config_path, resume=None, output=None, device=None, time_limit=None,
                      stop_signals=()):
    """Train or fine-tune as a TOML configuration says (``specfm train``).

    Parameters
    ----------
    config_path : path-like
        The configuration; paths in it are relative to its folder.
    resume : None, "latest" or path-like
        Continue from a checkpoint: ``"latest"`` takes the newest of ``[trainer]
        checkpoint_dir`` and ``resume_point``.
    output : path-like, optional
        Write the model here instead of the configuration's ``output``.
    device : str, optional
        Override ``[trainer] device``.
    time_limit : float, optional
        Stop after this many seconds of training, with a checkpoint (and the resume
        point) at the step where it stopped; no model is written then
        (`~specfm.training.Trainer.fit`).
    stop_signals : sequence of int
        Signals that stop the run in the same way (``specfm train`` passes SIGTERM and
        SIGINT).

    Returns
    -------
    ConfigRun

    Raises
    ------
    SpecfmInputError
        For a bad configuration, or ``resume`` with no checkpoint to resume from.

    """
    config, base = read_config(config_path)
    resumed_from = out = None
    info = init_distributed()
    try:
        trainer_cfg = trainer_config(config)
        if device:
            trainer_cfg.device = device
        seed_everything(trainer_cfg.seed)
        # the model a fine-tune starts from, before the data (which may take minutes to
        # render): one that cannot be had stops the run at once
        fine = config.get("finetune")
        start = finetune_base(fine, base, info.is_main) if fine else None
        train, val, tokenizer, data_record = load_training_data(
            config, base, trainer_cfg.seed, progress=trainer_cfg.progress)
        if fine:
            network = extend_network(load_model(start),
                                     fine.get("new_tokens", ()), fine.get("n_new_kinds", 0),
                                     fine.get("flux_decoder", False))
            if fine.get("grow"):
                network = grow_network(network, **_grow_settings(fine["grow"]))
            freeze(network, fine.get("freeze", ()))
        else:
            model_cfg = dict(config.get("model", {}))
            model_cfg.setdefault("vocabulary", train.vocabulary.to_list())
            network = SpecFMNetwork(ModelConfig.from_dict(model_cfg))
        if tokenizer is not None:
            network.config.tokenizer = prediction_tokenizer(tokenizer, config).to_dict()
        objective = training_objective(config)
        if trainer_cfg.checkpoint_dir:
            trainer_cfg.checkpoint_dir = str(base / trainer_cfg.checkpoint_dir)
        if trainer_cfg.resume_point:
            trainer_cfg.resume_point = str(base / trainer_cfg.resume_point)
        trainer = Trainer(network, train, val, objective, trainer_cfg)
        extra = dict(config.get("provenance", {}))
        extra["training_data"] = data_record
        extra["label_ranges"] = label_ranges(train)
        trainer.run_record = extra
        if trainer_cfg.resume_point:  # a run meant to be resumed elsewhere: know its data
            trainer.data_fingerprint = train.fingerprint()
        if resume:
            folder = (newest_checkpoint(trainer_cfg.checkpoint_dir, trainer_cfg.resume_point)
                      if resume == "latest" else pathlib.Path(resume))
            if folder is None:
                raise SpecfmInputError(
                    "No checkpoint found to resume from (looked in checkpoint_dir "
                    f"{trainer_cfg.checkpoint_dir} and resume_point "
                    f"{trainer_cfg.resume_point}); start the run without --resume.")
            if info.is_main:
                print(f"specfm train: resuming from {folder}", file=sys.stderr)
            trainer.load_checkpoint(folder)
            resumed_from = folder
        result = trainer.fit(time_limit=time_limit, stop_signals=stop_signals)
        target = output if output else (base / config["output"] if config.get("output")
                                        else None)
        if target is not None and not result.interrupted:
            out = trainer.save_model(target, overwrite=True, extra_provenance=extra)
    finally:
        cleanup_distributed()
    return ConfigRun(result, out, resumed_from)
