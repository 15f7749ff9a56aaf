"""Train or fine-tune from a TOML file: ``specfm train config.toml`` (or torchrun).

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
    freeze = ["encoder"]
    new_tokens = [{name = "li_fe", kind = "LABEL", unit = "dex", scale = 0.3}]

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
``cap_mode = "chunk"``: every pixel is used, in chunks as long as the training contexts).

``[provenance]`` (``description``, ``outputs``, ``training_data``, ``credits``) is stored
with the model, together with the label ranges of the training data.

Launch on several processes with
``torchrun --nproc_per_node 4 -m specfm.training.command config.toml``.
"""

import argparse
import json
import pathlib
import sys
import tomllib

import numpy as np

from ..exceptions import SpecfmInputError
from ..model.config import ModelConfig
from ..model.network import SpecFMNetwork
from ..model.storage import load_model, save_model
from .checkpoint import newest_checkpoint
from .data import TokenDataset
from .distributed import cleanup_distributed, init_distributed
from .finetune import extend_network, freeze
from .loop import Trainer
from .objectives import MaskedTokenObjective, ObjectiveConfig
from .optim import seed_everything
from .settings import TrainerConfig
from .sources import (
    SyntheticSource,
    data_directory,
    gaia_xp_dataset,
    label_ranges,
    split_indices,
    synthetic_dataset,
    training_coverage,
    training_vocabulary,
)

__all__ = ["add_arguments", "build_parser", "export_checkpoint", "run_training", "train_main"]

#: File in a data cache that records the settings the cached data were made with.
CACHE_SETTINGS = "settings.json"


def add_arguments(parser):
    """Add the arguments of ``specfm train`` to an `argparse.ArgumentParser`.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The parser to extend.

    Returns
    -------
    argparse.ArgumentParser
        The same parser.

    """
    parser.add_argument("config", help="TOML configuration file")
    parser.add_argument("--resume", nargs="?", const="latest", default=None,
                        help="resume from a checkpoint folder (default: the newest one in "
                             "[trainer] checkpoint_dir or resume_point)")
    parser.add_argument("--output", help="override the output path of the model")
    parser.add_argument("--device", help="override the device (cpu, cuda, ...)")
    parser.add_argument("--export-checkpoint", metavar="PATH",
                        help="do not train: write the model of a checkpoint (the one --resume "
                             "names, default the newest) to PATH, e.g. to benchmark a run "
                             "that is still going")
    return parser


def build_parser():
    """Return the `argparse.ArgumentParser` of ``specfm train``."""
    return add_arguments(argparse.ArgumentParser(
        prog="specfm train", description="Train or fine-tune a specfm model from a TOML file."))


def _section(config, name, cls):
    values = dict(config.get(name, {}))
    try:
        return cls(**values)
    except TypeError as err:
        raise SpecfmInputError(f"Bad key in [{name}] of the configuration: {err}") from None


def _tokenizer_config(config):
    from ..tokens import TokenizerConfig, Vocabulary

    section = dict(config.get("tokenizer", {}))
    vocab = section.pop("vocabulary", None)
    vocabulary = Vocabulary.from_list(vocab) if vocab else training_vocabulary()
    return TokenizerConfig(vocabulary=vocabulary, **section)


def _select_rows(labels_path, data, seed):
    """Return the rows of the XP table to train on and to validate on."""
    from ..io import read_gaia_xp_table

    table = read_gaia_xp_table(labels_path)
    n = len(table)
    train, val = split_indices(n, data.get("validation_fraction", 0.1), seed)
    selection = data.get("train_selection")
    if selection:
        name, op, value = selection.split()
        column = table.labels[name]
        known = ~column.mask
        x = column.unmasked.value
        keep = known & (x > float(value) if op == ">" else x < float(value))
        train = train[keep[train]]
    if data.get("n_train"):
        rng = np.random.default_rng(data.get("subset_seed", seed))
        train = np.sort(rng.choice(train, size=int(data["n_train"]), replace=False))
    return train, val


