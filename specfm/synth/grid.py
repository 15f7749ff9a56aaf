"""An emulator built from a user's own grid of synthetic spectra.

Give a file of spectra (FITS or HDF5) and a label table -- the output of Korg,
Turbospectrum, PHOENIX or any other code -- and `GridEmulator` interpolates linearly in
label space: multilinearly when the labels form a complete rectangular grid, otherwise
barycentrically inside a Delaunay triangulation of the (range-scaled) labels.

File layouts
------------
FITS
    An image HDU named ``FLUX`` (or the primary HDU) of shape ``(n_spectra, n_pixels)``;
    the wavelengths in an HDU named ``WAVELENGTH``, or in the flux HDU's header as a linear
    (``CRVAL1``, ``CDELT1``/``CD1_1``, ``CRPIX1``) or log10 (``DC-FLAG = 1``) axis; the
    labels in a binary table HDU named ``LABELS``.
HDF5
    Datasets ``flux`` ``(n_spectra, n_pixels)`` and ``wavelength`` ``(n_pixels,)``; labels
    as an astropy table at path ``labels`` (written with ``Table.write(..., path="labels",
    serialize_meta=True)``).
Either way the labels may instead be given as a separate table. The wavelength medium comes
from the ``medium`` argument or a ``MEDIUM`` header keyword / attribute (``"air"`` or
``"vacuum"``); specfm refuses to guess. Label columns should carry units; columns without
units are taken in the house units (K for ``teff``, dex(cm/s2) for ``logg``, dex otherwise).
"""

from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import QTable, Table
from scipy.spatial import Delaunay

from ..exceptions import SpecfmInputError
from .emulators import MEDIA, Emulator
from .labels import LOGG_UNIT, Label

__all__ = ["GridEmulator"]


def _house_unit(name, column):
    unit = getattr(column, "unit", None)
    if unit is not None and unit != u.dimensionless_unscaled:
        return u.Unit(unit) if not isinstance(unit, u.FunctionUnitBase) else unit
    return {"teff": u.K, "logg": LOGG_UNIT, "vmicro": u.km / u.s,
            "vmacro": u.km / u.s, "vsini": u.km / u.s}.get(name, u.dex)


def _values(column, unit):
    if isinstance(column, u.Quantity):
        return np.asarray(column.to_value(unit), dtype=float)
    return np.asarray(column, dtype=float)


