"""Train or fine-tune a specfm model from a TOML configuration file."""

from ..training.command import add_arguments, run_training

__all__ = ["run", "setup_parser"]


def setup_parser(parser):
    """Add the arguments of ``specfm train`` (see `specfm.training.command`).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-parser to fill.

    """
    add_arguments(parser)


def run(args):
    """Run ``specfm train``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed arguments.

    Returns
    -------
    int
        The exit status.

    """
    return run_training(args)
