"""Combine trained model folders into one ensemble model folder.

The parser and the work are `specfm.training.ensemble.add_arguments` and
`specfm.training.ensemble.run_ensemble`, used as they are.
"""

from ..training.ensemble import add_arguments as setup_parser
from ..training.ensemble import run_ensemble as run

__all__ = ["run", "setup_parser"]
