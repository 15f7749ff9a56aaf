"""Neural-network ("Payne") emulators: optical two-layer and APOGEE per-pixel networks.

Both scale labels as ``s = (labels - x_min) / (x_max - x_min) - 0.5`` (see
``../shared/data/README.md``).

Label names. The optical network (``bossbrain``) takes Teff, logg, [M/H] and 19
abundance ratios **[X/M]** (relative to the overall metallicity M, not to Fe). Fe is not
among its labels, so [X/Fe] cannot be derived without assuming [Fe/M]; specfm therefore
reports them as they are, named ``c_m``, ``n_m``, ``o_m``, ``na_m``, ``mg_m``, ... (dex),
and [M/H] as ``m_h``. The APOGEE per-pixel network (``binspec``) takes ``teff``,
``logg``, ``fe_h``, ``mg_fe`` ([Mg/Fe]) and ``vmacro`` (km/s).
"""

from pathlib import Path

import astropy.units as u
import numpy as np
from scipy.special import expit

from .emulators import Emulator, load_npz
from .labels import LOGG_UNIT, Label

__all__ = ["PayneEmulator", "PixelwisePayneEmulator", "payne_label_name"]

_OPTICAL = ("w_array_0", "b_array_0", "w_array_1", "b_array_1", "w_array_2", "b_array_2",
            "x_min", "x_max", "label_names", "wavelength_air_A")
_PIXELWISE = ("w_array_0", "b_array_0", "w_array_1", "b_array_1", "x_min", "x_max")
PIXELWISE_LABELS = ("teff", "logg", "fe_h", "mg_fe", "vmacro")
"""Label order of the APOGEE per-pixel network (not stored in its file)."""


def payne_label_name(name):
    """Map a Payne label name to the house name.

    Parameters
    ----------
    name : str
        Name in the file: ``teff``, ``logg``, ``mh`` or ``<element>m`` for [X/M].

    Returns
    -------
    str
        ``teff``, ``logg``, ``m_h`` or ``<element>_m``.

    Examples
    --------
    >>> payne_label_name("mh"), payne_label_name("mgm"), payne_label_name("vm")
    ('m_h', 'mg_m', 'v_m')

    """
    name = str(name).lower()
    if name in ("teff", "logg"):
        return name
    if name == "mh":
        return "m_h"
    if name.endswith("m"):
        return f"{name[:-1]}_m"
    return name


def _unit_of(name):
    if name == "teff":
        return u.K
    if name == "logg":
        return LOGG_UNIT
    if name == "vmacro":
        return u.km / u.s
    return u.dex


def _description(name):
    if name in ("teff", "logg", "vmacro"):
        return {"teff": "effective temperature", "logg": "surface gravity",
                "vmacro": "macroturbulence"}[name]
    element, ref = name.split("_")
    return f"[{element.capitalize()}/{ref.upper() if ref == 'h' else ref.capitalize()}]"


def _make_labels(names, x_min, x_max):
    labels = []
    for n, lo, hi in zip(names, x_min, x_max, strict=True):
        lo = max(float(lo), 0.0) if n == "vmacro" else float(lo)
        labels.append(Label(n, _unit_of(n), lo, float(hi), _description(n)))
    return tuple(labels)


def _scale(array, x_min, x_max):
    return ((array - x_min) / (x_max - x_min) - 0.5).astype(np.float32)


