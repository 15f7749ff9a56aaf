"""Pre-training corpora: many synthetic stars, each observed by several instruments.

A corpus is split into shards of ``shard_size`` stars. Shard ``k`` draws everything (labels,
S/N, radial-velocity residuals, extinction, bad pixels, continuum errors, noise) from its
own random stream ``SeedSequence(seed, spawn_key=(k,))``, so a corpus is identical for any
number of worker processes, and streaming it (`iter_corpus`) gives the same spectra as
writing it (`write_corpus`). Memory is bounded by ``batch_size`` stars per worker.

Realism added on top of `~specfm.synth.Instrument.render`:

* S/N drawn log-uniformly in ``snr_range`` per star and instrument;
* radial-velocity residuals (spectra are nominally in the rest frame): Gaussian with
  ``rv_residual`` km/s;
* A(V) uniform in ``av_range`` per star (fluxed instruments only);
* smooth multiplicative continuum / flux-calibration errors: a cubic Legendre polynomial
  per spectrum with coefficients of standard deviation ``continuum_error``;
* bad pixels: a fraction uniform in ``[0, bad_pixel_fraction]`` per spectrum, half of them
  cosmic-ray-like spikes and half dropouts (flux 0), all masked with infinite uncertainty.
"""

import dataclasses
import itertools
import json
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.nddata import StdDevUncertainty
from astropy.table import QTable
from tqdm.auto import tqdm

from ..exceptions import SpecfmInputError
from .emulators import spectrum
from .instruments import Instrument
from .presets import get_instrument

__all__ = ["CorpusConfig", "iter_corpus", "read_shard", "write_corpus"]


@dataclasses.dataclass
class CorpusConfig:
    """Settings of a synthetic corpus (all JSON-serialisable).

    Parameters
    ----------
    instruments : tuple of str or `~specfm.synth.Instrument`
        Preset names (see ``specfm.synth.PRESETS``) or instruments.
    n_spectra : int
        Number of stars; each is rendered by every instrument.
    seed : int
        Master seed.
    snr_range : tuple of float
        S/N range, drawn log-uniformly.
    rv_residual : float
        Standard deviation of radial-velocity residuals, km/s.
    av_range : tuple of float
        A(V) range (magnitudes) for fluxed instruments.
    continuum_error : float
        Standard deviation of the Legendre coefficients of the continuum error.
    bad_pixel_fraction : float
        Largest fraction of bad pixels per spectrum.
    jitter : float
        Jitter of the label prior (fraction of each label range).
    shard_size : int
        Stars per shard (one HDF5 file each).
    batch_size : int
        Stars rendered at once.

    Raises
    ------
    SpecfmInputError
        Inconsistent settings.

    Examples
    --------
    >>> CorpusConfig(("apogee", "gaia_xp"), n_spectra=10).n_shards
    1

    """

    instruments: tuple = ("apogee", "gaia_xp")
    n_spectra: int = 1024
    seed: int = 0
    snr_range: tuple = (20.0, 300.0)
    rv_residual: float = 1.0
    av_range: tuple = (0.0, 2.0)
    continuum_error: float = 0.01
    bad_pixel_fraction: float = 0.01
    jitter: float = 0.05
    shard_size: int = 1024
    batch_size: int = 64

    def __post_init__(self):
        self.instruments = tuple(self.instruments)
        self.snr_range = tuple(float(x) for x in self.snr_range)
        self.av_range = tuple(float(x) for x in self.av_range)
        if not self.instruments:
            raise SpecfmInputError("Give at least one instrument.")
        if self.n_spectra < 1 or self.shard_size < 1 or self.batch_size < 1:
            raise SpecfmInputError("n_spectra, shard_size and batch_size must be >= 1.")
        lo, hi = self.snr_range
        if not (0 < lo <= hi):
            raise SpecfmInputError(f"snr_range must satisfy 0 < low <= high, got {self.snr_range}.")
        if not 0 <= self.bad_pixel_fraction < 1:
            raise SpecfmInputError("bad_pixel_fraction must be in [0, 1).")
        if self.av_range[0] < 0 or self.av_range[1] < self.av_range[0]:
            raise SpecfmInputError("av_range must satisfy 0 <= low <= high.")

    @property
    def n_shards(self):
        """Number of shards."""
        return -(-self.n_spectra // self.shard_size)

    def to_json(self):
        """Return the configuration as a JSON string."""
        config = dataclasses.asdict(self)
        config["instruments"] = [i if isinstance(i, str) else i.name for i in self.instruments]
        return json.dumps(config, sort_keys=True)


def _instruments(config):
    return [get_instrument(name) if isinstance(name, str) else name
            for name in config.instruments]


def _degrade(spec_flux, sigma, good, wave, config, rng):
    """Add continuum errors and bad pixels in place; return the updated mask (True=bad)."""
    n, n_pix = spec_flux.shape
    x = 2.0 * (wave - wave[0]) / (wave[-1] - wave[0]) - 1.0
    coeffs = rng.normal(0.0, config.continuum_error, size=(n, 4))
    coeffs[:, 0] += 1.0
    factor = np.polynomial.legendre.legval(x, coeffs.T)
    factor = np.clip(factor, 0.5, 1.5)
    spec_flux *= factor
    sigma *= factor
    bad = ~good
    fraction = rng.uniform(0.0, config.bad_pixel_fraction, size=n)
    for i in range(n):
        k = round(fraction[i] * n_pix)
        if k == 0:
            continue
        pix = rng.choice(n_pix, size=k, replace=False)
        spike = rng.random(k) < 0.5
        level = np.median(np.abs(spec_flux[i, good[i]])) if good[i].any() else 1.0
        spec_flux[i, pix[spike]] += level * (1.0 + np.abs(rng.normal(0, 5, spike.sum())))
        spec_flux[i, pix[~spike]] = 0.0
        bad[i, pix] = True
    sigma[bad] = np.inf
    return bad


def _render_batch(emulator, instruments, config, n, rng, first_id):
    labels = emulator.sample_labels(n, seed=rng, jitter=config.jitter)
    lo_av, hi_av = config.av_range
    av = rng.uniform(lo_av, hi_av, size=n)
    table = QTable(labels)
    table.meta = {}
    table.add_column(np.arange(first_id, first_id + n), name="star_id", index=0)
    table["av"] = av * u.mag
    spectra = {}
    extrapolated = np.zeros(n, dtype=bool)
    for inst in instruments:
        snr = np.exp(rng.uniform(*np.log(config.snr_range), size=n))
        rv = rng.normal(0.0, config.rv_residual, size=n)
        seed = int(rng.integers(2**63))
        spec = inst.render(emulator, labels, snr=snr, radial_velocity=rv * u.km / u.s, av=av,
                           seed=seed, extrapolate="flag")
        flux = np.array(spec.flux.value)
        sigma = np.array(spec.uncertainty.array)
        mask = _degrade(flux, sigma, ~spec.mask, inst._wave, config, rng)
        meta = dict(spec.meta)
        meta.pop("labels")
        meta["star_id"] = table["star_id"].value.copy()
        # plain arrays (Spectrum objects do not pickle between processes)
        spectra[inst.name] = {"flux": flux.astype(np.float32),
                              "uncertainty": sigma.astype(np.float32), "mask": mask,
                              "wavelength": spec.spectral_axis.to_value(u.AA),
                              "unit": spec.flux.unit.to_string(), "meta": meta}
        table[f"snr_{inst.name}"] = snr
        table[f"rv_{inst.name}"] = rv * u.km / u.s
        extrapolated |= np.asarray(spec.meta["labels"]["extrapolated"])
    table["extrapolated"] = extrapolated
    table.meta.update({"emulator": emulator.name, "config": config.to_json()})
    return spectra, table


def _to_spectrum(raw):
    return spectrum(flux=raw["flux"] * u.Unit(raw["unit"]),
                         spectral_axis=raw["wavelength"] * u.AA,
                         uncertainty=StdDevUncertainty(raw["uncertainty"]), mask=raw["mask"],
                         meta=raw["meta"])


def _shard_batches(emulator, config, shard):
    """Render shard ``shard`` as a list of (spectra, labels) batches."""
    rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(shard,)))
    instruments = _instruments(config)
    start = shard * config.shard_size
    stop = min(start + config.shard_size, config.n_spectra)
    out = []
    for first in range(start, stop, config.batch_size):
        n = min(config.batch_size, stop - first)
        out.append(_render_batch(emulator, instruments, config, n, rng, first))
    return out


