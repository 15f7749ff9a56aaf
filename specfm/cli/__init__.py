"""The ``specfm`` console command.

Each subcommand is a module of this package with two functions: ``setup_parser(parser)``
adds its arguments to an `argparse.ArgumentParser`, and ``run(args)`` does the work and
returns the exit status. To add one, write the module and add it to `SUBCOMMANDS`. The
subcommands stay thin: parse, call the library, report.
"""

import argparse
import sys

from ..exceptions import SpecfmError
from . import demo, ensemble, info, predict, train

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

SUBCOMMANDS = {
    "demo": (demo.setup_parser, demo.run),
    "ensemble": (ensemble.setup_parser, ensemble.run),
    "info": (info.setup_parser, info.run),
    "predict": (predict.setup_parser, predict.run),
    "train": (train.setup_parser, train.run),
}
"""Subcommand name -> ``(setup_parser, run)``; the first line of ``run``'s module docstring
is the subcommand's help."""


def build_parser():
    """Return the `argparse.ArgumentParser` of the ``specfm`` command.

    Returns
    -------
    argparse.ArgumentParser
        The parser, with one sub-parser per entry of `SUBCOMMANDS`.

    """
    from .._meta import version as __version__

    parser = argparse.ArgumentParser(
        prog="specfm",
        description="specfm: a Transformer foundation model for stellar spectra.",
    )
    parser.add_argument("--version", action="version", version=f"specfm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (setup_parser, run) in SUBCOMMANDS.items():
        module = sys.modules[run.__module__]
        summary = (module.__doc__ or "").strip().splitlines()[0]
        setup_parser(sub.add_parser(name, help=summary, description=summary))
    return parser


def main(argv=None):
    """Run the ``specfm`` command.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``specfm``; by default those of the command line.

    Returns
    -------
    int
        The exit status: 0 on success, 1 when the subcommand raised a
        `~specfm.exceptions.SpecfmError` (its message is printed to standard error), 2 when
        no subcommand was given.

    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    _, run = SUBCOMMANDS[args.command]
    try:
        return run(args)
    except SpecfmError as error:
        # Errors about the input say what to change; a traceback would hide that.
        print(f"specfm {args.command}: error: {error}", file=sys.stderr)
        return 1
