"""``specfm.predict(spectra)``: predict with a given model, or one chosen for the spectra."""

import pathlib

from ..exceptions import SpecfmInputError
from ..pretrained import available_models, find_pretrained
from .model import Model, load

__all__ = ["load_pretrained", "predict", "resolve_model"]


def load_pretrained(name=None, spectra=None, registry=None, map_location="cpu", medium="vacuum"):
    """Load a shipped model by name, or the one that best covers ``spectra``.

    Parameters
    ----------
    name : str, optional
        A name from `~specfm.pretrained.available_models` (e.g. ``"specfm-xp"``).
    spectra : Spectrum, SpectrumList or list, optional
        With no ``name``: choose the model whose wavelength coverage holds the largest
        fraction of these spectra's pixels (see `~specfm.pretrained.choose_model`); the
        choice is logged with `astropy.log` and recorded in the model
        (``model.choice``), and from there in the ``meta`` of its predictions.
    registry : str or path-like, optional
        Folder of models (default: ``$SPECFM_MODEL_DIR``, else the shipped models).
    map_location : str or torch.device
        Device for the weights.
    medium : {"vacuum", "air"}
        Medium of the wavelengths of ``spectra`` (for the choice only).

    Returns
    -------
    `Model`

    Raises
    ------
    SpecfmInputError
        For an unknown name (the message lists the available models), or when no model
        can be chosen.
    specfm.model.ModelFileError
        If the files are incomplete or their sha256 does not match.

    """
    path, name, choice = find_pretrained(name, spectra, registry=registry, medium=medium)
    model = Model.from_path(path, name=name, map_location=map_location)
    model.choice = choice
    return model


def predict(spectra, model=None, registry=None, **kwargs):
    """Predict stellar labels for ``spectra`` with ``model``, or with a model chosen for them.

    Parameters
    ----------
    spectra : Spectrum, SpectrumList, SpectrumCollection or list
        As for `Model.predict`.
    model : `Model`, str or path-like, optional
        A loaded model, the name of a shipped model, or a model folder. By default the
        shipped model whose wavelength coverage holds most of the spectra's pixels is
        chosen (see `specfm.pretrained.choose_model`); the choice is logged and recorded
        in ``table.meta["model_choice"]``.
    registry : str or path-like, optional
        Folder of models to choose from (default: ``$SPECFM_MODEL_DIR``, else the
        shipped models).
    **kwargs
        Passed to `Model.predict` (``labels``, ``inputs``, ``batch_size``, ...).

    Returns
    -------
    `~astropy.table.QTable`

    Raises
    ------
    SpecfmInputError
        For an unknown model name or path, or when no model can be chosen.

    """
    model = resolve_model(model, spectra=spectra, registry=registry,
                          medium=kwargs.get("medium", "vacuum"))
    return model.predict(spectra, **kwargs)


def resolve_model(model=None, spectra=None, registry=None, medium="vacuum"):
    """Return a loaded `Model` for a model, a shipped model's name or a model folder.

    Parameters
    ----------
    model : `Model`, str or path-like, optional
        A loaded model (returned as it is), the name of a shipped model, or a model folder.
        None: the shipped model that best covers ``spectra`` (see
        `load_pretrained`).
    spectra : Spectrum, SpectrumList or list, optional
        For the automatic choice.
    registry : str or path-like, optional
        Folder of models to choose from (default: ``$SPECFM_MODEL_DIR``, else the
        shipped models).
    medium : {"vacuum", "air"}
        Medium of the wavelengths of ``spectra`` (for the choice only).

    Returns
    -------
    `Model`

    Raises
    ------
    SpecfmInputError
        For an unknown model name or path, or when no model can be chosen.

    """
    if model is None:
        return load_pretrained(spectra=spectra, registry=registry, medium=medium)
    if isinstance(model, Model):
        return model
    if isinstance(model, str) and model in available_models(registry):
        return load_pretrained(model, registry=registry)
    if pathlib.Path(model).exists():
        return load(model)
    names = ", ".join(available_models(registry)) or "none"
    raise SpecfmInputError(
        f"{model!r} is neither a shipped model (available: {names}) nor a model folder. Give "
        "one of those names, a path, or a loaded specfm Model."
    )
