"""Training data sources: synthetic corpora and the Gaia XP / APOGEE table, as token datasets.

Each source turns spectra into a `~specfm.training.TokenDataset` with the tokenizer settings
that will be stored in the model, so that training and prediction see identical tokens.

Synthetic sources render stars with `specfm.synth` (emulators from the shared data folder,
instrument presets), in shards processed in parallel; each shard has its own seed, so the
data set is the same for any number of workers.
"""

import dataclasses
import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import astropy.units as u
import numpy as np
import torch
from tqdm.auto import tqdm

from ..exceptions import SpecfmInputError
from ..synth.instruments import UNCERTAINTIES
from ..tokens import DEFAULT_VOCABULARY, TokenBatch, Tokenizer, TokenizerConfig
from ..tokens.vocabulary import TokenKind, TokenSpec
from .data import TokenDataset, labels_to_tensors

__all__ = [
    "EMULATORS",
    "EXTRA_LABELS",
    "NOISE_CHOICES",
    "SyntheticSource",
    "data_directory",
    "gaia_xp_dataset",
    "label_ranges",
    "load_emulator",
    "split_indices",
    "synthetic_dataset",
    "training_coverage",
    "training_max_snr",
    "training_vocabulary",
]

EMULATORS = {
    "cannon_coolstars": ("emulators/cannon_cubic_coolstars.npz",),
    "cannon_hotdwarfs": ("emulators/cannon_cubic_hotdwarfs.npz",),
    "payne_pixelwise_apogee": (
        "emulators/payne_pixelwise_apogee_dwarfs.npz",
        "apogee/payne_wavelength_7214.npz",
    ),
    "payne_optical": (
        "emulators/payne_ann_optical_giants_3500-4200.npz",
        "emulators/payne_ann_optical_giants_4000-5000.npz",
        "emulators/payne_ann_optical_giants_4900-6000.npz",
    ),
}
"""Emulator names -> files in the shared data folder."""

EXTRA_LABELS = (
    TokenSpec("mg_m", TokenKind.LABEL, "dex", 0.1, 0.15, "magnesium [Mg/M]"),
    TokenSpec("o_m", TokenKind.LABEL, "dex", 0.1, 0.15, "oxygen [O/M]"),
)
"""Labels of the optical Payne emulator that the default vocabulary lacks."""


def training_vocabulary():
    """Return the vocabulary of specfm's shipped models (default + `EXTRA_LABELS`)."""
    return DEFAULT_VOCABULARY.extend(EXTRA_LABELS)