_WORKER = {}


def _init_worker(emulator, config):
    _WORKER["emulator"] = emulator
    _WORKER["config"] = config


def _worker_batches(shard):
    return _shard_batches(_WORKER["emulator"], _WORKER["config"], shard)


def _worker_write(args):
    shard, directory = args
    batches = _shard_batches(_WORKER["emulator"], _WORKER["config"], shard)
    return _write_shard(batches, _WORKER["config"], Path(directory), shard)


def _check(emulator, config):
    for inst in _instruments(config):
        if not isinstance(inst, Instrument):
            raise SpecfmInputError(f"Not an instrument: {inst!r}.")
        inst.plan(emulator)  # raises early if the emulator cannot serve it


def iter_corpus(emulator, config, workers=0, progress=False):
    """Stream a corpus batch by batch, straight into training.

    Parameters
    ----------
    emulator : specfm.synth.Emulator
        Source of spectra (must cover every instrument).
    config : CorpusConfig
        Settings.
    workers : int
        Processes rendering shards ahead (0: render in this process); at most
        ``workers + 1`` shards are held in memory.
    progress : bool
        Show a tqdm progress bar.

    Yields
    ------
    spectra : dict
        Instrument name -> `specutils.Spectrum` batch (2-D flux).
    labels : `~astropy.table.QTable`
        One row per star: ``star_id``, the labels, ``av``, per-instrument ``snr_<name>`` and
        ``rv_<name>``, and ``extrapolated``.

    Raises
    ------
    SpecfmInputError
        If the emulator cannot render an instrument.

    """
    _check(emulator, config)
    bar = tqdm(total=config.n_spectra, disable=not progress, desc="synthetic stars")
    try:
        if workers and workers > 0:
            with ProcessPoolExecutor(workers, initializer=_init_worker,
                                     initargs=(emulator, config)) as pool:
                # keep at most workers + 1 shards in flight, so memory stays bounded
                pending = deque()
                shards = iter(range(config.n_shards))
                for shard in itertools.islice(shards, workers + 1):
                    pending.append(pool.submit(_worker_batches, shard))
                while pending:
                    batches = pending.popleft().result()
                    for shard in itertools.islice(shards, 1):
                        pending.append(pool.submit(_worker_batches, shard))
                    for raw, labels in batches:
                        bar.update(len(labels))
                        yield {k: _to_spectrum(v) for k, v in raw.items()}, labels
        else:
            for shard in range(config.n_shards):
                for raw, labels in _shard_batches(emulator, config, shard):
                    bar.update(len(labels))
                    yield {k: _to_spectrum(v) for k, v in raw.items()}, labels
    finally:
        bar.close()


