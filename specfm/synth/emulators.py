"""Emulators: label vector -> continuum-normalised spectrum on a fine wavelength grid.

`Emulator` is the base class that every emulator shares: label names, units and valid
ranges, the wavelength grid (held in vacuum Angstrom, whatever medium the source used), a
label prior and the public ``__call__`` that returns a `specutils.Spectrum`. The loaders of
the three shipped formats live in `specfm.synth.cannon` and `specfm.synth.payne`, the
user-grid emulator in `specfm.synth.grid`.
"""

import astropy.units as u
import numpy as np
from astropy.nddata import StdDevUncertainty

from .._compat import SPECUTILS_MAJOR, make_spectrum
from ..exceptions import SpecfmInputError
from ..wavelengths import air_to_vacuum
from .labels import check_range, labels_to_array, labels_to_table, sample_prior

__all__ = ["MEDIA", "Emulator", "load_npz", "spectrum"]

MEDIA = ("vacuum", "air")
"""Wavelength media an emulator or instrument can use."""

FLUXED_UNIT = u.erg / (u.s * u.cm**2 * u.AA)
"""Unit attached to fluxed spectra (their scale is arbitrary unless stated in ``meta``)."""


def spectrum(**kwargs):
    """Make a `specutils.Spectrum` whose last flux axis is the spectral axis.

    A thin wrapper of `specfm._compat.make_spectrum` that tells specutils 2.x which axis is
    spectral, so that a batch with as many spectra as pixels is not ambiguous.

    Parameters
    ----------
    **kwargs
        Arguments of `specutils.Spectrum` (``flux`` is required).

    Returns
    -------
    specutils.Spectrum
        The spectrum.

    """
    if SPECUTILS_MAJOR >= 2:
        kwargs.setdefault("spectral_axis_index", np.ndim(kwargs["flux"]) - 1)
    return make_spectrum(**kwargs)


def load_npz(path, required):
    """Open an ``.npz`` file without pickle and check it holds the ``required`` arrays.

    Parameters
    ----------
    path : str or path-like
        The file.
    required : sequence of str
        Array names that must be present.

    Returns
    -------
    numpy.lib.npyio.NpzFile
        The open archive (``allow_pickle=False``).

    Raises
    ------
    SpecfmInputError
        If the file is missing or lacks an array.

    """
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError as err:
        raise SpecfmInputError(
            f"Emulator file {path} not found: pass the path to the .npz file "
            "(the shared data lives in ../shared/data/emulators)."
        ) from err
    missing = [k for k in required if k not in data.files]
    if missing:
        raise SpecfmInputError(
            f"{path} lacks arrays {missing}; is it an emulator file of the right format?"
        )
    return data


