"""Copy the training history of a model that ``specfm train`` wrote into the results.

``specfm train`` records, in the ``provenance`` of the ``config.json`` it writes, the
training and validation loss of every epoch and the best validation loss (the weights it
writes are that epoch's). Experiment models live in the git-ignored ``runs/``; this writes
the part of their provenance that the docs quote to ``training_history.json`` in the
experiment's results folder, with the training command that made the model.

Usage (from the repository root)::

    python benchmarks/training_history.py runs/experiments/xp-35epochs/model \\
        --train-command "specfm train configs/experiments/xp-35epochs.toml" \\
        --note "the shipped 28-epoch specfm-xp ended at 0.4798" \\
        --output-dir benchmarks/results/experiments/xp-35epochs
"""

import argparse
import json
import pathlib

__all__ = ["main", "training_history"]

FIELDS = ("steps", "epochs_completed", "best_val_loss", "history", "created")
"""Provenance fields copied, in this order."""


def training_history(model_dir, train_command, note=""):
    """The training history of the model in ``model_dir``, as a dict ready for JSON."""
    config_path = pathlib.Path(model_dir) / "config.json"
    provenance = json.loads(config_path.read_text())["provenance"]
    missing = [name for name in FIELDS if name not in provenance]
    if missing:
        raise SystemExit(f"{config_path}: provenance lacks {missing}; was it written by "
                         "specfm train?")
    text = (f"provenance of the model it wrote ({config_path}): training history, "
            "validation loss per epoch")
    out = {"command": train_command, "note": f"{text}; {note}" if note else text}
    out.update((name, provenance[name]) for name in FIELDS)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="folder of the model (config.json + model.safetensors)")
    parser.add_argument("--train-command", required=True,
                        help="the command that trained it (recorded in the output)")
    parser.add_argument("--note", default="", help="appended to the output's note")
    parser.add_argument("--output-dir", required=True, type=pathlib.Path)
    args = parser.parse_args(argv)
    history = training_history(args.model, args.train_command, args.note)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / "training_history.json"
    path.write_text(json.dumps(history, indent=1) + "\n")
    print(f"{path}: {history['epochs_completed']} epochs, best validation loss "
          f"{history['best_val_loss']:.4f}")


if __name__ == "__main__":
    main()
