"""Small Gaia XP sampled files written as GaiaXPy and the Gaia archive write them."""

import numpy as np
from astropy.io import fits


def xp_flux(n, seed=0, n_samples=343):
    """Smooth positive fluxes (W m^-2 nm^-1, about 1e-17) and their errors."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, n_samples)
    scale = 10 ** rng.uniform(-17.5, -16.5, size=(n, 1))
    flux = scale * (1.0 + 0.5 * np.sin(3 * x + rng.uniform(0, 3, size=(n, 1))))
    return flux, 0.02 * flux


def array_text(values, brackets="()"):
    """An array cell as the archive and GaiaXPy write it: '(1.0, 2.0, ...)'."""
    body = ", ".join("null" if not np.isfinite(v) else repr(float(v)) for v in values)
    return brackets[0] + body + brackets[1]


def write_xp_csv(path, n=3, seed=0, first_id=0, n_samples=343, brackets="()", extra=None):
    """Write a GaiaXPy ``calibrate``-style CSV; return its path."""
    flux, error = xp_flux(n, seed, n_samples)
    lines = ["source_id,flux,flux_error" + ("" if extra is None else f",{extra}")]
    for i in range(n):
        cells = [str(first_id + i), f'"{array_text(flux[i], brackets)}"',
                 f'"{array_text(error[i], brackets)}"']
        if extra is not None:
            cells.append("0")
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_xp_fits(path, n=3, seed=0, sampling=None):
    """Write a GaiaXPy ``calibrate``-style FITS table (sampling in the SAMPLING keyword)."""
    flux, error = xp_flux(n, seed, 343 if sampling is None else len(sampling))
    width = flux.shape[1]
    columns = [
        fits.Column(name="source_id", array=np.arange(n, dtype=np.int64), format="K"),
        fits.Column(name="flux", array=flux.astype(np.float32), format=f"{width}E"),
        fits.Column(name="flux_error", array=error.astype(np.float32), format=f"{width}E"),
    ]
    header = fits.Header()
    if sampling is not None:
        header["SAMPLING"] = str(tuple(np.asarray(sampling, dtype=float)))
    hdu = fits.BinTableHDU.from_columns(columns, header=header)
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    return path
