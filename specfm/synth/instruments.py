"""Instruments: what a spectrograph does to a spectrum.

An `Instrument` holds a pixel grid (with masked chip gaps), a Gaussian line-spread
function of resolving power R (possibly wavelength dependent), the wavelength medium it
reports, whether its spectra are flux-calibrated or continuum-normalised (or divided by
their median, as for Gaia XP), a noise model and, optionally, a per-pixel flux correction
learned from real spectra (`fit_flux_correction`). `Instrument.render` turns emulator
labels into observed spectra as `specutils.Spectrum` batches.
"""

import warnings

import astropy.units as u
import numpy as np
from astropy.nddata import StdDevUncertainty

from .._compat import is_spectrum
from ..exceptions import SpecfmInputError
from ..wavelengths import air_to_vacuum
from .emulators import FLUXED_UNIT, MEDIA, spectrum
from .labels import labels_to_table
from .lsf import GaussianLSF
from .noise import NoiseModel
from .render import RenderPlan

__all__ = ["NORMALISATIONS", "UNCERTAINTIES", "Instrument", "fit_flux_correction"]

_CHUNK = 128  # stars rendered at once inside `Instrument.render`

NORMALISATIONS = ("continuum", "median", "none")
"""``continuum``: continuum-normalised; ``median``: fluxed, divided by its median;
``none``: fluxed (arbitrary scale)."""

UNCERTAINTIES = ("observed", "noiseless")
"""What `Instrument.render` computes the reported uncertainty from: the noisy flux (as a
pipeline does), or the noiseless spectrum (specfm until 2026-12-07; it leaks that spectrum)."""