class GridEmulator(Emulator):
    """Linear interpolation in label space over a grid of synthetic spectra.

    Parameters
    ----------
    wavelength : `~astropy.units.Quantity` or array-like
        Wavelengths of the pixels (Angstrom if bare numbers), shape ``(n_pixels,)``.
    flux : array-like
        Normalised spectra, shape ``(n_spectra, n_pixels)``.
    labels : `~astropy.table.Table` or `~astropy.table.QTable`
        One row per spectrum.
    medium : {"vacuum", "air"}
        Medium of ``wavelength``.
    label_names : sequence of str, optional
        Columns to use as labels (default: every numeric column).
    native_resolution : float, optional
        Resolving power of the grid spectra (None: resolved beyond any instrument).
    name : str
        Name recorded in the metadata.

    Raises
    ------
    SpecfmInputError
        Shapes disagree, labels are not finite, or there are too few spectra.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from astropy.table import QTable
    >>> labels = QTable({"teff": [4000.0, 5000.0, 4000.0, 5000.0] * u.K,
    ...                  "fe_h": [0.0, 0.0, -1.0, -1.0] * u.dex})
    >>> flux = np.array([[0.5], [0.7], [0.6], [0.8]]) * np.ones((1, 3))
    >>> grid = GridEmulator([5000.0, 5001.0, 5002.0] * u.AA, flux, labels, "vacuum")
    >>> grid({"teff": [4500.0] * u.K, "fe_h": [-0.5] * u.dex}).flux[0, 0]
    <Quantity 0.65>

    """

    def __init__(self, wavelength, flux, labels, medium, label_names=None,
                 native_resolution=None, name="grid"):
        wave = u.Quantity(wavelength, u.AA).to_value(u.AA, u.spectral())
        flux = np.asarray(flux, dtype=np.float32)
        table = QTable(labels) if not isinstance(labels, QTable) else labels
        if flux.ndim != 2 or flux.shape[1] != wave.size or flux.shape[0] != len(table):
            raise SpecfmInputError(
                f"flux must have shape (n_spectra, n_pixels) = ({len(table)}, {wave.size}); "
                f"got {flux.shape}."
            )
        if label_names is None:
            label_names = [c for c in table.colnames
                           if np.issubdtype(np.asarray(table[c]).dtype, np.number)]
        units = [_house_unit(n, table[n]) for n in label_names]
        points = np.stack([_values(table[n], un) for n, un in zip(label_names, units,
                                                                   strict=True)], axis=1)
        if not np.all(np.isfinite(points)):
            raise SpecfmInputError("The label table has NaN values; drop those spectra.")
        spec = tuple(Label(n, un, float(points[:, i].min()), float(points[:, i].max()), n)
                     for i, (n, un) in enumerate(zip(label_names, units, strict=True)))
        order = np.argsort(wave)
        super().__init__(name, spec, wave[order], medium=medium, training_labels=points,
                         native_resolution=native_resolution,
                         reference="user grid of synthetic spectra")
        self._flux = flux[:, order]
        self._points = points
        lo, hi = points.min(axis=0), points.max(axis=0)
        self._varying = np.nonzero(hi > lo)[0]
        self._lo, self._span = lo, np.where(hi > lo, hi - lo, 1.0)
        self._setup_interpolation()

    def _setup_interpolation(self):
        pts = (self._points[:, self._varying] - self._lo[self._varying]) / self._span[
            self._varying]
        self._axes = [np.unique(pts[:, j]) for j in range(pts.shape[1])]
        n_regular = int(np.prod([len(a) for a in self._axes])) if self._axes else 1
        self.regular = False
        if n_regular == len(pts):
            idx = np.stack([np.searchsorted(a, pts[:, j]) for j, a in enumerate(self._axes)],
                           axis=1)
            flat = np.ravel_multi_index(idx.T, [len(a) for a in self._axes]) if len(
                self._axes) else np.zeros(len(pts), int)
            if len(np.unique(flat)) == len(pts):
                self.regular = True
                self._order = np.empty(len(pts), dtype=int)
                self._order[flat] = np.arange(len(pts))
        if not self.regular:
            if len(pts) < pts.shape[1] + 1:
                raise SpecfmInputError("Too few spectra to interpolate between; need > n_labels.")
            self._tri = Delaunay(pts)
        self._scaled_points = pts

    @classmethod
    def from_file(cls, path, labels=None, medium=None, **kwargs):
        """Read a grid from a FITS or HDF5 file (layouts in the module description).

        Parameters
        ----------
        path : str or path-like
            ``.fits``/``.fits.gz``/``.fit`` or ``.h5``/``.hdf5``.
        labels : `~astropy.table.Table` or str, optional
            The label table, or a file readable by `astropy.table.Table.read`; by default
            it is read from the grid file.
        medium : {"vacuum", "air"}, optional
            Wavelength medium; by default the file's ``MEDIUM`` keyword/attribute.
        **kwargs
            Passed to `GridEmulator`.

        Returns
        -------
        GridEmulator
            The emulator.

        Raises
        ------
        SpecfmInputError
            Unknown suffix, missing parts, or unknown medium.

        """
        path = Path(path)
        suffixes = "".join(path.suffixes).lower()
        if suffixes.endswith((".fits", ".fits.gz", ".fit")):
            wave, flux, table, file_medium = _read_fits(path)
        elif suffixes.endswith((".h5", ".hdf5")):
            wave, flux, table, file_medium = _read_hdf5(path)
        else:
            raise SpecfmInputError(f"{path}: use a .fits or .h5/.hdf5 grid file.")
        if labels is not None:
            table = labels if isinstance(labels, Table) else QTable.read(labels)
        if table is None:
            raise SpecfmInputError(f"{path} has no label table; pass labels=...")
        medium = medium or file_medium
        if medium not in MEDIA:
            raise SpecfmInputError(
                f"The wavelength medium of {path} is unknown ({medium!r}); pass "
                "medium='air' or medium='vacuum'."
            )
        kwargs.setdefault("name", path.name.split(".")[0])
        return cls(wave, flux, table, medium, **kwargs)

    def _weights(self, array):
        """Interpolation indices and weights, each ``(n, n_corners)``."""
        pts = (array[:, self._varying] - self._lo[self._varying]) / self._span[self._varying]
        n = len(pts)
        if self.regular:
            k = len(self._axes)
            lower, frac = [], []
            for j, a in enumerate(self._axes):
                if len(a) == 1:
                    lower.append(np.zeros(n, int))
                    frac.append(np.zeros(n))
                    continue
                i = np.clip(np.searchsorted(a, pts[:, j]) - 1, 0, len(a) - 2)
                lower.append(i)
                frac.append(np.clip((pts[:, j] - a[i]) / (a[i + 1] - a[i]), 0.0, 1.0))
            shape = [len(a) for a in self._axes]
            idx, wts = [], []
            for corner in range(2**k):
                bits = [(corner >> j) & 1 for j in range(k)]
                sub = [np.minimum(lower[j] + bits[j], shape[j] - 1) for j in range(k)]
                w = np.prod([frac[j] if bits[j] else 1.0 - frac[j] for j in range(k)], axis=0)
                idx.append(self._order[np.ravel_multi_index(sub, shape)] if k else
                           np.zeros(n, int))
                wts.append(w * np.ones(n))
            return np.stack(idx, axis=1), np.stack(wts, axis=1)
        simplex = self._tri.find_simplex(pts)
        inside = simplex >= 0
        idx = np.zeros((n, pts.shape[1] + 1), dtype=int)
        wts = np.zeros((n, pts.shape[1] + 1))
        if inside.any():
            s = simplex[inside]
            t = self._tri.transform[s]
            b = np.einsum("nij,nj->ni", t[:, :-1], pts[inside] - t[:, -1])
            idx[inside] = self._tri.simplices[s]
            wts[inside] = np.concatenate([b, 1.0 - b.sum(axis=1, keepdims=True)], axis=1)
        if (~inside).any():  # outside the hull: nearest grid spectrum (flagged by caller)
            d = ((pts[~inside, None, :] - self._scaled_points[None]) ** 2).sum(axis=2)
            idx[~inside, 0] = np.argmin(d, axis=1)
            wts[~inside, 0] = 1.0
        return idx, wts

    def outside_hull(self, array):
        """Return True for label vectors outside the convex hull of an irregular grid.

        Parameters
        ----------
        array : numpy.ndarray
            Labels ``(n, n_labels)``.

        Returns
        -------
        numpy.ndarray
            Boolean ``(n,)`` (all False for a regular grid, whose hull is its box).

        """
        if self.regular:
            return np.zeros(len(array), dtype=bool)
        pts = (array[:, self._varying] - self._lo[self._varying]) / self._span[self._varying]
        return self._tri.find_simplex(pts) < 0

    def prepare(self, labels, extrapolate="raise"):
        """As `Emulator.prepare`, also flagging points outside an irregular grid's hull.

        Parameters
        ----------
        labels : table, dict or array-like
            Labels.
        extrapolate : {"raise", "flag"}
            Raise, or flag (flagged stars get the nearest grid spectrum, or the labels
            clipped to the box of a regular grid).

        Returns
        -------
        array, extrapolated : numpy.ndarray
            As `Emulator.prepare`.

        """
        from .labels import ExtrapolationError

        array, flags = super().prepare(labels, extrapolate)
        hull = self.outside_hull(array)
        if hull.any() and extrapolate == "raise":
            raise ExtrapolationError(
                f"{int(hull.sum())} stars lie outside the convex hull of the grid's labels "
                '(inside the box of ranges); pass extrapolate="flag" to render them with '
                "the nearest grid spectrum."
            )
        return array, flags | hull

    def _forward(self, array, pixels):
        idx, wts = self._weights(array)
        flux = self._flux[:, pixels]
        return np.einsum("nc,ncp->np", wts.astype(np.float32), flux[idx])


