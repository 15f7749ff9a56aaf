"""Combine trained model folders into one ensemble model folder.

``specfm ensemble OUTPUT MEMBER MEMBER ...`` builds the ensemble with
`specfm.training.build_ensemble` and writes it with `specfm.model.save_model`.
"""

from ..model.storage import save_model
from ..training.ensemble import build_ensemble

__all__ = ["run", "setup_parser"]


def setup_parser(parser):
    """Add the arguments of ``specfm ensemble`` to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The sub-parser to fill.

    """
    parser.add_argument("output", help="model folder (or .zip) to write")
    parser.add_argument("members", nargs="+", help="two or more model folders to combine")
    parser.add_argument("--description", default=None, help="what the ensemble is")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing model at OUTPUT")


def run(args):
    """Build and write the ensemble that ``args`` describes; report where.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by a parser that `setup_parser` filled.

    Returns
    -------
    int
        0 on success.

    """
    ensemble = build_ensemble(args.members, description=args.description)
    path = save_model(ensemble, args.output, overwrite=args.overwrite)
    print(f"ensemble of {ensemble.n_members} members written to {path} "
          f"({ensemble.n_parameters():,} parameters)")
    return 0