class PayneEmulator(Emulator):
    """Two-hidden-layer network with leaky-ReLU activations (the optical giants models).

    Parameters
    ----------
    name : str
        Short name.
    weights : dict
        ``w_array_0..2`` and ``b_array_0..2``.
    x_min, x_max : numpy.ndarray
        Label scaling; also the valid ranges.
    label_names : sequence of str
        Names in the file (mapped with ``payne_label_name``).
    wavelength_air : numpy.ndarray
        Air wavelengths of the output pixels.
    training_labels : numpy.ndarray, optional
        Label prior.
    native_resolution : float
        Resolving power of the output (default 2000: the README calls it BOSS-like; this
        is an assumption, not a measured value).

    """

    def __init__(self, name, weights, x_min, x_max, label_names, wavelength_air,
                 training_labels=None, native_resolution=2000.0):
        names = [payne_label_name(n) for n in label_names]
        super().__init__(name, _make_labels(names, x_min, x_max), wavelength_air,
                         medium="air", training_labels=training_labels,
                         native_resolution=native_resolution,
                         reference="bossbrain 1.0.12 optical Payne network (MIT)")
        self._w = [np.asarray(weights[f"w_array_{i}"], dtype=np.float32) for i in range(3)]
        self._b = [np.asarray(weights[f"b_array_{i}"], dtype=np.float32) for i in range(3)]
        self._x_min = np.asarray(x_min, dtype=float)
        self._x_max = np.asarray(x_max, dtype=float)

    @classmethod
    def from_npz(cls, path, name=None, native_resolution=2000.0):
        """Load a ``payne_ann_optical_giants_*.npz`` file.

        Parameters
        ----------
        path : str or path-like
            The file.
        name : str, optional
            Name to record; defaults to the file stem.
        native_resolution : float
            See the class description.

        Returns
        -------
        PayneEmulator
            The emulator.

        """
        d = load_npz(path, _OPTICAL)
        weights = {k: d[k] for k in _OPTICAL[:6]}
        training = d["training_labels"] if "training_labels" in d.files else None
        return cls(name or Path(path).stem, weights, d["x_min"], d["x_max"], d["label_names"],
                   d["wavelength_air_A"], training, native_resolution)

    def _forward(self, array, pixels):
        s = _scale(array, self._x_min, self._x_max).T
        h = self._w[0] @ s + self._b[0][:, None]
        h = np.where(h > 0, h, 0.01 * h)
        h = self._w[1] @ h + self._b[1][:, None]
        h = np.where(h > 0, h, 0.01 * h)
        return (self._w[2][pixels] @ h + self._b[2][pixels, None]).T


class PixelwisePayneEmulator(Emulator):
    """One small sigmoid network per pixel (the APOGEE dwarfs model of ``binspec``).

    Parameters
    ----------
    name : str
        Short name.
    weights : dict
        ``w_array_0`` ``(n_pix, n_hidden, n_labels)``, ``b_array_0``, ``w_array_1``,
        ``b_array_1``.
    x_min, x_max : numpy.ndarray
        Label scaling and valid ranges (``vmacro`` is kept >= 0).
    wavelength_vacuum : numpy.ndarray
        Vacuum wavelengths of the pixels (the APOGEE 7214-pixel grid).
    label_names : sequence of str
        Defaults to ``PIXELWISE_LABELS``.
    native_resolution : float
        The output is already at APOGEE resolution (default 22500).

    """

    def __init__(self, name, weights, x_min, x_max, wavelength_vacuum,
                 label_names=PIXELWISE_LABELS, native_resolution=22500.0):
        super().__init__(name, _make_labels(label_names, x_min, x_max), wavelength_vacuum,
                         medium="vacuum", native_resolution=native_resolution,
                         reference="binspec per-pixel Payne network for APOGEE dwarfs (MIT)")
        self._w0 = np.asarray(weights["w_array_0"], dtype=np.float32)
        self._b0 = np.asarray(weights["b_array_0"], dtype=np.float32)
        self._w1 = np.asarray(weights["w_array_1"], dtype=np.float32)
        self._b1 = np.asarray(weights["b_array_1"], dtype=np.float32)
        self._x_min = np.asarray(x_min, dtype=float)
        self._x_max = np.asarray(x_max, dtype=float)

    @classmethod
    def from_npz(cls, path, wavelength_path, name=None):
        """Load ``payne_pixelwise_apogee_dwarfs.npz`` and its wavelength grid.

        Parameters
        ----------
        path : str or path-like
            The network file.
        wavelength_path : str or path-like
            ``apogee/payne_wavelength_7214.npz`` (array ``wavelength``, vacuum Angstrom).
        name : str, optional
            Name to record; defaults to the file stem.

        Returns
        -------
        PixelwisePayneEmulator
            The emulator.

        """
        d = load_npz(path, _PIXELWISE)
        wave = load_npz(wavelength_path, ("wavelength",))["wavelength"]
        return cls(name or Path(path).stem, {k: d[k] for k in _PIXELWISE[:4]}, d["x_min"],
                   d["x_max"], wave)

    def _forward(self, array, pixels):
        s = _scale(array, self._x_min, self._x_max)
        inner = np.einsum("pjk,nk->npj", self._w0[pixels], s) + self._b0[pixels]
        hidden = expit(inner)
        return np.einsum("pj,npj->np", self._w1[pixels], hidden) + self._b1[pixels]
