"""``specfm.predict(spectra)``: predict with a given model, or one chosen for the spectra."""

import pathlib

from ..exceptions import SpecfmInputError
from ..pretrained import available_models, load_pretrained
from .model import Model, load

__all__ = ["predict"]


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
    if model is None:
        model = load_pretrained(spectra=spectra, registry=registry,
                                medium=kwargs.get("medium", "vacuum"))
    elif not isinstance(model, Model):
        if isinstance(model, str) and model in available_models(registry):
            model = load_pretrained(model, registry=registry)
        elif pathlib.Path(model).exists():
            model = load(model)
        else:
            names = ", ".join(available_models(registry)) or "none"
            raise SpecfmInputError(
                f"{model!r} is neither a shipped model (available: {names}) nor a model "
                "folder. Give one of those names, a path, or a loaded specfm Model."
            )
    return model.predict(spectra, **kwargs)
