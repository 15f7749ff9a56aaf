"""Noise models: the per-pixel uncertainty of an observed spectrum at a given S/N.

The S/N of a spectrum is defined as the **median over its good pixels of flux /
uncertainty** (per pixel). A `NoiseModel` sets the shape of the uncertainty across the
pixels; its scale is then fixed so that this median equals the requested S/N exactly.
"""

import warnings

import numpy as np

from ..exceptions import SpecfmInputError

__all__ = ["NOISE_KINDS", "NoiseModel"]

NOISE_KINDS = ("photon", "constant")
"""``photon``: variance proportional to flux; ``constant``: the same sigma at every pixel."""


class NoiseModel:
    """How the per-pixel uncertainty varies across a spectrum.

    Parameters
    ----------
    kind : {"photon", "constant"}
        ``"photon"``: sigma proportional to sqrt(flux) (photon noise, so absorption lines
        are less noisy than the continuum); ``"constant"``: the same sigma everywhere.
    relative_sigma : array-like, optional
        Extra per-pixel factor on sigma on the instrument's grid (e.g. throughput: larger
        at the ends of a detector), such as the shape of a real spectrum's uncertainty.

    Raises
    ------
    SpecfmInputError
        Unknown kind, or a non-positive or non-finite ``relative_sigma``.

    Examples
    --------
    >>> import numpy as np
    >>> noise = NoiseModel("constant")
    >>> sigma = noise.sigma(np.ones((1, 1000)), snr=[50.0])
    >>> float(np.median(1.0 / sigma))
    50.0

    """

    def __init__(self, kind="photon", relative_sigma=None):
        if kind not in NOISE_KINDS:
            raise SpecfmInputError(f"noise kind must be one of {NOISE_KINDS}, got {kind!r}.")
        self.kind = kind
        self.relative_sigma = None
        if relative_sigma is not None:
            rel = np.asarray(relative_sigma, dtype=float)
            if not np.all(np.isfinite(rel) & (rel > 0)):
                raise SpecfmInputError("relative_sigma must be finite and > 0 everywhere.")
            self.relative_sigma = rel / np.median(rel)

    def __repr__(self):
        extra = "" if self.relative_sigma is None else ", per-pixel shape"
        return f"NoiseModel({self.kind!r}{extra})"

    @classmethod
    def fit(cls, flux, sigma, kind="photon", min_flux=0.01):
        """Fit the noise model whose per-pixel shape matches real spectra's uncertainties.

        For each spectrum, the real ``sigma`` is divided by the shape that ``kind`` alone
        predicts (``sqrt(flux)`` for photon noise, 1 for constant) and by its median over
        the pixels; ``relative_sigma`` is the median of these ratios over the spectra. A
        detector's poor throughput at its ends, for example, shows as ``relative_sigma``
        well above 1 there.

        Parameters
        ----------
        flux, sigma : array-like
            Flux and its standard deviation, shape ``(n_spectra, n_pixels)`` on one pixel
            grid. Non-finite or non-positive entries are ignored.
        kind : {"photon", "constant"}
            The noise kind the shape multiplies.
        min_flux : float
            Pixels with flux below ``min_flux`` times the spectrum's median are ignored (the
            photon shape is undefined at zero flux).

        Returns
        -------
        NoiseModel
            With ``relative_sigma`` of length ``n_pixels`` (median 1).

        Raises
        ------
        SpecfmInputError
            Unknown kind, shapes that differ, or a pixel with no usable spectrum.

        Examples
        --------
        >>> import numpy as np
        >>> flux = np.ones((3, 4))
        >>> sigma = np.array([[1.0, 1.0, 1.0, 4.0]]).repeat(3, axis=0) / 50
        >>> NoiseModel.fit(flux, sigma).relative_sigma.tolist()
        [1.0, 1.0, 1.0, 4.0]

        """
        if kind not in NOISE_KINDS:
            raise SpecfmInputError(f"noise kind must be one of {NOISE_KINDS}, got {kind!r}.")
        flux = np.atleast_2d(np.asarray(flux, dtype=float))
        sigma = np.atleast_2d(np.asarray(sigma, dtype=float))
        if flux.shape != sigma.shape:
            raise SpecfmInputError(f"flux {flux.shape} and sigma {sigma.shape} must have "
                                   "the same shape (n_spectra, n_pixels).")
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN spectra: skipped below
            level = np.nanmedian(np.where(np.isfinite(flux), flux, np.nan), axis=1,
                                 keepdims=True)
            ok = (np.isfinite(flux) & np.isfinite(sigma) & (sigma > 0)
                  & (flux > min_flux * level) & (level > 0))
            shape = np.sqrt(flux * level) if kind == "photon" else np.broadcast_to(
                level, flux.shape)
            ratio = np.where(ok, sigma / shape, np.nan)
        usable = ok.any(axis=1)
        ratio = ratio[usable] / np.nanmedian(ratio[usable], axis=1, keepdims=True)
        if ratio.size == 0 or not np.all(np.isfinite(ratio).any(axis=0)):
            raise SpecfmInputError("Every pixel needs at least one spectrum with finite, "
                                   "positive flux and sigma to fit a noise shape.")
        return cls(kind, relative_sigma=np.nanmedian(ratio, axis=0))

    def sigma(self, flux, snr, good=None):
        """Per-pixel standard deviation giving a median S/N of ``snr``.

        Parameters
        ----------
        flux : numpy.ndarray
            Noiseless flux, shape ``(n, n_pixels)``.
        snr : array-like
            Requested S/N per spectrum, shape ``(n,)``.
        good : numpy.ndarray, optional
            Boolean ``(n, n_pixels)``: pixels that count towards the median.

        Returns
        -------
        numpy.ndarray
            Sigma, shape ``(n, n_pixels)``; positive and finite.

        Raises
        ------
        SpecfmInputError
            If an S/N is not finite and positive.

        """
        flux = np.atleast_2d(np.asarray(flux, dtype=float))
        snr = np.broadcast_to(np.asarray(snr, dtype=float), (flux.shape[0],))
        if not np.all(np.isfinite(snr) & (snr > 0)):
            raise SpecfmInputError(f"S/N must be finite and > 0, got {snr}.")
        good = np.ones(flux.shape, bool) if good is None else np.asarray(good, bool)
        level = np.array([np.median(np.abs(f[g])) if g.any() else 1.0
                          for f, g in zip(flux, good, strict=True)])
        level = np.where(level > 0, level, 1.0)[:, None]
        if self.kind == "photon":
            # floor at 1 per cent of the median level so saturated lines keep some noise
            shape = np.sqrt(np.maximum(np.abs(flux), 0.01 * level) * level)
        else:
            shape = np.broadcast_to(level, flux.shape).copy()
        if self.relative_sigma is not None:
            if self.relative_sigma.shape[-1] != flux.shape[1]:
                raise SpecfmInputError("relative_sigma does not match the number of pixels.")
            shape = shape * self.relative_sigma
        ratio = np.abs(flux) / shape
        current = np.array([np.median(r[g]) if g.any() else 1.0
                            for r, g in zip(ratio, good, strict=True)])
        current = np.where(current > 0, current, 1.0)
        return shape * (current / snr)[:, None]