class Emulator:
    """Base class: maps label vectors to normalised spectra on a fine wavelength grid.

    Subclasses set the attributes below and implement `_forward`.

    Parameters
    ----------
    name : str
        Short name recorded in the metadata of every spectrum.
    labels : tuple of `~specfm.synth.labels.Label`
        Input labels, in order, with units and valid ranges.
    wavelength : array-like
        Fine wavelength grid in Angstrom, in the given ``medium``; stored in vacuum.
    medium : {"vacuum", "air"}
        Medium of ``wavelength`` as given.
    training_labels : numpy.ndarray, optional
        Label vectors the emulator was fitted to; the default label prior.
    native_resolution : float, optional
        Resolving power the emulator's spectra already have (None: fully resolved).
    reference : str, optional
        Where the emulator comes from.

    Raises
    ------
    SpecfmInputError
        If the medium is unknown or the wavelength grid is not increasing.

    """

    has_continuum = False

    def __init__(self, name, labels, wavelength, medium="vacuum", training_labels=None,
                 native_resolution=None, reference=""):
        if medium not in MEDIA:
            raise SpecfmInputError(f"medium must be one of {MEDIA}, got {medium!r}.")
        wave = np.asarray(wavelength, dtype=float)
        if wave.ndim != 1 or wave.size < 2 or not np.all(np.diff(wave) > 0):
            raise SpecfmInputError("The emulator's wavelength grid must increase strictly.")
        self.name = str(name)
        self.labels = tuple(labels)
        self.medium = medium
        self._wave = air_to_vacuum(wave) if medium == "air" else wave
        self._training = None if training_labels is None else np.asarray(training_labels, float)
        self.native_resolution = native_resolution
        self.reference = reference

    # --- description -------------------------------------------------------------------
    @property
    def wavelength(self):
        """Fine wavelength grid as a vacuum `~astropy.units.Quantity` in Angstrom."""
        return self._wave * u.AA

    @property
    def label_names(self):
        """Label names, in the order of the label vector."""
        return [lab.name for lab in self.labels]

    @property
    def label_units(self):
        """Dictionary of label name to unit."""
        return {lab.name: lab.unit for lab in self.labels}

    @property
    def label_ranges(self):
        """Dictionary of label name to its valid ``[min, max]`` Quantity."""
        return {lab.name: lab.range for lab in self.labels}

    def __repr__(self):
        lo, hi = self._wave[0], self._wave[-1]
        return (
            f"<{type(self).__name__} {self.name!r}: labels {self.label_names}, "
            f"{lo:.0f}-{hi:.0f} A (vacuum), {self._wave.size} pixels>"
        )

    # --- labels ------------------------------------------------------------------------
    def sample_labels(self, n, seed=None, jitter=0.05):
        """Draw label vectors from the emulator's prior.

        The prior is the training labels with Gaussian jitter (``jitter`` times each
        label's valid range), clipped to the valid range; without training labels it is
        uniform over the valid ranges.

        Parameters
        ----------
        n : int
            Number of stars.
        seed : int or numpy.random.Generator, optional
            Random seed or generator.
        jitter : float
            Jitter as a fraction of each label's range.

        Returns
        -------
        `~astropy.table.QTable`
            One Quantity column per label.

        """
        rng = np.random.default_rng(seed)
        if self._training is not None and len(self._training):
            array = sample_prior(self._training, self.labels, n, rng, jitter)
        else:
            lo = np.array([lab.minimum for lab in self.labels])
            hi = np.array([lab.maximum for lab in self.labels])
            array = lo + rng.random((int(n), len(self.labels))) * (hi - lo)
        return labels_to_table(array, self.labels, meta={"emulator": self.name})

    def prepare(self, labels, extrapolate="raise"):
        """Convert labels to the internal array and check the valid range.

        Parameters
        ----------
        labels : table, dict or array-like
            See `~specfm.synth.labels.labels_to_array`.
        extrapolate : {"raise", "flag"}
            What to do with labels outside the valid range.

        Returns
        -------
        array : numpy.ndarray
            Shape ``(n, n_labels)``.
        extrapolated : numpy.ndarray
            Boolean flag per star.

        Raises
        ------
        specfm.synth.labels.LabelError
            Missing or malformed labels.
        specfm.synth.labels.ExtrapolationError
            Labels out of range with ``extrapolate="raise"``.

        """
        array = labels_to_array(labels, self.labels)
        return array, check_range(array, self.labels, extrapolate)

    # --- forward -----------------------------------------------------------------------
    def pixel_slice(self, lo, hi):
        """Slice of the fine grid covering vacuum wavelengths ``[lo, hi]`` Angstrom."""
        i0 = max(int(np.searchsorted(self._wave, lo)) - 1, 0)
        i1 = min(int(np.searchsorted(self._wave, hi)) + 1, self._wave.size)
        return slice(i0, i1)

    def normalised_flux(self, array, pixels=slice(None)):
        """Normalised flux for an internal label array (no checks).

        Parameters
        ----------
        array : numpy.ndarray
            Labels, shape ``(n, n_labels)``, in the units of `labels`.
        pixels : slice
            Part of the fine grid to compute.

        Returns
        -------
        numpy.ndarray
            Shape ``(n, n_pixels)``, float32 or float64.

        """
        return self._forward(np.atleast_2d(np.asarray(array, dtype=float)), pixels)

    def binned_moments(self, array, pixels, starts, weight, offset):
        """Integrals of flux over groups of fine pixels, for the renderer.

        Parameters
        ----------
        array : numpy.ndarray
            Labels ``(n, n_labels)``.
        pixels : slice
            Part of the fine grid.
        starts : numpy.ndarray
            Index (within ``pixels``) of the first fine pixel of each group.
        weight : numpy.ndarray
            Quadrature weight (Angstrom) of each fine pixel.
        offset : numpy.ndarray
            Wavelength of each fine pixel minus its group's centre (Angstrom).

        Returns
        -------
        mass, moment : numpy.ndarray
            ``sum(flux * weight)`` and ``sum(flux * weight * offset)`` per group,
            each ``(n, n_groups)``.

        """
        flux = self.normalised_flux(array, pixels).astype(float)
        mass = np.add.reduceat(flux * weight, starts, axis=1)
        moment = np.add.reduceat(flux * (weight * offset), starts, axis=1)
        return mass, moment

    def _forward(self, array, pixels):  # pragma: no cover - abstract
        raise NotImplementedError

    def log10_continuum(self, array, wavelength):
        """Log10 of the continuum flux (arbitrary scale) at vacuum wavelengths.

        Parameters
        ----------
        array : numpy.ndarray
            Labels, shape ``(n, n_labels)``.
        wavelength : numpy.ndarray
            Vacuum wavelengths in Angstrom.

        Returns
        -------
        numpy.ndarray
            Shape ``(n, len(wavelength))``.

        Raises
        ------
        SpecfmInputError
            If this emulator has no continuum model.

        """
        raise SpecfmInputError(
            f"Emulator {self.name!r} has no continuum model, so it cannot make fluxed "
            "spectra (e.g. Gaia XP); use an emulator with a continuum model, such as the "
            "Cannon emulators."
        )

    def __call__(self, labels, *, extrapolate="raise", fluxed=False):
        """Render noiseless spectra on the emulator's own fine (vacuum) grid.

        Parameters
        ----------
        labels : `~astropy.table.QTable`, dict or array-like
            Label values (see `~specfm.synth.labels.labels_to_array`).
        extrapolate : {"raise", "flag"}
            Raise on labels outside the valid range, or render them and flag them in
            ``meta["extrapolated"]``.
        fluxed : bool
            Multiply by the continuum model (arbitrary flux scale).

        Returns
        -------
        specutils.Spectrum
            Flux of shape ``(n, n_pixels)``; ``meta`` holds the labels table, the flags and
            the emulator name.

        Raises
        ------
        specfm.synth.labels.ExtrapolationError
            Labels out of range and ``extrapolate="raise"``.

        """
        array, flags = self.prepare(labels, extrapolate)
        flux = self.normalised_flux(array).astype(float)
        unit = u.dimensionless_unscaled
        if fluxed:
            flux = flux * 10.0 ** self.log10_continuum(array, self._wave)
            unit = FLUXED_UNIT
        table = labels_to_table(array, self.labels)
        table["extrapolated"] = flags
        return spectrum(
            flux=flux * unit,
            spectral_axis=self.wavelength,
            uncertainty=StdDevUncertainty(np.zeros_like(flux)),
            mask=np.zeros(flux.shape, dtype=bool),
            meta={
                "emulator": self.name,
                "medium": "vacuum",
                "labels": table,
                "extrapolated": flags,
                "flux_scale": "arbitrary" if fluxed else "normalised",
                "noiseless": True,
            },
        )
