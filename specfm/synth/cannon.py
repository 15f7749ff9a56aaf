"""The cubic-polynomial ("Cannon") emulator with its continuum model.

The file format (``cannon_cubic_*.npz``, from the ``thedoppler`` package) is described in
``../shared/data/README.md``: labels are scaled as ``x = (labels - label_offset) /
label_scale``; term k is ``prod_i x_i ** term_powers[k, i]``; ``flux = theta @ terms`` on
an air wavelength grid (0.1 Angstrom steps over 3000-18000 Angstrom), and a continuum model
of the same form gives log10 of the continuum on a coarser grid.
"""

from pathlib import Path

import astropy.units as u
import numpy as np

from ..wavelengths import air_to_vacuum
from .emulators import Emulator, load_npz
from .labels import LOGG_UNIT, Label

__all__ = ["CannonEmulator"]

_REQUIRED = (
    "label_names", "wavelength_air_A", "theta", "term_powers", "label_offset",
    "label_scale", "training_labels",
)
_CONTINUUM = (
    "continuum_wavelength_air_A", "continuum_theta", "continuum_term_powers",
    "continuum_is_log10",
)
_UNITS = {"teff": u.K, "logg": LOGG_UNIT, "fe_h": u.dex, "m_h": u.dex}
_DESCRIPTIONS = {"teff": "effective temperature", "logg": "surface gravity", "fe_h": "[Fe/H]"}


def _terms(x, powers):
    """Polynomial terms, shape ``(n_terms, n_stars)``, for scaled labels ``x (n, k)``."""
    return np.prod(x[None, :, :] ** powers[:, None, :].astype(float), axis=2)


