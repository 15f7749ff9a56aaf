"""Train or fine-tune a specfm model from a TOML configuration file.

``specfm train CONFIG.toml`` runs `specfm.training.from_config.train_from_config`;
``--export-checkpoint PATH`` writes the model of a run still going
(`specfm.training.from_config.export_checkpoint`). On several processes:
``torchrun --nproc_per_node 4 -m specfm.cli.train CONFIG.toml``.

SIGTERM (what a batch scheduler sends before it ends a job) or Ctrl-C stops the run after
the step in progress, with a checkpoint and the resume point written there, as
``--max-minutes`` does; a second Ctrl-C interrupts at once.
"""

import argparse
import signal
import sys

from ..training.from_config import export_checkpoint, train_from_config

__all__ = ["build_parser", "main", "run", "setup_parser"]


def setup_parser(parser):
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
    parser.add_argument("--max-minutes", type=float, default=None, metavar="M",
                        help="stop after M minutes of training, writing a checkpoint (and "
                             "the resume point) where it stopped; resume later with --resume")
    parser.add_argument("--export-checkpoint", metavar="PATH",
                        help="do not train: write the model of a checkpoint (the one --resume "
                             "names, default the newest) to PATH, e.g. to benchmark a run "
                             "that is still going")
    return parser


def build_parser():
    """Return the `argparse.ArgumentParser` of ``specfm train`` on its own."""
    return setup_parser(argparse.ArgumentParser(
        prog="specfm train", description="Train or fine-tune a specfm model from a TOML file."))


def run(args):
    """Run ``specfm train`` from parsed arguments.

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
        out = export_checkpoint(args.config, args.export_checkpoint, folder)
        print(f"specfm train: checkpoint exported to {out}")
        return 0
    limit = None if args.max_minutes is None else 60.0 * args.max_minutes
    done = train_from_config(args.config, resume=args.resume, output=args.output,
                             device=args.device, time_limit=limit,
                             stop_signals=(signal.SIGTERM, signal.SIGINT))
    result = done.result
    if result.interrupted:
        why = (f"after {args.max_minutes:g} minutes" if result.stop_reason == "time_limit"
               else f"by {result.stop_reason}")
        print(f"specfm train: stopped {why} at step {result.steps}; continue with "
              "--resume")
    elif done.model is not None:  # only the first process writes the model
        print(f"specfm train: {result.steps} steps, {result.epochs_completed} epochs, "
              f"best validation loss {result.best_val_loss}; model written to {done.model}")
    return 0


def main(argv=None):
    """Run ``specfm train`` as a program; return its exit status.

    Parameters
    ----------
    argv : list of str or None
        Command-line arguments (``sys.argv[1:]`` if None).

    Returns
    -------
    int
        0 on success.

    """
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":  # pragma: no cover - exercised through torchrun in the tests
    sys.exit(main())
