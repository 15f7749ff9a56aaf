"""The Gaia XP / APOGEE table and **our validation split** of it.

The split is the one ``specfm-xp`` was validated on
(``specfm.training.split_indices(n_rows, 0.1, seed=0)``, second array); labels come back
as arrays in K / dex with NaN where unknown.
"""

import tomllib

import numpy as np
from _paths import MODELS, XP_CONFIG, xp_path

__all__ = [
    "COLOURS", "LABELS", "PAPER_BAR", "SPLIT_SEED", "VALIDATION_FRACTION", "label_arrays",
    "n_table_rows", "read_validation", "read_xp", "split_arguments", "split_rows", "subsample",
    "xp_config_section", "xp_split", "xp_tokenizer_settings"
]

LABELS = ("teff", "logg", "fe_h", "alpha_m")


COLOURS = ("bp_rp", "g_rp", "bp_g", "g_j", "j_h", "h_k", "j_k")


VALIDATION_FRACTION = 0.1  # configs/specfm-xp.toml [data] validation_fraction


SPLIT_SEED = 0  # configs/specfm-xp.toml [trainer] seed (the split's seed in specfm train)


PAPER_BAR = {"teff": 47.0, "logg": 0.11, "fe_h": 0.07}
"""Scatter reached by the published XP models (issue 5): Teff 47 K, logg 0.11, [Fe/H] 0.07."""


def n_table_rows(path):
    """Rows of a FITS table (read from the header only)."""
    from astropy.io import fits

    with fits.open(path) as hdul:
        return int(hdul[1].header["NAXIS2"])


def xp_split(path):
    """Return ``(train, validation)`` row indices of our split of the XP table."""
    from specfm.training import split_indices

    return split_indices(n_table_rows(path), VALIDATION_FRACTION, seed=SPLIT_SEED)


def subsample(rows, n, seed=0):
    """Return a sorted random subset of ``n`` of ``rows`` (all when ``n`` is None or larger)."""
    if n is None or n >= len(rows):
        return np.asarray(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, size=int(n), replace=False))


def split_arguments(parser, train_help=None):
    """Add the model folder, ``--max-train`` / ``--max-val`` and ``--batch-size``.

    For the scripts that judge a specfm-xp model on our XP split. ``train_help`` says
    what the training rows are used for in that script; without it the script reads the
    validation rows alone and has no ``--max-train``.
    """
    parser.add_argument("model", nargs="?", default=str(MODELS / "specfm-xp"),
                        help="specfm-xp model folder (default: the shipped one)")
    if train_help is not None:
        parser.add_argument("--max-train", type=int, default=None,
                            help=f"{train_help} (random subset; default: all)")
    parser.add_argument("--max-val", type=int, default=None,
                        help="validation rows (random subset; default: all)")
    parser.add_argument("--batch-size", type=int, default=64, help="specfm predict batch")
    return parser


def split_rows(args):
    """``(path, train_rows, validation_rows)`` of our XP split, cut to ``--max-*``."""
    path = xp_path(args.data)
    train_rows, val_rows = xp_split(path)
    train_rows = subsample(train_rows, getattr(args, "max_train", None), seed=1)
    val_rows = subsample(val_rows, args.max_val, seed=2)
    print(f"{len(train_rows)} training rows, {len(val_rows)} validation rows of {path}")
    return path, train_rows, val_rows


def read_xp(path, rows):
    """Read rows of the XP table (`specfm.io.read_gaia_xp_table`)."""
    from specfm.io import read_gaia_xp_table

    return read_gaia_xp_table(path, rows=np.asarray(rows))


def read_validation(data=None):
    """``(XP table of our validation rows, their labels as arrays)`` from the shared data."""
    path = xp_path(data)
    _, val_rows = xp_split(path)
    table = read_xp(path, val_rows)
    return table, label_arrays(table.labels, LABELS)


def label_arrays(labels, names=LABELS):
    """``{name: float array}`` in K / dex from a (masked) label QTable; NaN where unknown."""
    out = {}
    for name in names:
        if name not in labels.colnames:
            continue
        column = labels[name]
        unit = column.unit
        value = getattr(column, "unmasked", column)
        value = np.asarray(value.to_value(unit) if hasattr(value, "to_value") else value,
                           dtype=float)
        mask = np.asarray(getattr(column, "mask", np.zeros(len(value), bool)), dtype=bool)
        out[name] = np.where(mask, np.nan, value)
    return out


def xp_tokenizer_settings():
    """The ``[tokenizer]`` section of configs/specfm-xp.toml (dict)."""
    with open(XP_CONFIG, "rb") as f:
        return dict(tomllib.load(f).get("tokenizer", {}))


def xp_config_section(name):
    """A section of configs/specfm-xp.toml (dict)."""
    with open(XP_CONFIG, "rb") as f:
        return dict(tomllib.load(f).get(name, {}))