def _read_fits(path):
    from astropy.io import fits

    with fits.open(path) as hdul:
        names = [h.name.upper() for h in hdul]
        flux_hdu = hdul["FLUX"] if "FLUX" in names else hdul[0]
        flux = np.asarray(flux_hdu.data, dtype=np.float32)
        header = flux_hdu.header
        if flux.ndim != 2:
            raise SpecfmInputError(f"{path}: the flux image must be 2-D (n_spectra, n_pixels).")
        if "WAVELENGTH" in names:
            wave = np.asarray(hdul["WAVELENGTH"].data, dtype=float).ravel()
        elif "CRVAL1" in header:
            step = header.get("CDELT1", header.get("CD1_1"))
            if step is None:
                raise SpecfmInputError(f"{path}: CRVAL1 without CDELT1/CD1_1.")
            pix = np.arange(flux.shape[1]) + 1 - header.get("CRPIX1", 1)
            wave = header["CRVAL1"] + step * pix
            if header.get("DC-FLAG", 0) == 1 or "LOG" in str(header.get("CTYPE1", "")).upper():
                wave = 10.0**wave
        else:
            raise SpecfmInputError(f"{path}: no WAVELENGTH HDU and no CRVAL1/CDELT1 keywords.")
        table = QTable.read(hdul["LABELS"]) if "LABELS" in names else None
        medium = header.get("MEDIUM", hdul[0].header.get("MEDIUM"))
    return wave, flux, table, None if medium is None else str(medium).lower()


def _read_hdf5(path):
    import h5py

    with h5py.File(path, "r") as f:
        for key in ("flux", "wavelength"):
            if key not in f:
                raise SpecfmInputError(f"{path}: missing dataset {key!r}.")
        flux = np.asarray(f["flux"], dtype=np.float32)
        wave = np.asarray(f["wavelength"], dtype=float)
        medium = f.attrs.get("medium", f["wavelength"].attrs.get("medium"))
        has_labels = "labels" in f
    table = QTable.read(path, path="labels") if has_labels else None
    if isinstance(medium, bytes):
        medium = medium.decode()
    return wave, flux, table, None if medium is None else str(medium).lower()