def _write_shard(batches, config, directory, shard):
    import h5py
    from astropy.table import vstack

    path = directory / f"shard_{shard:05d}.h5"
    names = list(batches[0][0])
    with h5py.File(path, "w") as f:
        f.attrs["config"] = config.to_json()
        f.attrs["shard"] = shard
        for name in names:
            group = f.create_group(name)
            first = batches[0][0][name]
            wave = group.create_dataset("wavelength", data=first["wavelength"])
            wave.attrs["unit"] = "Angstrom"
            for key in ("medium", "normalisation", "emulator", "instrument"):
                group.attrs[key] = str(first["meta"][key])
            group.attrs["flux_unit"] = first["unit"]
            for key, dtype in (("flux", np.float32), ("uncertainty", np.float32),
                               ("mask", bool)):
                data = np.concatenate([b[0][name][key] for b in batches]).astype(dtype)
                group.create_dataset(key, data=data, compression="gzip", compression_opts=1,
                                     chunks=(min(64, len(data)), data.shape[1]))
    labels = vstack([b[1] for b in batches], metadata_conflicts="silent")
    labels.write(directory / f"shard_{shard:05d}_labels.ecsv", overwrite=True)
    return path


def write_corpus(emulator, config, directory, workers=2, progress=True):
    """Render a corpus to HDF5 shards plus ECSV label tables.

    Each shard ``shard_XXXXX.h5`` has one group per instrument with datasets ``flux``,
    ``uncertainty`` (float32, inf at bad pixels), ``mask`` (True = bad) and ``wavelength``
    (Angstrom; medium, normalisation and flux unit in the group's attributes); the root
    attribute ``config`` holds the `CorpusConfig` as JSON. Labels go to
    ``shard_XXXXX_labels.ecsv``; ``corpus.json`` describes the whole corpus.

    Parameters
    ----------
    emulator : specfm.synth.Emulator
        Source of spectra.
    config : CorpusConfig
        Settings.
    directory : str or path-like
        Output folder (created; existing shards are overwritten).
    workers : int
        Worker processes (0 or 1: this process); results do not depend on it.
    progress : bool
        Show a tqdm progress bar over shards.

    Returns
    -------
    list of pathlib.Path
        The shard files, in order.

    Raises
    ------
    SpecfmInputError
        If the emulator cannot render an instrument.

    """
    _check(emulator, config)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "corpus.json").write_text(json.dumps({
        "config": json.loads(config.to_json()), "emulator": emulator.name,
        "n_shards": config.n_shards}, indent=2))
    shards = range(config.n_shards)
    if workers and workers > 1:
        with ProcessPoolExecutor(workers, initializer=_init_worker,
                                 initargs=(emulator, config)) as pool:
            paths = list(tqdm(pool.map(_worker_write, [(s, str(directory)) for s in shards]),
                              total=config.n_shards, disable=not progress, desc="shards"))
    else:
        paths = [_write_shard(_shard_batches(emulator, config, s), config, directory, s)
                 for s in tqdm(shards, disable=not progress, desc="shards")]
    return paths


def read_shard(path):
    """Read a shard back as Spectrum batches and its label table.

    Parameters
    ----------
    path : str or path-like
        A ``shard_XXXXX.h5`` file written by `write_corpus`.

    Returns
    -------
    spectra : dict
        Instrument name -> `specutils.Spectrum` (2-D flux).
    labels : `~astropy.table.QTable`
        The shard's labels.

    """
    import h5py

    path = Path(path)
    spectra = {}
    with h5py.File(path, "r") as f:
        for name in f:
            g = f[name]
            spectra[name] = spectrum(
                flux=np.asarray(g["flux"], dtype=float) * u.Unit(g.attrs["flux_unit"]),
                spectral_axis=np.asarray(g["wavelength"]) * u.AA,
                uncertainty=StdDevUncertainty(np.asarray(g["uncertainty"], dtype=float)),
                mask=np.asarray(g["mask"], dtype=bool),
                meta={k: str(v) for k, v in g.attrs.items() if k != "flux_unit"},
            )
    labels = QTable.read(path.with_name(path.stem + "_labels.ecsv"))
    return spectra, labels
