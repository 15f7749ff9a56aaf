"""The ``[data]`` and ``[tokenizer]`` sections of a training configuration: the datasets.

`load_training_data` builds the training and validation sets a configuration describes:
pre-tokenised files (``kind = "files"``), synthetic spectra rendered from
``[[data.sources]]`` (``kind = "synthetic"``), or the Gaia XP / APOGEE table of the shared
data (``kind = "gaia_xp"``), tokenised with the ``[tokenizer]`` settings and cached in
``[data] cache``. A cache records the settings it was made with (``CACHE_SETTINGS``) and is
refused when the configuration asks for other data.
"""

import json

import numpy as np

from ..exceptions import SpecfmInputError
from .data import TokenDataset
from .sources import (
    SyntheticSource,
    data_directory,
    gaia_xp_dataset,
    split_indices,
    synthetic_dataset,
    training_vocabulary,
)

__all__ = ["CACHE_SETTINGS", "cached_data_paths", "load_training_data", "tokenizer_config"]

CACHE_SETTINGS = "settings.json"
"""File in a data cache that records the settings the cached data were made with."""


def cached_data_paths(config, base):
    """Return the files of a configuration's data cache, or None when it has no cache.

    Parameters
    ----------
    config : dict
        The parsed TOML configuration.
    base : pathlib.Path
        Folder that relative paths in the configuration start from.

    Returns
    -------
    dict or None
        ``{"train": path, "validation": path, "settings": path}`` (`pathlib.Path`; the files
        exist once ``specfm train`` has built the cache), or None without ``[data] cache``.

    """
    cache = config.get("data", {}).get("cache")
    if not cache:
        return None
    folder = base / cache
    return {"train": folder / "train.safetensors",
            "validation": folder / "validation.safetensors",
            "settings": folder / CACHE_SETTINGS}


def tokenizer_config(config):
    """Return the `~specfm.tokens.TokenizerConfig` of a configuration's ``[tokenizer]``."""
    from ..tokens import TokenizerConfig, Vocabulary

    section = dict(config.get("tokenizer", {}))
    vocab = section.pop("vocabulary", None)
    vocabulary = Vocabulary.from_list(vocab) if vocab else training_vocabulary()
    return TokenizerConfig(vocabulary=vocabulary, **section)


def _select_rows(labels_path, data, seed):
    """Return the rows of the XP table to train on and to validate on."""
    from ..io import read_gaia_xp_table

    table = read_gaia_xp_table(labels_path)
    n = len(table)
    train, val = split_indices(n, data.get("validation_fraction", 0.1), seed)
    selection = data.get("train_selection")
    if selection:
        name, op, value = selection.split()
        column = table.labels[name]
        known = ~column.mask
        x = column.unmasked.value
        keep = known & (x > float(value) if op == ">" else x < float(value))
        train = train[keep[train]]
    if data.get("n_train"):
        rng = np.random.default_rng(data.get("subset_seed", seed))
        train = np.sort(rng.choice(train, size=int(data["n_train"]), replace=False))
    return train, val


def load_training_data(config, base, seed, progress=True):
    """Build or load the training and validation sets that ``[data]`` describes.

    Parameters
    ----------
    config : dict
        The parsed TOML configuration.
    base : pathlib.Path
        Folder that relative paths in the configuration start from.
    seed : int
        Seed of validation splits (``[data] split_seed`` when the configuration
        gives one, so that runs with different ``[trainer] seed`` share one split).
    progress : bool
        Show progress bars.

    Returns
    -------
    train, val : TokenDataset
        ``val`` may be None.
    tokenizer : `~specfm.tokens.TokenizerConfig` or None
        The settings the data were tokenised with (None for pre-tokenised files).
    record : dict
        A description of the data for the model's provenance.

    """
    data = config.get("data", {})
    seed = data.get("split_seed", seed)
    kind = data.get("kind", "files")
    if kind == "files":
        if "train" not in data:
            raise SpecfmInputError("The configuration needs [data] train = '<file>'.")
        train = TokenDataset.load(base / data["train"])
        if data.get("validation"):
            val = TokenDataset.load(base / data["validation"])
        elif data.get("validation_fraction"):
            train, val = train.split(data["validation_fraction"], seed)
        else:
            val = None
        return train, val, None, {"kind": "files", "train": data["train"]}
    tokenizer = tokenizer_config(config)
    paths = cached_data_paths(config, base)
    settings = {"data": {key: value for key, value in data.items()
                         if key not in ("cache", "workers", "split_seed")},
                "tokenizer": config.get("tokenizer", {}), "seed": seed}
    if kind == "synthetic":  # a preset's noise model can change between specfm versions
        settings["noise"] = _noise_fingerprints(data.get("sources", []))
        # the uncertainty setting is in the noise fingerprint (the caches written before
        # the setting existed are "noiseless" and have no such key)
        settings["data"]["sources"] = [
            {k: v for k, v in s.items() if k != "uncertainty"} if isinstance(s, dict) else s
            for s in data.get("sources", [])]
    cached = paths is not None and paths["train"].exists()
    if cached:
        _check_cache(paths["train"].parent, settings)
        train = TokenDataset.load(paths["train"])
        val = TokenDataset.load(paths["validation"]) if paths["validation"].exists() else None
    elif kind == "synthetic":
        full = synthetic_dataset(data["sources"], tokenizer, data_directory(data.get("data_dir")),
                                 data.get("workers", 2), progress)
        train, val = full.split(data.get("validation_fraction", 0.05), seed)
    elif kind == "gaia_xp":
        path = data_directory(data.get("data_dir")) / data.get(
            "path", "gaia_xp_apogee/train.fits.gz")
        train_rows, val_rows = _select_rows(path, data, seed)
        colours = data.get("colours", True)
        train = gaia_xp_dataset(path, tokenizer, rows=train_rows, colours=colours)
        val = gaia_xp_dataset(path, tokenizer, rows=val_rows, colours=colours)
    else:
        raise SpecfmInputError(f"Unknown [data] kind {kind!r}: use files, synthetic or gaia_xp.")
    if paths is not None and not cached:
        paths["train"].parent.mkdir(parents=True, exist_ok=True)
        train.save(paths["train"])
        if val is not None:
            val.save(paths["validation"])
        paths["settings"].write_text(json.dumps(settings, indent=1, sort_keys=True))
    record = {key: value for key, value in data.items() if key not in ("cache", "data_dir")}
    record["n_train_rows"] = len(train)
    record["n_validation_rows"] = 0 if val is None else len(val)
    return train, val, tokenizer, record


def _noise_fingerprints(sources):
    """Per source, ``{instrument: [noise kind, shape sha256]}`` (`SyntheticSource`)."""
    return [(s if isinstance(s, SyntheticSource) else SyntheticSource(**s)).noise_fingerprint()
            for s in sources]


def _check_cache(cache, settings):
    """Refuse a data cache that was made with other [data] or [tokenizer] settings."""
    path = cache / CACHE_SETTINGS
    stored = json.loads(path.read_text()) if path.exists() else None
    if stored != json.loads(json.dumps(settings, sort_keys=True)):
        raise SpecfmInputError(
            f"The data cache {cache} was made with other [data] or [tokenizer] settings "
            f"(or before they were recorded in {CACHE_SETTINGS}), so it does not hold the data "
            "this configuration asks for. Delete that folder to rebuild it, or name another "
            "[data] cache.")
