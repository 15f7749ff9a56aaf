"""Spectra rendered per second per instrument (specfm.synth), on this machine.

For each preset instrument and each shipped emulator that can serve it, render ``--n``
noisy spectra in batches of ``--batch`` (labels from the emulator's prior, random radial
velocities) in one process, best of ``--repeat`` runs, after a warm-up batch (which builds
the render plan; its time is reported separately). Then time a small corpus written with 2 worker
processes. Writes ``benchmarks/results/synth_render_speed.ecsv`` and ``.rst``.

    python benchmarks/speed.py render [--data ../shared/data] [--n 512]

(with specfm installed, or ``PYTHONPATH=.`` from the repository root).
"""

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import astropy.units as u
import numpy as np
from _writing import write_rst
from astropy.table import Table

from specfm.synth import (
    CannonEmulator,
    CorpusConfig,
    PayneEmulator,
    PixelwisePayneEmulator,
    get_instrument,
    write_corpus,
)

__all__ = ["main"]

HERE = Path(__file__).resolve().parent


def default_data():
    return Path(os.environ.get("SPECFM_DATA", "../shared/data"))


def load_emulators(data):
    em = data / "emulators"
    return {
        "cannon_coolstars": CannonEmulator.from_npz(em / "cannon_cubic_coolstars.npz"),
        "payne_optical_4000-5000": PayneEmulator.from_npz(
            em / "payne_ann_optical_giants_4000-5000.npz"),
        "payne_pixelwise_apogee": PixelwisePayneEmulator.from_npz(
            em / "payne_pixelwise_apogee_dwarfs.npz",
            data / "apogee" / "payne_wavelength_7214.npz"),
    }


PAIRS = [
    ("apogee", "cannon_coolstars"),
    ("apogee", "payne_pixelwise_apogee"),
    ("gaia_xp", "cannon_coolstars"),
    ("gaia_rvs", "cannon_coolstars"),
    ("galah", "cannon_coolstars"),
    ("lamost", "cannon_coolstars"),
    ("lamost", "payne_optical_4000-5000"),
    ("boss", "cannon_coolstars"),
    ("boss", "payne_optical_4000-5000"),
]


def time_pair(instrument, emulator, n, batch, repeat, seed=0):
    rng = np.random.default_rng(seed)
    labels = emulator.sample_labels(n + batch, seed=rng)
    rv = rng.normal(0, 30, n + batch) * u.km / u.s
    t0 = time.perf_counter()
    instrument.render(emulator, labels[:batch], radial_velocity=rv[:batch], seed=1)
    warm = time.perf_counter() - t0
    best = np.inf
    for _ in range(repeat):  # best of `repeat`: the machine is shared with other jobs
        t0 = time.perf_counter()
        for start in range(batch, n + batch, batch):
            sl = slice(start, start + batch)
            instrument.render(emulator, labels[sl], radial_velocity=rv[sl], seed=start)
        best = min(best, time.perf_counter() - t0)
    return warm, best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--n", type=int, default=256, help="spectra per instrument")
    parser.add_argument("--repeat", type=int, default=3, help="report the best of these")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--corpus", type=int, default=1024, help="stars in the corpus test")
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    if not (args.data / "emulators").is_dir():
        parser.error(f"{args.data} has no emulators/: pass --data or set SPECFM_DATA")
    args.out.mkdir(parents=True, exist_ok=True)
    emulators = load_emulators(args.data)
    rows = []
    for inst_name, em_name in PAIRS:
        inst = get_instrument(inst_name)
        warm, elapsed = time_pair(inst, emulators[em_name], args.n, args.batch, args.repeat)
        rows.append((inst_name, em_name, inst.n_pixels, args.n, round(warm, 3),
                     round(elapsed, 3), round(args.n / elapsed, 1)))
        print(f"{inst_name:10s} {em_name:26s} {args.n / elapsed:8.1f} spectra/s "
              f"(plan + first batch {warm:.2f} s)", flush=True)
    table = Table(rows=rows, names=("instrument", "emulator", "n_pixels", "n_spectra",
                                    "first_batch_s", "render_s", "spectra_per_s"))
    # corpus: every star rendered by APOGEE and Gaia XP, 2 worker processes, shards to disk
    config = CorpusConfig(instruments=("apogee", "gaia_xp"), n_spectra=args.corpus,
                          shard_size=256, batch_size=args.batch, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_corpus(emulators["cannon_coolstars"], config, tmp, workers=2, progress=False)
        corpus_s = time.perf_counter() - t0
    stars_per_s = args.corpus / corpus_s
    print(f"corpus apogee+gaia_xp, 2 workers, to HDF5: {stars_per_s:.1f} stars/s "
          f"({2 * stars_per_s:.1f} spectra/s)")
    table.meta = {
        "description": "specfm.synth rendering speed (one process; noisy spectra, batches; "
                       f"best of {args.repeat})",
        "batch_size": args.batch,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs (shared with other jobs)",
        "corpus_apogee_gaia_xp_2workers_stars_per_s": round(stars_per_s, 1),
        "corpus_n_stars": args.corpus,
    }
    table.write(args.out / "synth_render_speed.ecsv", overwrite=True)
    cells = [(r["instrument"], r["emulator"], str(r["n_pixels"]), f"{r['spectra_per_s']:.0f}")
             for r in table]
    cells.append(("apogee + gaia_xp corpus", "cannon_coolstars, 2 workers, HDF5", "",
                  f"{2 * stars_per_s:.0f}"))
    write_rst(args.out / "synth_render_speed.rst",
              f"Rendering speed (one process, batches of {args.batch}; {table.meta['machine']})",
              ("Instrument", "Emulator", "Pixels", "Spectra/s"), cells)
    print(f"wrote {args.out / 'synth_render_speed.ecsv'}")


if __name__ == "__main__":
    main()