def load_training_data(config, base, seed, progress=True):
    """Build or load the training and validation sets that ``[data]`` describes.

    Parameters
    ----------
    config : dict
        The parsed TOML configuration.
    base : pathlib.Path
        Folder that relative paths in the configuration start from.
    seed : int
        Seed of validation splits (``[data] split_seed`` when the configuration
        gives one, so that runs with different ``[trainer] seed`` share one split).
    progress : bool
        Show progress bars.

    Returns
    -------
    train, val : TokenDataset
        ``val`` may be None.
    tokenizer : `~specfm.tokens.TokenizerConfig` or None
        The settings the data were tokenised with (None for pre-tokenised files).
    record : dict
        A description of the data for the model's provenance.

    """
    data = config.get("data", {})
    seed = data.get("split_seed", seed)
    kind = data.get("kind", "files")
    if kind == "files":
        if "train" not in data:
            raise SpecfmInputError("The configuration needs [data] train = '<file>'.")
        train = TokenDataset.load(base / data["train"])
        if data.get("validation"):
            val = TokenDataset.load(base / data["validation"])
        elif data.get("validation_fraction"):
            train, val = train.split(data["validation_fraction"], seed)
        else:
            val = None
        return train, val, None, {"kind": "files", "train": data["train"]}
    tokenizer = _tokenizer_config(config)
    cache = base / data["cache"] if data.get("cache") else None
    settings = {"data": {key: value for key, value in data.items()
                         if key not in ("cache", "workers", "split_seed")},
                "tokenizer": config.get("tokenizer", {}), "seed": seed}
    if kind == "synthetic":  # a preset's noise model can change between specfm versions
        settings["noise"] = _noise_fingerprints(data.get("sources", []))
    if cache is not None and (cache / "train.safetensors").exists():
        _check_cache(cache, settings)
        train = TokenDataset.load(cache / "train.safetensors")
        val_path = cache / "validation.safetensors"
        val = TokenDataset.load(val_path) if val_path.exists() else None
    elif kind == "synthetic":
        full = synthetic_dataset(data["sources"], tokenizer, data_directory(data.get("data_dir")),
                                 data.get("workers", 2), progress)
        train, val = full.split(data.get("validation_fraction", 0.05), seed)
    elif kind == "gaia_xp":
        path = data_directory(data.get("data_dir")) / data.get(
            "path", "gaia_xp_apogee/train.fits.gz")
        train_rows, val_rows = _select_rows(path, data, seed)
        colours = data.get("colours", True)
        train = gaia_xp_dataset(path, tokenizer, rows=train_rows, colours=colours)
        val = gaia_xp_dataset(path, tokenizer, rows=val_rows, colours=colours)
    else:
        raise SpecfmInputError(f"Unknown [data] kind {kind!r}: use files, synthetic or gaia_xp.")
    if cache is not None and not (cache / "train.safetensors").exists():
        cache.mkdir(parents=True, exist_ok=True)
        train.save(cache / "train.safetensors")
        if val is not None:
            val.save(cache / "validation.safetensors")
        (cache / CACHE_SETTINGS).write_text(json.dumps(settings, indent=1, sort_keys=True))
    record = {key: value for key, value in data.items() if key not in ("cache", "data_dir")}
    record["n_train_rows"] = len(train)
    record["n_validation_rows"] = 0 if val is None else len(val)
    return train, val, tokenizer, record


def _noise_fingerprints(sources):
    """Per source, ``{instrument: [noise kind, shape sha256]}`` (`SyntheticSource`)."""
    return [(s if isinstance(s, SyntheticSource) else SyntheticSource(**s)).noise_fingerprint()
            for s in sources]


def _check_cache(cache, settings):
    """Refuse a data cache that was made with other [data] or [tokenizer] settings."""
    path = cache / CACHE_SETTINGS
    stored = json.loads(path.read_text()) if path.exists() else None
    if stored != json.loads(json.dumps(settings, sort_keys=True)):
        raise SpecfmInputError(
            f"The data cache {cache} was made with other [data] or [tokenizer] settings "
            f"(or before they were recorded in {CACHE_SETTINGS}), so it does not hold the data "
            "this configuration asks for. Delete that folder to rebuild it, or name another "
            "[data] cache.")


def train_main(argv=None):
    """Run ``specfm train``; return the process exit status.

    Parameters
    ----------
    argv : list of str or None
        Command-line arguments (``sys.argv[1:]`` if None).

    Returns
    -------
    int
        0 on success.

    """
    return run_training(build_parser().parse_args(argv))


