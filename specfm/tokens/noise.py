"""Noise estimation for spectra that come without uncertainties."""

import numpy as np

__all__ = ["der_snr_noise"]


def der_snr_noise(flux, valid):
    """Estimate the per-pixel noise of a spectrum with the DER_SNR method.

    DER_SNR (Stoehr et al. 2008, ASP Conf. Ser. 394, 505) uses the median absolute
    second difference ``|2 f[i] - f[i-2] - f[i+2]|`` of good pixels, which is
    insensitive to smooth structure and to lines broader than a few pixels.

    Parameters
    ----------
    flux : numpy.ndarray, shape (n_rows, n_pix)
        Fluxes.
    valid : numpy.ndarray of bool, shape (n_rows, n_pix)
        Good pixels.

    Returns
    -------
    numpy.ndarray, shape (n_rows,)
        One noise level per row (NaN where fewer than five good pixels exist).

    Examples
    --------
    >>> import numpy as np
    >>> from specfm.tokens import der_snr_noise
    >>> rng = np.random.default_rng(0)
    >>> flux = 1 + 0.01 * rng.standard_normal((1, 20000))
    >>> round(float(der_snr_noise(flux, np.ones_like(flux, bool))[0]), 3)
    0.01

    """
    flux = np.asarray(flux, dtype=float)
    out = np.full(flux.shape[0], np.nan)
    if flux.shape[1] < 5:
        return out
    second = np.abs(2 * flux[:, 2:-2] - flux[:, :-4] - flux[:, 4:])
    ok = valid[:, 2:-2] & valid[:, :-4] & valid[:, 4:]
    for i in range(flux.shape[0]):
        if ok[i].sum() >= 1:
            out[i] = 1.482602 / np.sqrt(6.0) * np.median(second[i][ok[i]])
    return out
