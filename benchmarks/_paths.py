"""Where things are, for the benchmark scripts: the repository, the shipped models, the
shared data (``--data``, ``$SPECFM_DATA`` or ``../shared/data``), and the arguments and
thread limit every script starts with."""

import os
import pathlib

__all__ = [
    "HERE", "MODELS", "RESULTS", "ROOT", "XP_CONFIG", "XP_FILE", "common_arguments",
    "data_dir", "light_torch", "xp_path"
]

HERE = pathlib.Path(__file__).resolve().parent


ROOT = HERE.parent


RESULTS = HERE / "results"


MODELS = ROOT / "specfm" / "pretrained" / "models"


XP_FILE = "gaia_xp_apogee/train.fits.gz"


XP_CONFIG = ROOT / "configs" / "specfm-xp.toml"


def light_torch(threads=1):
    """Limit torch (and BLAS) to ``threads`` CPU threads."""
    import torch

    torch.set_num_threads(int(threads))


def data_dir(path=None):
    """The shared data folder: ``--data``, ``$SPECFM_DATA``, ``../shared/data`` (from the
    current folder, then from the repository root)."""
    from specfm.training.sources import data_directory

    beside_root = ROOT.parent / "shared" / "data"
    if path is None and not os.environ.get("SPECFM_DATA") and beside_root.is_dir():
        path = beside_root
    return data_directory(path)


def xp_path(data=None):
    """Path of the Gaia XP / APOGEE table in the shared data folder."""
    return data_dir(data) / XP_FILE


def common_arguments(parser, output=True):
    """Add ``--data``, ``--output-dir`` and ``--threads`` to a parser."""
    parser.add_argument("--data", default=None,
                        help="shared data folder (default: $SPECFM_DATA or ../shared/data)")
    if output:
        parser.add_argument("--output-dir", default=str(RESULTS),
                            help="where results go (default: benchmarks/results)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    return parser
