"""Validation loss of models on one training run's validation data, as its trainer scores it.

A pre-training run reports its validation loss at the end of every epoch, on its own
validation rows. Two runs on different data (specfm-base v2 and v3 drew other stars)
cannot be compared by those numbers; this script scores any models on the validation
rows of one configuration's data cache with that configuration's ``[objective]``, the
same contexts and requests the trainer draws (`specfm.training.Trainer.validate`: a
generator seeded from ``[trainer] seed``, the same for every model), so the numbers sit
beside the run's own history. Lower is better (a Gaussian negative log-likelihood per
request, weighted as in training).

The configuration's data cache must exist (``specfm train CONFIG`` builds it first).

With ``--rows train`` the models are scored instead on as many of the run's *training*
rows as it has validation rows (drawn at random, seed 0, the same for every model): a
model that scores its training rows much better than its validation rows has learnt its
training stars (more stars would help); one that scores both alike has not yet learnt
what they hold (a larger network or longer training would).

Usage::

    python benchmarks/validation_loss.py configs/specfm-base-v3.toml \\
        specfm/pretrained/models/specfm-base runs/specfm-base-v3/now --names v2 v3-now
    python benchmarks/validation_loss.py configs/specfm-base-v3.toml \\
        specfm/pretrained/models/specfm-base --rows train --name training_loss

Writes ``benchmarks/results/validation_loss.ecsv`` and ``.rst`` (``--output-dir``).
"""

import argparse
import dataclasses
import pathlib
import sys
import time

import _paths as where
import _writing as writer

__all__ = ["cached_rows", "main", "quiet_settings", "score"]


def score(model_path, validation, objective, trainer_config):
    """Return the validation loss of the model folder ``model_path``."""
    from specfm.model import load_model
    from specfm.training import Trainer

    network = load_model(model_path)
    trainer = Trainer(network, validation, validation, objective, trainer_config)
    return trainer.validate()


def cached_rows(config_path, rows="validation"):
    """``(config, rows, path)``: a run's cached validation rows, or as many training rows.

    ``rows="train"`` draws as many of the training rows as there are validation rows, at
    random (seed 0). Exits with what to run when the run's data cache does not exist.
    """
    import numpy as np

    from specfm.training import TokenDataset
    from specfm.training.config_data import cached_data_paths
    from specfm.training.from_config import read_config

    config, base = read_config(config_path)
    paths = cached_data_paths(config, base)
    path = paths["validation"] if paths else None
    if path is None or not path.exists():
        sys.exit(f"No validation data at {path}: run `specfm train {config_path}` first "
                 "(it builds the data cache).")
    data = TokenDataset.load(path)
    if rows == "train":
        path = paths["train"]
        training = TokenDataset.load(path)
        pick = np.random.default_rng(0).choice(len(training), len(data), replace=False)
        data = training.subset(np.sort(pick))
    return config, data, path


def quiet_settings(config, **changes):
    """The run's ``[trainer]`` settings (its seed and batch size fix the contexts and
    requests drawn) without checkpoints, resume point or progress bar."""
    from specfm.training.from_config import trainer_config

    return dataclasses.replace(trainer_config(config), progress=False, checkpoint_every=0,
                               checkpoint_dir=None, resume_point=None, **changes)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="training configuration whose validation data to use")
    parser.add_argument("models", nargs="+", help="model folders")
    parser.add_argument("--names", nargs="+", default=None,
                        help="a name per model for the table (default: folder names)")
    parser.add_argument("--name", default="validation_loss", help="results file name")
    parser.add_argument("--rows", choices=("validation", "train"), default="validation",
                        help="score the run's validation rows (default), or as many of its "
                             "training rows drawn at random")
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    names = args.names or [pathlib.Path(m).name for m in args.models]
    if len(names) != len(args.models):
        parser.error("give one --names entry per model")

    import torch
    from astropy.table import Table

    from specfm.training.from_config import training_objective

    torch.set_num_threads(args.threads)
    config, validation, path = cached_rows(args.config, args.rows)
    objective = training_objective(config)
    trainer_settings = quiet_settings(config, max_steps=1)
    rows = []
    for name, model in zip(names, args.models, strict=True):
        t0 = time.perf_counter()
        loss = score(model, validation, objective, trainer_settings)
        rows.append({"model": name, "path": str(model), "val_loss": loss,
                     "sha256": writer.model_sha256(model) or ""})
        print(f"{name:20s} {args.rows} loss {loss:8.4f} ({len(validation)} rows, "
              f"{time.perf_counter() - t0:.0f} s)", flush=True)
    table = Table(rows=rows)
    table["val_loss"].info.format = ".4f"
    table.meta.update(writer.run_metadata(config=str(args.config), n_rows=len(validation),
                                          rows=args.rows, validation_file=str(path)))
    which = ("validation rows" if args.rows == "validation"
             else "training rows (a random sample the size of its validation rows, seed 0)")
    writer.write_results(
        table, args.name, args.output_dir,
        f"Loss on the {which} of {pathlib.Path(args.config).name} "
        f"({len(validation):,} rows), with its objective and contexts",
        ("Model", "Loss", "sha256"),
        [(r["model"], f"{r['val_loss']:.4f}", r["sha256"][:12]) for r in rows],
        notes=("Gaussian negative log-likelihood per request (labels and flux pixels, "
               "weighted as in training); lower is better. The same contexts and requests "
               "for every model (specfm.training.Trainer.validate).",))
    return table


if __name__ == "__main__":
    main()