def data_directory(path=None):
    """Locate the shared data folder: ``path``, ``$SPECFM_DATA`` or ``../shared/data``.

    Raises
    ------
    SpecfmInputError
        When none of these is a folder.

    """
    for candidate in (path, os.environ.get("SPECFM_DATA"), "../shared/data"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise SpecfmInputError(
        "The shared data folder was not found: give its path, set SPECFM_DATA, or run from "
        "a directory with ../shared/data beside it."
    )


def load_emulator(name, data_dir):
    """Load an emulator of `EMULATORS` from the shared data folder.

    Parameters
    ----------
    name : str
        A key of `EMULATORS`.
    data_dir : path-like
        The shared data folder.

    Returns
    -------
    specfm.synth.Emulator

    """
    from ..synth import CannonEmulator, CombinedEmulator, PayneEmulator, PixelwisePayneEmulator

    if name not in EMULATORS:
        raise SpecfmInputError(f"Unknown emulator {name!r}; choose one of {sorted(EMULATORS)}.")
    paths = [Path(data_dir) / p for p in EMULATORS[name]]
    if name.startswith("cannon"):
        return CannonEmulator.from_npz(paths[0], name=name)
    if name == "payne_pixelwise_apogee":
        return PixelwisePayneEmulator.from_npz(paths[0], paths[1], name=name)
    return CombinedEmulator([PayneEmulator.from_npz(p) for p in paths], name=name)


NOISE_CHOICES = ("preset", "photon")
"""The ``noise`` settings of a `SyntheticSource`."""


@dataclasses.dataclass
class SyntheticSource:
    """One emulator rendered through some instruments.

    Parameters
    ----------
    emulator : str
        A key of `EMULATORS`.
    instruments : list of str
        Instrument presets (``specfm.synth.PRESETS``).
    n_stars : int
        Stars drawn from the emulator's label prior; each is seen by every instrument.
    seed : int
        Seed of this source.
    snr_range : tuple of float
        S/N range (log-uniform).
    av_range : tuple of float
        A(V) range in magnitudes (uniform; fluxed instruments such as Gaia XP only), as
        `specfm.synth.CorpusConfig` ``av_range``.
    shard_size : int
        Stars per shard (the unit of parallel work).
    noise : {"preset", "photon"}
        ``"preset"``: each instrument's own noise model (for ``gaia_xp``, photon noise times
        the shape of real XP uncertainties, `specfm.synth.presets.gaia_xp_noise_shape`);
        ``"photon"``: photon noise alone for every instrument (as the presets had before
        the XP shape; the shipped ``specfm-base`` was trained so).
    flux_correction : dict, optional
        ``{instrument: factors}``: a per-pixel flux correction for some of the instruments
        (`specfm.synth.Instrument` ``flux_correction``, e.g. from
        `specfm.synth.fit_flux_correction`), one factor per pixel of that preset.
    uncertainty : {"observed", "noiseless"}
        What the spectra's uncertainties are computed from (`specfm.synth.Instrument`
        ``uncertainty``): the noisy flux, as a pipeline reports them (default), or the
        noiseless spectrum, which leaks it; ``specfm-base`` v1 to v4 were trained on the
        latter, and their configurations say so.

    Raises
    ------
    SpecfmInputError
        An unknown ``noise`` or ``uncertainty``, or a flux correction for an instrument
        not in ``instruments``.

    """

    emulator: str
    instruments: list
    n_stars: int
    seed: int = 0
    snr_range: tuple = (20.0, 300.0)
    av_range: tuple = (0.0, 2.0)
    shard_size: int = 256
    noise: str = "preset"
    flux_correction: dict = None
    uncertainty: str = "observed"

    def __post_init__(self):
        if self.noise not in NOISE_CHOICES:
            raise SpecfmInputError(f"A synthetic source's noise must be one of "
                                   f"{NOISE_CHOICES}, got {self.noise!r}.")
        if self.uncertainty not in UNCERTAINTIES:
            raise SpecfmInputError(f"A synthetic source's uncertainty must be one of "
                                   f"{UNCERTAINTIES}, got {self.uncertainty!r}.")
        extra = set(self.flux_correction or {}) - set(self.instruments)
        if extra:
            raise SpecfmInputError(f"flux_correction names {sorted(extra)}, which this "
                                   f"source does not render (instruments: "
                                   f"{list(self.instruments)}).")

    def make_instruments(self):
        """Make the instruments (`specfm.synth.Instrument`) of this source, with its noise."""
        from ..synth import NoiseModel, get_instrument

        corrections = self.flux_correction or {}

        def options(name):
            extra = {} if self.noise == "preset" else {"noise": NoiseModel("photon")}
            extra["uncertainty"] = self.uncertainty
            if name in corrections:
                extra["flux_correction"] = corrections[name]
            return extra

        return tuple(get_instrument(name, **options(name)) for name in self.instruments)

    def noise_fingerprint(self):
        """Return ``{instrument: [noise kind, sha256 of its per-pixel shape or None]}``.

        Recorded with a data cache, so that a cache rendered with other noise (another
        ``noise`` setting, or a preset whose noise model has changed) is not reused. An
        instrument with a flux correction gets a third entry, the sha256 of its factors,
        and one whose uncertainties are computed from the noisy flux (``uncertainty =
        "observed"``) a last entry that says so (caches of before that choice hold
        noiseless uncertainties and have none).
        """
        def digest(array):
            return (None if array is None else hashlib.sha256(
                np.ascontiguousarray(array, "<f8").tobytes()).hexdigest())

        out = {}
        for inst in self.make_instruments():
            out[inst.name] = [inst.noise.kind, digest(inst.noise.relative_sigma)]
            if inst.flux_correction is not None:
                out[inst.name].append(digest(inst.flux_correction))
            if inst.uncertainty != "noiseless":  # caches of before the choice: noiseless
                out[inst.name].append(f"uncertainty={inst.uncertainty}")
        return out


def _labels_of(table, vocabulary):
    """Label values of a corpus table, in the vocabulary's units (synthetic: no errors)."""
    return {
        spec.name: np.asarray(table[spec.name].to_value(spec.quantity_unit), dtype=float)
        for spec in vocabulary
        if spec.kind == TokenKind.LABEL and spec.name in table.colnames
    }


def _render_shard(args):
    """Render and tokenise one shard (runs in a worker process)."""
    from ..synth import CorpusConfig, iter_corpus

    source, shard, data_dir, tokenizer_dict = args
    torch.set_num_threads(1)
    emulator = load_emulator(source.emulator, data_dir)
    config = TokenizerConfig.from_dict(tokenizer_dict)
    tokenizer = Tokenizer(config)
    n = min(source.shard_size, source.n_stars - shard * source.shard_size)
    corpus = CorpusConfig(
        instruments=source.make_instruments(),
        n_spectra=n,
        seed=int(source.seed) * 100003 + shard,
        snr_range=tuple(source.snr_range),
        av_range=tuple(source.av_range),
        shard_size=n,
        batch_size=min(64, n),
    )
    parts = []
    for spectra, table in iter_corpus(emulator, corpus):
        labels, errs, mask = labels_to_tensors(_labels_of(table, config.vocabulary),
                                               config.vocabulary)
        for name in source.instruments:
            batch = tokenizer(spectra[name], on_error="mask")
            parts.append((batch, labels[batch.spectrum_index], errs[batch.spectrum_index],
                          mask[batch.spectrum_index]))
    return parts


def _dataset_from_parts(parts):
    tokens = TokenBatch.concatenate([p[0] for p in parts])
    return TokenDataset(
        tokens,
        torch.cat([p[1] for p in parts]),
        torch.cat([p[2] for p in parts]),
        torch.cat([p[3] for p in parts]),
    )


def synthetic_dataset(sources, tokenizer_config, data_dir=None, workers=2, progress=True):
    """Render synthetic sources and tokenise them into one `TokenDataset`.

    Parameters
    ----------
    sources : list of SyntheticSource or dict
        What to render.
    tokenizer_config : `~specfm.tokens.TokenizerConfig`
        How to tokenise (its vocabulary must hold every label of the emulators that
        should be learned; others are ignored).
    data_dir : path-like, optional
        The shared data folder (see `data_directory`).
    workers : int
        Processes (0: in this process).
    progress : bool
        Show a progress bar over shards.

    Returns
    -------
    TokenDataset

    """
    data_dir = data_directory(data_dir)
    sources = [s if isinstance(s, SyntheticSource) else SyntheticSource(**s) for s in sources]
    jobs = []
    for source in sources:
        n_shards = -(-source.n_stars // source.shard_size)
        jobs += [
            (source, k, str(data_dir), tokenizer_config.to_dict()) for k in range(n_shards)
        ]
    parts = []
    bar = tqdm(total=len(jobs), desc="synthetic shards", disable=not progress)
    if workers and workers > 0:
        with ProcessPoolExecutor(workers) as pool:
            for result in pool.map(_render_shard, jobs):
                parts += result
                bar.update()
    else:
        for job in jobs:
            parts += _render_shard(job)
            bar.update()
    bar.close()
    return _dataset_from_parts(parts)


def gaia_xp_dataset(path, tokenizer_config, rows=None, colours=True):
    """Tokenise a table of Gaia XP spectra with APOGEE labels (see `specfm.io`).

    Parameters
    ----------
    path : path-like
        The FITS table (e.g. ``gaia_xp_apogee/train.fits.gz`` in the shared data).
    tokenizer_config : `~specfm.tokens.TokenizerConfig`
        How to tokenise.
    rows : array of int, optional
        Rows to use.
    colours : bool
        Add the photometric colours as input tokens.

    Returns
    -------
    TokenDataset

    """
    from ..io import read_gaia_xp_table

    table = read_gaia_xp_table(path, rows=rows)
    inputs = table.colours if colours else None
    batch = Tokenizer(tokenizer_config)(table.spectra, inputs=inputs, on_error="mask")
    vocab = tokenizer_config.vocabulary
    values, errors = {}, {}
    for name in table.labels.colnames:
        if name.endswith("_err") or name not in vocab:
            continue
        unit = vocab[name].quantity_unit
        column = table.labels[name]
        values[name] = np.where(column.mask, np.nan, column.unmasked.to_value(unit))
        err = table.labels[f"{name}_err"]
        err_unit = u.dex if isinstance(unit, u.DexUnit) else unit
        errors[name] = np.where(err.mask, 0.0, err.unmasked.to_value(err_unit))
    labels, errs, mask = labels_to_tensors(values, vocab, errors)
    return TokenDataset(batch, labels, errs, mask)


def split_indices(n, validation_fraction, seed=0):
    """Split ``range(n)`` at random into training and validation indices.

    Parameters
    ----------
    n : int
        Number of items.
    validation_fraction : float
        Fraction held out for validation.
    seed : int
        Seed of the permutation.

    Returns
    -------
    train, validation : numpy.ndarray of int
        Sorted index arrays.

    Examples
    --------
    >>> from specfm.training import split_indices
    >>> train, val = split_indices(10, 0.2, seed=1)
    >>> len(train), len(val)
    (8, 2)

    """
    order = np.random.default_rng(seed).permutation(n)
    n_val = round(validation_fraction * n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def label_ranges(dataset):
    """Return ``{label: [low, high]}`` of the known labels of a dataset, in physical units.

    Parameters
    ----------
    dataset : TokenDataset
        Must have labels.

    Returns
    -------
    dict

    """
    vocab = dataset.vocabulary
    out = {}
    for i, spec in enumerate(vocab):
        known = dataset.label_mask[:, i]
        if spec.kind != TokenKind.LABEL or not bool(known.any()):
            continue
        scaled = dataset.labels[known, i].double()
        physical = scaled * spec.scale + spec.offset
        out[spec.name] = [float(physical.min()), float(physical.max())]
    return out


def training_max_snr(sources):
    """Return the highest S/N that synthetic sources render: the top of their ``snr_range``.

    A network trained on these sources reads cleaner spectra worse, not better
    (``benchmarks/synthetic_recovery.py --snr 1000 --max-snr none``), so ``specfm train``
    stores this as the model's ``max_snr``: `~specfm.inference.Model.predict` reads a
    spectrum of higher S/N as if observed at this one, with noise added
    (`specfm.tokens.degrade_to_snr`), and flags its row.

    Parameters
    ----------
    sources : iterable of `SyntheticSource` or dict
        The ``[[data.sources]]`` of a configuration.

    Returns
    -------
    float or None
        None when there is no source.

    Examples
    --------
    >>> from specfm.training import training_max_snr
    >>> training_max_snr([{"emulator": "cannon_coolstars", "n_stars": 1,
    ...                    "instruments": ["apogee"], "snr_range": [15.0, 300.0]}])
    300.0

    """
    tops = [float((s if isinstance(s, SyntheticSource) else SyntheticSource(**s)).snr_range[1])
            for s in sources]
    return max(tops) if tops else None


def training_coverage(sources, margin=0.005):
    """Return the vacuum wavelength ranges that synthetic sources' instruments cover.

    A model pre-trained on these sources has seen no pixel outside them, so this is the
    coverage ``specfm train`` stores with it: predictions on spectra beyond it use only the
    pixels inside and carry ``PredictionFlag.COVERAGE`` (an axis in nm labelled as
    Angstrom, for example, falls outside every range).

    Parameters
    ----------
    sources : iterable of `SyntheticSource` or dict
        The ``[[data.sources]]`` of a configuration.
    margin : float
        Each instrument's range is widened by this fraction of its ends, then ranges
        that overlap are merged.

    Returns
    -------
    list of [float, float]
        Sorted, disjoint ``[low, high]`` pairs in vacuum Angstrom.

    Examples
    --------
    >>> from specfm.training import training_coverage
    >>> training_coverage([{"emulator": "cannon_coolstars", "n_stars": 1,
    ...                     "instruments": ["gaia_xp", "apogee"]}], margin=0.0)
    [[3360.0, 10200.0], [15100.8, 16999.8]]

    """
    from ..synth import get_instrument
    from ..wavelengths import air_to_vacuum

    names = set()
    for source in sources:
        source = source if isinstance(source, SyntheticSource) else SyntheticSource(**source)
        names.update(source.instruments)
    ranges = []
    for name in sorted(names):
        instrument = get_instrument(name)
        wave = instrument.wavelength.to_value(u.AA)
        if getattr(instrument, "medium", "vacuum") == "air":
            wave = air_to_vacuum(wave)
        ranges.append([float(wave.min()) * (1 - margin), float(wave.max()) * (1 + margin)])
    merged = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [[round(lo, 1), round(hi, 1)] for lo, hi in merged]
