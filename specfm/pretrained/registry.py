"""The registry of shipped models: which exist, where they are, what they cover.

A shipped model is a folder ``specfm/pretrained/models/<name>/`` holding ``config.json``
and ``model.safetensors`` in the format of `specfm.model.save_model`. The folder that is
searched can be replaced with the ``SPECFM_MODEL_DIR`` environment variable or the
``registry=`` argument of every function here (tests and private model collections use
this). Nothing is ever downloaded.
"""

import os
import pathlib

import astropy.units as u
import numpy as np

from .._compat import is_spectrum
from ..exceptions import SpecfmInputError
from ..model.coverage import config_coverage, config_sampling
from ..model.storage import CONFIG_NAME, ModelFileError, read_model_config
from ..wavelengths import air_to_vacuum, pixel_sampling

__all__ = [
    "DEFAULT_MODEL",
    "ENV_VARIABLE",
    "available_models",
    "choose_model",
    "model_path",
    "registry_dir",
]

DEFAULT_MODEL = "specfm-xp"
"""The model `~specfm.inference.load_pretrained` loads when given neither name nor spectra."""

ENV_VARIABLE = "SPECFM_MODEL_DIR"
"""Environment variable naming a folder of models to use instead of the shipped ones."""


def registry_dir(registry=None):
    """Return the folder that holds the models.

    Parameters
    ----------
    registry : str or path-like, optional
        A folder of model folders. Default: ``$SPECFM_MODEL_DIR`` if set, else the
        ``models`` folder shipped inside `specfm.pretrained`.

    Returns
    -------
    pathlib.Path

    """
    if registry is None:
        registry = os.environ.get(ENV_VARIABLE) or pathlib.Path(__file__).parent / "models"
    return pathlib.Path(registry)


def available_models(registry=None):
    """List the names of the models in the registry.

    Parameters
    ----------
    registry : str or path-like, optional
        See `registry_dir`.

    Returns
    -------
    list of str
        Sorted names of the sub-folders that hold a ``config.json``.

    Examples
    --------
    >>> import tempfile
    >>> from specfm.pretrained import available_models
    >>> with tempfile.TemporaryDirectory() as empty:
    ...     available_models(registry=empty)
    []

    """
    folder = registry_dir(registry)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / CONFIG_NAME).is_file())


def _unknown(name, registry):
    names = available_models(registry)
    where = registry_dir(registry)
    listed = ", ".join(repr(n) for n in names) if names else "none"
    return SpecfmInputError(
        f"There is no model called {name!r} in {where} (available: {listed}). Pick one of "
        "those, load your own folder with specfm.load(path), or set $SPECFM_MODEL_DIR to a "
        "folder of models."
    )


def model_path(name, registry=None):
    """Return the folder of the model called ``name``.

    Raises
    ------
    SpecfmInputError
        If there is no such model; the message lists the available ones.

    """
    path = registry_dir(registry) / str(name)
    if not (path / CONFIG_NAME).is_file():
        raise _unknown(name, registry)
    return path


def _wavelengths(spectra, medium):
    """Yield ``(vacuum Angstrom array, number of spectra sharing it)`` for each input part."""
    if type(spectra).__name__ == "SpectrumCollection":
        axis = np.asarray(spectra.spectral_axis.to_value(u.AA, equivalencies=u.spectral()))
        for row in axis.reshape(-1, axis.shape[-1]):
            yield row, 1
        return
    if is_spectrum(spectra):
        axis = spectra.spectral_axis.to_value(u.AA, equivalencies=u.spectral())
        if medium == "air":
            axis = air_to_vacuum(axis)
        yield np.asarray(axis), int(np.prod(spectra.flux.shape[:-1], dtype=int))
        return
    if isinstance(spectra, list | tuple):
        for item in spectra:
            yield from _wavelengths(item, medium)
        return
    raise SpecfmInputError(
        f"Cannot choose a model for a {type(spectra).__name__}: give a specutils Spectrum, "
        "a SpectrumList or a list of spectra, or name the model."
    )


def choose_model(spectra, registry=None, medium="vacuum"):
    """Choose the registry model that covers most of the spectra's pixels.

    A pixel counts as covered by a model when its (vacuum) wavelength lies in the model's
    coverage (see `specfm.model.config_coverage`; none recorded: every wavelength) and its
    spectrum's pixel sampling lies in the model's range (see
    `specfm.model.config_sampling`; none recorded: any sampling), so that a model trained
    on low-resolution Gaia XP spectra is not chosen
    for a BOSS spectrum of the same wavelengths. The model that covers the largest
    fraction of all pixels wins; on a tie the more specialised one (the narrower total
    coverage) is preferred.

    Parameters
    ----------
    spectra : Spectrum, SpectrumList, SpectrumCollection or list
        The spectra to be analysed.
    registry : str or path-like, optional
        See `registry_dir`.
    medium : {"vacuum", "air"}
        Medium of the input wavelengths.

    Returns
    -------
    name : str
        The chosen model.
    reason : str
        One sentence saying why, for logs and for ``meta["model_choice"]``.

    Raises
    ------
    SpecfmInputError
        If the registry is empty, or no model covers any pixel.

    """
    names = available_models(registry)
    if not names:
        raise SpecfmInputError(
            f"No models found in {registry_dir(registry)}, so none can be chosen. Load a model "
            "folder with specfm.load(path) or set $SPECFM_MODEL_DIR."
        )
    parts = [(wave, n, pixel_sampling(wave)) for wave, n in _wavelengths(spectra, medium)]
    total = sum(w.size * n for w, n, _ in parts)
    scores = []
    for name in names:
        try:
            config = read_model_config(model_path(name, registry))
        except ModelFileError:
            continue  # a broken folder is reported when someone loads it by name
        ranges, sampling = config_coverage(config), config_sampling(config)
        inside = 0
        for wave, n, grid_sampling in parts:
            if sampling is not None and not sampling[0] <= grid_sampling <= sampling[1]:
                continue
            if ranges is None:
                inside += wave.size * n
                continue
            hit = np.zeros(wave.shape, bool)
            for lo, hi in ranges:
                hit |= (wave >= lo) & (wave <= hi)
            inside += int(hit.sum()) * n
        fraction = inside / total if total else 0.0
        width = np.inf if ranges is None else sum(hi - lo for lo, hi in ranges)
        scores.append((-fraction, width, name))
    if not scores or min(scores)[0] == 0:
        raise SpecfmInputError(
            "None of the models in the registry "
            f"({', '.join(names)}) covers any pixel of these spectra (wavelength range and "
            "pixel sampling). Check the spectral unit and the medium, name a model, or "
            "train one for these spectra."
        )
    neg_fraction, _, name = min(scores)
    reason = (
        f"chose {name!r}: it covers {-neg_fraction:.0%} of the spectra's pixels"
    )
    others = [f"{n!r} {-f:.0%}" for f, _, n in sorted(scores) if n != name]
    if others:
        reason += f" (others: {', '.join(others)})"
    return name, reason + "."