class Instrument:
    """Description of a spectrograph and its data products.

    Parameters
    ----------
    name : str
        Short name, recorded in each spectrum's ``meta``.
    wavelength : `~astropy.units.Quantity`
        Pixel centres (any spectral unit), in the instrument's ``medium``; sorted.
    resolution : float, callable, tuple or `~specfm.synth.lsf.GaussianLSF`
        Resolving power R = lambda/FWHM (see `~specfm.synth.lsf.GaussianLSF`; a callable
        or table is evaluated at vacuum wavelengths in Angstrom).
    medium : {"vacuum", "air"}
        Medium of ``wavelength`` and of the rendered spectral axis.
    normalisation : {"continuum", "median", "none"}
        How the data product is scaled (see ``NORMALISATIONS``).
    chips : list of (Quantity, Quantity), optional
        Wavelength ranges (in ``medium``) that detectors cover; other pixels are chip
        gaps, always masked.
    noise : `~specfm.synth.noise.NoiseModel`, optional
        Noise shape (default photon noise).
    snr : float
        Default S/N (median per-pixel flux/uncertainty).
    reference : str
        Source of the numbers.
    flux_correction : array-like, optional
        A positive factor per pixel that multiplies every noiseless rendered spectrum
        before the noise is drawn: what the emulator misses of the real instrument's
        spectra, fitted on stars with known labels by `fit_flux_correction`. Default none.
    uncertainty : {"observed", "noiseless"}
        What the reported uncertainty is computed from. ``"observed"`` (default): the noise
        model applied to the noisy flux, as a pipeline computes it from the counts it
        recorded, so that it holds no more about the star than the flux does.
        ``"noiseless"``: the noise model applied to the noiseless spectrum (the noise is
        drawn with that sigma either way), as specfm rendered until 2026-12-07: the
        uncertainty array then carries the noiseless spectrum (photon noise is the
        square root of the flux), which a network learns to read where the flux itself
        is noisy (the blue end of Gaia XP), and which real data do not give it (see
        ``uncertainty_leak`` on the synthetic spectra page). Kept to reproduce data of
        that time.

    Raises
    ------
    SpecfmInputError
        Bad medium, normalisation, wavelength grid or flux correction.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> inst = Instrument("toy", np.linspace(5000, 5100, 201) * u.AA, resolution=5000)
    >>> inst
    <Instrument 'toy': 201 pixels 5000-5100 A (vacuum), GaussianLSF(R=5000), continuum>

    """

    def __init__(self, name, wavelength, resolution, *, medium="vacuum",
                 normalisation="continuum", chips=None, noise=None, snr=100.0, reference="",
                 flux_correction=None, uncertainty="observed"):
        if medium not in MEDIA:
            raise SpecfmInputError(f"medium must be one of {MEDIA}, got {medium!r}.")
        if normalisation not in NORMALISATIONS:
            raise SpecfmInputError(
                f"normalisation must be one of {NORMALISATIONS}, got {normalisation!r}."
            )
        try:
            wave = u.Quantity(wavelength).to_value(u.AA, u.spectral())
        except u.UnitsError as err:
            raise SpecfmInputError("wavelength must be a spectral Quantity, e.g. in AA.") from err
        wave = np.atleast_1d(np.asarray(wave, dtype=float))
        if wave.size < 2 or not np.all(np.diff(wave) > 0) or not np.all(np.isfinite(wave)):
            raise SpecfmInputError(
                "The instrument's wavelengths must be finite and strictly increasing "
                "(sort the pixels, e.g. of an apVisit file, before building an Instrument)."
            )
        if uncertainty not in UNCERTAINTIES:
            raise SpecfmInputError(
                f"uncertainty must be one of {UNCERTAINTIES}, got {uncertainty!r}.")
        self.uncertainty = uncertainty
        self.name = str(name)
        self.medium = medium
        self.normalisation = normalisation
        self._wave_given = wave
        self._wave = air_to_vacuum(wave) if medium == "air" else wave
        self.lsf = resolution if isinstance(resolution, GaussianLSF) else GaussianLSF(resolution)
        self.noise = noise if noise is not None else NoiseModel("photon")
        self.snr = float(snr)
        self.reference = reference
        self.pixel_mask = np.zeros(wave.size, dtype=bool)
        if chips is not None:
            inside = np.zeros(wave.size, dtype=bool)
            for lo, hi in chips:
                lo = u.Quantity(lo, u.AA).to_value(u.AA, u.spectral())
                hi = u.Quantity(hi, u.AA).to_value(u.AA, u.spectral())
                inside |= (wave >= lo) & (wave <= hi)
            self.pixel_mask = ~inside
        self.flux_correction = None
        if flux_correction is not None:
            factor = np.asarray(flux_correction, dtype=float)
            if factor.shape != wave.shape or not np.all(np.isfinite(factor) & (factor > 0)):
                raise SpecfmInputError(
                    f"flux_correction must hold one finite, positive factor per pixel "
                    f"({wave.size}), got shape {factor.shape}; fit one with "
                    "specfm.synth.fit_flux_correction on this instrument's pixel grid.")
            self.flux_correction = factor
        self._plans = {}

    @property
    def fluxed(self):
        """True for flux-calibrated products (``normalisation`` "median" or "none")."""
        return self.normalisation != "continuum"

    @property
    def wavelength(self):
        """Pixel centres in Angstrom, in the instrument's medium."""
        return self._wave_given * u.AA

    @property
    def n_pixels(self):
        """Number of pixels."""
        return self._wave.size

    def __repr__(self):
        w = self._wave_given
        corrected = "" if self.flux_correction is None else ", flux-corrected"
        leaky = "" if self.uncertainty == "observed" else ", noiseless uncertainty"
        return (f"<Instrument {self.name!r}: {w.size} pixels {w[0]:.0f}-{w[-1]:.0f} A "
                f"({self.medium}), {self.lsf!r}, {self.normalisation}{corrected}{leaky}>")

    @classmethod
    def from_spectrum(cls, spectrum, resolution, *, name="custom", medium="vacuum",
                      normalisation=None, copy_noise=True, snr=None):
        """Make an instrument with the pixel grid of a real spectrum.

        Parameters
        ----------
        spectrum : specutils.Spectrum
            A real spectrum (1-D, or a batch: the grid is shared). Decreasing axes (e.g.
            apVisit files) are sorted.
        resolution : float, callable or tuple
            Resolving power of that spectrograph.
        name : str
            Name of the new instrument.
        medium : {"vacuum", "air"}
            Medium of the spectrum's wavelengths (specutils does not record it).
        normalisation : {"continuum", "median", "none"}, optional
            Default: ``"continuum"`` if the flux is dimensionless, else ``"none"``.
        copy_noise : bool
            Use the shape of the spectrum's uncertainty as the per-pixel noise shape.
        snr : float, optional
            Default S/N; by default the spectrum's median flux/uncertainty (or 100).

        Returns
        -------
        Instrument
            Pixels where the spectrum is masked or has zero/non-finite flux become fixed
            bad pixels (chip gaps).

        Raises
        ------
        SpecfmInputError
            If ``spectrum`` is not a Spectrum.

        """
        if not is_spectrum(spectrum):
            raise SpecfmInputError("from_spectrum needs a specutils Spectrum.")
        wave = spectrum.spectral_axis.to_value(u.AA, u.spectral())
        order = np.argsort(wave)
        flux = np.atleast_2d(np.asarray(spectrum.flux.value, dtype=float))[..., order]
        bad = ~np.isfinite(flux) | (flux == 0)
        if spectrum.mask is not None:
            bad |= np.atleast_2d(np.asarray(spectrum.mask, dtype=bool))[..., order]
        bad = bad.all(axis=0)
        rel = None
        if spectrum.uncertainty is not None:
            with np.errstate(divide="ignore", invalid="ignore"):  # zero inverse variances
                sig = spectrum.uncertainty.represent_as(StdDevUncertainty).array
            sig = np.atleast_2d(np.asarray(sig, float))[..., order]
            sig = np.where(np.isfinite(sig) & (sig > 0), sig, np.nan)
            with warnings.catch_warnings():  # all-NaN columns are expected (gaps)
                warnings.simplefilter("ignore", RuntimeWarning)
                sig = np.nanmedian(sig, axis=0)
                typical = np.abs(np.nanmedian(np.where(np.isfinite(flux), flux, np.nan), 0))
            ok = np.isfinite(sig) & np.isfinite(typical) & ~bad
            if snr is None and ok.any():
                snr = float(np.median(typical[ok] / sig[ok]))
            if copy_noise and ok.any():
                fill = np.interp(np.arange(sig.size), np.nonzero(ok)[0], sig[ok])
                typical = np.where(ok, typical, np.median(typical[ok]))
                rel = fill / np.sqrt(np.maximum(typical, 1e-30 + 1e-3 * np.median(typical)))
                rel = np.where(ok, rel, np.median(rel[ok]))
                rel = np.where(np.isfinite(rel) & (rel > 0), rel, np.median(rel[ok]))
        if normalisation is None:
            dimensionless = spectrum.flux.unit.physical_type == "dimensionless"
            normalisation = "continuum" if dimensionless else "none"
        inst = cls(name, wave[order] * u.AA, resolution, medium=medium,
                   normalisation=normalisation,
                   noise=NoiseModel("photon", relative_sigma=rel),
                   snr=snr if snr is not None and np.isfinite(snr) else 100.0,
                   reference="grid copied from a user spectrum")
        inst.pixel_mask = bad
        return inst

    def plan(self, emulator):
        """Return the cached ``specfm.synth.render.RenderPlan`` for an emulator."""
        key = id(emulator)
        if key not in self._plans:
            self._plans[key] = (emulator, RenderPlan(self, emulator))
        return self._plans[key][1]

    def render(self, emulator, labels, *, snr=None, radial_velocity=0.0 * u.km / u.s,
               av=0.0, noise=True, seed=None, extrapolate="raise"):
        """Render spectra of the given labels as this instrument records them.

        Parameters
        ----------
        emulator : specfm.synth.Emulator
            Source of fine, normalised spectra.
        labels : `~astropy.table.QTable`, dict or array-like
            Stellar labels (see `~specfm.synth.labels.labels_to_array`).
        snr : float or array-like, optional
            S/N per spectrum (median per-pixel flux/uncertainty); default: the
            instrument's ``snr``.
        radial_velocity : `~astropy.units.Quantity`
            Radial velocity per star (or one for all), km/s if bare numbers.
        av : float or array-like
            Extinction A(V) in magnitudes (used for fluxed instruments only).
        noise : bool
            Add Gaussian noise (the uncertainty is filled either way).
        seed : int or numpy.random.Generator, optional
            Random seed for the noise.
        extrapolate : {"raise", "flag"}
            Behaviour for labels outside the emulator's range.

        Returns
        -------
        specutils.Spectrum
            One spectrum per star sharing the instrument's spectral axis: flux
            ``(n, n_pixels)`` (dimensionless unless fluxed without normalisation),
            `~astropy.nddata.StdDevUncertainty`, mask (True = bad: chip gaps and pixels
            the emulator does not cover) and ``meta`` with the labels table (with
            ``radial_velocity``, ``snr``, ``av`` and ``extrapolated`` columns).

        Raises
        ------
        SpecfmInputError
            Bad labels, S/N, velocities, or an emulator that cannot serve this instrument.

        """
        rng = np.random.default_rng(seed)
        array, flags = emulator.prepare(labels, extrapolate)
        n = len(array)
        rv = np.broadcast_to(
            u.Quantity(radial_velocity, u.km / u.s).to_value(u.km / u.s), (n,)).astype(float)
        snr = np.broadcast_to(np.asarray(self.snr if snr is None else snr, float), (n,))
        av = np.broadcast_to(np.asarray(av, dtype=float), (n,))
        plan = self.plan(emulator)
        flux = np.empty((n, self.n_pixels))
        good = np.empty((n, self.n_pixels), dtype=bool)
        for start in range(0, n, _CHUNK):  # bounded memory for long label tables
            sl = slice(start, start + _CHUNK)
            flux[sl], good[sl] = plan.render(array[sl], rv[sl],
                                             av[sl] if self.fluxed else None,
                                             fluxed=self.fluxed)
        good &= ~self.pixel_mask[None, :]
        if self.flux_correction is not None:
            flux = flux * self.flux_correction
        if not good.any(axis=1).all():
            raise SpecfmInputError(
                f"Emulator {emulator.name!r} covers none of {self.name}'s usable pixels."
            )
        sigma = self.noise.sigma(flux, snr, good)
        if noise:
            flux = flux + sigma * rng.standard_normal(flux.shape)
            if self.uncertainty == "observed":  # what a pipeline reports: from the counts
                sigma = self.noise.sigma(flux, snr, good)
        if self.normalisation == "median":
            scale = np.array([np.median(f[g]) for f, g in zip(flux, good, strict=True)])
            flux, sigma = flux / scale[:, None], sigma / scale[:, None]
        flux[~good] = 0.0
        sigma[~good] = np.inf
        table = labels_to_table(array, emulator.labels)
        table["radial_velocity"] = rv * u.km / u.s
        table["snr"] = snr
        table["av"] = av * u.mag
        table["extrapolated"] = flags
        unit = FLUXED_UNIT if self.normalisation == "none" else u.dimensionless_unscaled
        return spectrum(
            flux=flux * unit,
            spectral_axis=self.wavelength,
            uncertainty=StdDevUncertainty(sigma),
            mask=~good,
            meta={
                "instrument": self.name,
                "emulator": emulator.name,
                "medium": self.medium,
                "normalisation": self.normalisation,
                "labels": table,
                "noiseless": not noise,
            },
        )


