"""Per-pixel noise of spectra: estimated, measured as a median S/N, and raised.

Estimated for spectra without uncertainties (DER_SNR); raised to read very clean spectra as
the noisier ones a model was trained on.
"""

import numpy as np

__all__ = ["degrade_to_snr", "der_snr_noise", "median_snr"]

_NOISE_STREAM = 0x5E5  # third seed word: keeps these draws apart from the token cap's


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


def median_snr(flux, error, valid):
    """Return the median S/N of each row: ``median(|flux| / error)`` over valid pixels.

    This is the S/N of `specfm.synth` (`specfm.synth.NoiseModel.sigma` sets it), so a
    spectrum's value here can be compared with the ``snr_range`` a model was trained on.

    Parameters
    ----------
    flux, error : numpy.ndarray, shape (n_rows, n_pix)
        Fluxes and their one-sigma uncertainties.
    valid : numpy.ndarray of bool, shape (n_rows, n_pix)
        Pixels that count; those with a non-positive or non-finite ratio are left out.

    Returns
    -------
    numpy.ndarray, shape (n_rows,)
        NaN for a row without such a pixel.

    Examples
    --------
    >>> import numpy as np
    >>> from specfm.tokens import median_snr
    >>> flux = np.array([[1.0, 2.0, 3.0]])
    >>> float(median_snr(flux, 0.01 * np.ones_like(flux), np.ones_like(flux, bool))[0])
    200.0

    """
    flux = np.asarray(flux, dtype=float)
    error = np.asarray(error, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(flux) / error
    ok = np.asarray(valid, bool) & np.isfinite(ratio) & (error > 0)
    out = np.full(flux.shape[0], np.nan)
    rows = ok.any(axis=1)
    if rows.any():
        out[rows] = np.nanmedian(np.where(ok[rows], ratio[rows], np.nan), axis=1)
    return out


def degrade_to_snr(flux, error, valid, max_snr, seeds):
    """Read rows whose median S/N exceeds ``max_snr`` as if observed at ``max_snr``.

    A network trained on spectra of S/N up to some value reads cleaner ones worse, not
    better (``benchmarks/synthetic_recovery.py`` at S/N 1000: see the training page). Each
    such row's uncertainties are multiplied by ``k = S/N / max_snr`` and Gaussian noise
    of standard deviation ``error * sqrt(k**2 - 1)`` is added to its flux, so that its
    noise is in distribution and in shape what the same star would give observed ``k``
    times fainter. Rows at or below ``max_snr`` are returned unchanged.

    Parameters
    ----------
    flux, error : numpy.ndarray, shape (n_rows, n_pix)
        Fluxes and their one-sigma uncertainties (not modified).
    valid : numpy.ndarray of bool, shape (n_rows, n_pix)
        Pixels that count towards the S/N and receive noise.
    max_snr : float
        The largest median S/N (as `median_snr` measures it) to read a row at.
    seeds : sequence of (int, int)
        One ``(seed, index)`` per row; the noise of a row depends on nothing else, so a
        spectrum gets the same draw wherever it sits in a batch.

    Returns
    -------
    flux, error : numpy.ndarray
        Copies, changed in the degraded rows.
    snr : numpy.ndarray, shape (n_rows,)
        The median S/N of each row as given (NaN where no pixel counts).

    Examples
    --------
    >>> import numpy as np
    >>> from specfm.tokens import degrade_to_snr, median_snr
    >>> flux, error = np.ones((2, 1000)), np.array([[0.01], [0.001]]) * np.ones((2, 1000))
    >>> valid = np.ones_like(flux, bool)
    >>> new_flux, new_error, snr = degrade_to_snr(flux, error, valid, 300.0, [(0, 0), (0, 1)])
    >>> snr.round().tolist(), median_snr(new_flux, new_error, valid).round().tolist()
    ([100.0, 1000.0], [100.0, 300.0])
    >>> bool(np.all(new_flux[0] == flux[0]))
    True

    """
    if not max_snr > 0:
        raise ValueError(f"max_snr must be positive, not {max_snr!r}.")
    flux = np.array(flux, dtype=float)
    error = np.array(error, dtype=float)
    valid = np.asarray(valid, bool)
    if len(seeds) != flux.shape[0]:
        raise ValueError(f"{len(seeds)} seeds for {flux.shape[0]} rows; give one per row.")
    snr = median_snr(flux, error, valid)
    for i in np.nonzero(snr > max_snr)[0]:
        k = snr[i] / max_snr
        rng = np.random.default_rng([int(seeds[i][0]), int(seeds[i][1]), _NOISE_STREAM])
        extra = error[i] * np.sqrt(k * k - 1.0) * rng.standard_normal(flux.shape[1])
        flux[i] = np.where(valid[i], flux[i] + extra, flux[i])
        error[i] = np.where(valid[i], error[i] * k, error[i])
    return flux, error, snr
