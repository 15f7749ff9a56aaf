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

Launch on several processes with
``torchrun --nproc_per_node 4 -m specfm.training.command config.toml``.
"""

import argparse
import pathlib
import sys

import tomllib

from ..exceptions import SpecfmInputError
from ..model.config import ModelConfig
from ..model.network import SpecFMNetwork
from ..model.storage import load_model
from .checkpoint import latest_checkpoint
from .data import TokenDataset
from .distributed import cleanup_distributed, init_distributed
from .finetune import extend_network, freeze
from .loop import Trainer
from .objectives import MaskedTokenObjective, ObjectiveConfig
from .optim import seed_everything
from .settings import TrainerConfig

__all__ = ["add_arguments", "build_parser", "run_training", "train_main"]


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
                        help="resume from a checkpoint folder (default: the latest one)")
    parser.add_argument("--output", help="override the output path of the model")
    parser.add_argument("--device", help="override the device (cpu, cuda, ...)")
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
    path = pathlib.Path(args.config)
    with open(path, "rb") as f:
        config = tomllib.load(f)
    info = init_distributed()
    try:
        trainer_cfg = _section(config, "trainer", TrainerConfig)
        if args.device:
            trainer_cfg.device = args.device
        seed_everything(trainer_cfg.seed)
        data = config.get("data", {})
        if "train" not in data:
            raise SpecfmInputError("The configuration needs [data] train = '<file>'.")
        base = path.parent
        train = TokenDataset.load(base / data["train"])
        if data.get("validation"):
            val = TokenDataset.load(base / data["validation"])
        elif data.get("validation_fraction"):
            train, val = train.split(data["validation_fraction"], trainer_cfg.seed)
        else:
            val = None
        fine = config.get("finetune")
        if fine:
            network = extend_network(load_model(base / fine["from"]),
                                     fine.get("new_tokens", ()), fine.get("n_new_kinds", 0))
            freeze(network, fine.get("freeze", ()))
        else:
            model_cfg = dict(config.get("model", {}))
            model_cfg.setdefault("vocabulary", train.vocabulary.to_list())
            network = SpecFMNetwork(ModelConfig.from_dict(model_cfg))
        objective = MaskedTokenObjective(_section(config, "objective", ObjectiveConfig))
        if trainer_cfg.checkpoint_dir:
            trainer_cfg.checkpoint_dir = str(base / trainer_cfg.checkpoint_dir)
        trainer = Trainer(network, train, val, objective, trainer_cfg)
        if args.resume:
            folder = (latest_checkpoint(trainer_cfg.checkpoint_dir or ".")
                      if args.resume == "latest" else pathlib.Path(args.resume))
            if folder is None:
                raise SpecfmInputError("No checkpoint found to resume from.")
            trainer.load_checkpoint(folder)
        result = trainer.fit()
        output = args.output or config.get("output")
        if output:
            out = trainer.save_model(base / output if not args.output else output,
                                     overwrite=True)
            if info.is_main:
                print(f"specfm train: {result.steps} steps, {result.epochs_completed} epochs, "
                      f"best validation loss {result.best_val_loss}; model written to {out}")
    finally:
        cleanup_distributed()
    return 0


if __name__ == "__main__":  # pragma: no cover - exercised through torchrun in the tests
    sys.exit(train_main())