def fit_flux_correction(real, synthetic, good=None):
    """Fit the per-pixel factor that turns synthetic spectra into real ones, on average.

    For stars with known labels, ``synthetic`` holds the noiseless spectra an emulator
    renders for them through an `Instrument` (their "twins"), ``real`` the observed
    spectra on the same pixels. Each spectrum's log ratio real / synthetic, less its
    median over the pixels (the overall scale is not fitted), is a per-pixel error of the
    emulator and the instrument model for that star; the correction is ``exp`` of the
    median over the stars. Give it to `Instrument` as ``flux_correction`` to render
    synthetic spectra that look more like the real ones (e.g. for rehearsal data when
    fine-tuning on a few real stars; see `specfm.training.finetune`).

    The factor is label-independent: fitted on a few stars it corrects what all of them
    share (calibration, the emulator's systematic errors), not errors that change with
    the labels.

    Parameters
    ----------
    real, synthetic : array-like
        Flux, shape ``(n_stars, n_pixels)`` on one pixel grid; the scale of each spectrum
        is free. Non-finite or non-positive values are ignored.
    good : array-like of bool, optional
        Pixels to use, same shape (default: all with finite, positive flux in both).

    Returns
    -------
    numpy.ndarray
        The factor per pixel (median 1 over the pixels).

    Raises
    ------
    SpecfmInputError
        Shapes that differ, or a pixel with no usable star.

    Examples
    --------
    >>> import numpy as np
    >>> from specfm.synth import fit_flux_correction
    >>> synthetic = np.ones((3, 4))
    >>> real = 2.0 * np.array([[1.0, 1.0, 1.1, 0.9]]).repeat(3, axis=0)
    >>> np.round(fit_flux_correction(real, synthetic), 3).tolist()
    [1.0, 1.0, 1.1, 0.9]

    """
    real = np.atleast_2d(np.asarray(real, dtype=float))
    synthetic = np.atleast_2d(np.asarray(synthetic, dtype=float))
    if real.shape != synthetic.shape:
        raise SpecfmInputError(f"real {real.shape} and synthetic {synthetic.shape} spectra "
                               "must have the same shape (n_stars, n_pixels).")
    ok = np.isfinite(real) & np.isfinite(synthetic) & (real > 0) & (synthetic > 0)
    if good is not None:
        good = np.asarray(good, dtype=bool)
        if good.shape != real.shape:
            raise SpecfmInputError(f"good {good.shape} must have the spectra's shape "
                                   f"{real.shape}.")
        ok &= good
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # stars with no good pixel
        ratio = np.where(ok, np.log(np.where(ok, real, 1.0) / np.where(ok, synthetic, 1.0)),
                         np.nan)
        ratio -= np.nanmedian(ratio, axis=1, keepdims=True)
        log_factor = np.nanmedian(ratio, axis=0)
    if not np.all(np.isfinite(log_factor)):
        raise SpecfmInputError("Every pixel needs at least one star with finite, positive "
                               "real and synthetic flux to fit a flux correction.")
    return np.exp(log_factor - np.median(log_factor))