class CannonEmulator(Emulator):
    """A cubic polynomial emulator in (Teff, logg, [Fe/H]) with a continuum model.

    Use `from_npz` to load one of the shipped files. The valid range of each label is the
    range of the training labels; the label prior is those labels with jitter.

    Parameters
    ----------
    name : str
        Short name.
    wavelength_air : numpy.ndarray
        Air wavelengths (Angstrom) of the flux model.
    theta : numpy.ndarray
        Coefficients, shape ``(n_pixels, n_terms)``.
    term_powers : numpy.ndarray
        Integer powers, shape ``(n_terms, n_labels)``.
    label_offset, label_scale : numpy.ndarray
        Label scaling.
    label_names : sequence of str
        Names as in the file (``teff``, ``logg``, ``fe_h``).
    training_labels : numpy.ndarray
        Training label vectors, ``(n_train, n_labels)``.
    continuum : dict, optional
        ``wavelength_air``, ``theta``, ``term_powers``, ``is_log10`` of the continuum model.
    scatter : numpy.ndarray, optional
        Intrinsic per-pixel scatter of the model.
    native_resolution : float, optional
        Resolving power of the model spectra; None (the default) treats them as resolved
        far beyond any survey (documented 0.1 Angstrom sampling).

    Examples
    --------
    >>> import numpy as np
    >>> em = CannonEmulator("toy", np.linspace(5000, 5010, 11), np.ones((11, 1)),
    ...                     np.zeros((1, 3), int), [0, 0, 0], [1, 1, 1],
    ...                     ["teff", "logg", "fe_h"], [[4000, 2, 0], [6000, 4, -1]])
    >>> em.label_names, em.medium
    (['teff', 'logg', 'fe_h'], 'air')

    """

    def __init__(self, name, wavelength_air, theta, term_powers, label_offset, label_scale,
                 label_names, training_labels, continuum=None, scatter=None,
                 native_resolution=None):
        training = np.asarray(training_labels, dtype=float)
        names = [str(n) for n in label_names]
        labels = tuple(
            Label(n, _UNITS.get(n, u.dex), float(training[:, i].min()),
                  float(training[:, i].max()), _DESCRIPTIONS.get(n, n))
            for i, n in enumerate(names)
        )
        super().__init__(name, labels, wavelength_air, medium="air",
                         training_labels=training, native_resolution=native_resolution,
                         reference="thedoppler 1.1.32 cubic Cannon model (MIT)")
        self._theta = np.asarray(theta, dtype=np.float32)
        self._powers = np.asarray(term_powers, dtype=np.int64)
        self._offset = np.asarray(label_offset, dtype=float)
        self._scale = np.asarray(label_scale, dtype=float)
        self.scatter = None if scatter is None else np.asarray(scatter, dtype=np.float32)
        self._continuum = None
        if continuum is not None:
            self._continuum = {
                "wave": air_to_vacuum(np.asarray(continuum["wavelength_air"], float)),
                "theta": np.asarray(continuum["theta"], dtype=float),
                "powers": np.asarray(continuum["term_powers"], dtype=np.int64),
                "is_log10": bool(continuum["is_log10"]),
            }
            self.has_continuum = True

    @classmethod
    def from_npz(cls, path, name=None):
        """Load a ``cannon_cubic_*.npz`` file.

        Parameters
        ----------
        path : str or path-like
            The file, e.g. ``../shared/data/emulators/cannon_cubic_coolstars.npz``.
        name : str, optional
            Name to record; defaults to the file stem.

        Returns
        -------
        CannonEmulator
            The emulator.

        Raises
        ------
        SpecfmInputError
            If the file is missing or not of this format.

        """
        data = load_npz(path, _REQUIRED)
        continuum = None
        if all(k in data.files for k in _CONTINUUM):
            continuum = {
                "wavelength_air": data["continuum_wavelength_air_A"],
                "theta": data["continuum_theta"],
                "term_powers": data["continuum_term_powers"],
                "is_log10": data["continuum_is_log10"],
            }
        return cls(
            name or Path(path).stem, data["wavelength_air_A"], data["theta"],
            data["term_powers"], data["label_offset"], data["label_scale"],
            data["label_names"], data["training_labels"], continuum=continuum,
            scatter=data["scatter"] if "scatter" in data.files else None,
        )

    def _scaled(self, array):
        return (array - self._offset) / self._scale

    def _forward(self, array, pixels):
        terms = _terms(self._scaled(array), self._powers).astype(np.float32)
        return (self._theta[pixels] @ terms).T

    def binned_moments(self, array, pixels, starts, weight, offset):
        """As `Emulator.binned_moments`, binning the (linear) coefficients once.

        The model is linear in ``theta``, so the sums over fine pixels are taken over the
        coefficients once per grouping and cached; each call then costs one small
        matrix product.

        Parameters
        ----------
        array : numpy.ndarray
            Labels ``(n, n_labels)``.
        pixels : slice
            Part of the fine grid.
        starts, weight, offset : numpy.ndarray
            Grouping, quadrature weights and offsets from the group centre.

        Returns
        -------
        mass, moment : numpy.ndarray
            Each ``(n, n_groups)``.

        """
        key = (pixels.start, pixels.stop, starts.size, float(weight.sum()),
               float(np.abs(offset).sum()))
        cache = self.__dict__.setdefault("_binned", {})
        if key not in cache:
            theta = self._theta[pixels].astype(float)
            cache[key] = (
                np.add.reduceat(theta * weight[:, None], starts, axis=0).astype(np.float32),
                np.add.reduceat(theta * (weight * offset)[:, None], starts,
                                axis=0).astype(np.float32),
            )
        theta_mass, theta_moment = cache[key]
        terms = _terms(self._scaled(np.atleast_2d(array)), self._powers).astype(np.float32)
        return (theta_mass @ terms).T.astype(float), (theta_moment @ terms).T.astype(float)

    def log10_continuum(self, array, wavelength):
        """Log10 of the continuum (arbitrary flux scale) at vacuum wavelengths.

        Parameters
        ----------
        array : numpy.ndarray
            Labels, shape ``(n, n_labels)``.
        wavelength : numpy.ndarray
            Vacuum wavelengths (Angstrom); interpolated linearly from the model's grid.

        Returns
        -------
        numpy.ndarray
            Shape ``(n, len(wavelength))``.

        """
        if self._continuum is None:
            return super().log10_continuum(array, wavelength)
        c = self._continuum
        terms = _terms(self._scaled(np.atleast_2d(array)), c["powers"])
        model = (c["theta"] @ terms).T
        if not c["is_log10"]:
            model = np.log10(np.maximum(model, 1e-300))
        wave = np.asarray(wavelength, dtype=float)
        grid = c["wave"]
        idx = np.clip(np.searchsorted(grid, wave) - 1, 0, grid.size - 2)
        w = np.clip((wave - grid[idx]) / (grid[idx + 1] - grid[idx]), 0.0, 1.0)
        return model[:, idx] * (1.0 - w) + model[:, idx + 1] * w