def _checkpoint_folders(config, base):
    trainer = config.get("trainer", {})
    return [base / trainer[key] if trainer.get(key) else None
            for key in ("checkpoint_dir", "resume_point")]


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
        The model written. Its provenance is the run's (as `run_training` records it when
        the run ends) plus ``checkpoint``: the step, epoch and loss history so far.

    Raises
    ------
    SpecfmInputError
        If there is no checkpoint to export.

    """
    from .checkpoint import read_checkpoint

    path = pathlib.Path(config_path)
    with open(path, "rb") as f:
        config = tomllib.load(f)
    folder = (pathlib.Path(checkpoint) if checkpoint is not None
              else newest_checkpoint(*_checkpoint_folders(config, path.parent)))
    if folder is None:
        raise SpecfmInputError(f"{path} has no checkpoint yet: train first.")
    tensors, state = read_checkpoint(folder)
    network = SpecFMNetwork(ModelConfig.from_dict(state["model_config"]))
    network.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")},
                            strict=True)
    record = dict(state.get("run_record") or {})
    record["checkpoint"] = {key: state.get(key) for key in (
        "step", "epoch", "batch_in_epoch", "history", "best_val_loss", "data_fingerprint")}
    record["checkpoint"]["total_steps"] = state.get("trainer", {}).get("max_steps")
    return save_model(network, output, provenance=record, overwrite=overwrite)


def run_training(args):
    """Train as ``specfm train`` does, from parsed arguments (see `add_arguments`).

    Parameters
    ----------
    args : argparse.Namespace
        The parsed arguments.

    Returns
    -------
    int
        0 on success.

    """
    if args.export_checkpoint:
        folder = None if args.resume in (None, "latest") else args.resume
        out = export_checkpoint(args.config, args.export_checkpoint, folder,
                                overwrite=False)
        print(f"specfm train: checkpoint exported to {out}")
        return 0
    path = pathlib.Path(args.config)
    with open(path, "rb") as f:
        config = tomllib.load(f)
    info = init_distributed()
    try:
        trainer_cfg = _section(config, "trainer", TrainerConfig)
        if args.device:
            trainer_cfg.device = args.device
        seed_everything(trainer_cfg.seed)
        base = path.parent
        train, val, tokenizer, data_record = load_training_data(
            config, base, trainer_cfg.seed, progress=trainer_cfg.progress)
        fine = config.get("finetune")
        if fine:
            network = extend_network(load_model(base / fine["from"]),
                                     fine.get("new_tokens", ()), fine.get("n_new_kinds", 0))
            freeze(network, fine.get("freeze", ()))
        else:
            model_cfg = dict(config.get("model", {}))
            model_cfg.setdefault("vocabulary", train.vocabulary.to_list())
            network = SpecFMNetwork(ModelConfig.from_dict(model_cfg))
        if tokenizer is not None:
            stored = {**tokenizer.to_dict(), **config.get("prediction", {})}
            stored["vocabulary"] = tokenizer.vocabulary
            data = config.get("data", {})
            if stored.get("coverage") is None and data.get("kind") == "synthetic":
                stored["coverage"] = training_coverage(data.get("sources", []))
            network.config.tokenizer = type(tokenizer)(**stored).to_dict()
        objective = MaskedTokenObjective(_section(config, "objective", ObjectiveConfig))
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
        if args.resume:
            folder = (newest_checkpoint(trainer_cfg.checkpoint_dir, trainer_cfg.resume_point)
                      if args.resume == "latest" else pathlib.Path(args.resume))
            if folder is None:
                raise SpecfmInputError(
                    "No checkpoint found to resume from (looked in checkpoint_dir "
                    f"{trainer_cfg.checkpoint_dir} and resume_point "
                    f"{trainer_cfg.resume_point}); start the run without --resume.")
            if info.is_main:
                print(f"specfm train: resuming from {folder}", file=sys.stderr)
            trainer.load_checkpoint(folder)
        result = trainer.fit()
        output = args.output or config.get("output")
        if output:
            out = trainer.save_model(base / output if not args.output else output,
                                     overwrite=True, extra_provenance=extra)
            if info.is_main:
                print(f"specfm train: {result.steps} steps, {result.epochs_completed} epochs, "
                      f"best validation loss {result.best_val_loss}; model written to {out}")
    finally:
        cleanup_distributed()
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through torchrun in the tests
    sys.exit(train_main())
