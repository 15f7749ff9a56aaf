"""Loading shipped models by name, or choosing one for a set of spectra."""

from astropy import log

from ..exceptions import SpecfmInputError
from .registry import DEFAULT_MODEL, available_models, choose_model, model_path, registry_dir

__all__ = ["load_pretrained"]


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
    specfm.predict.Model

    Raises
    ------
    SpecfmInputError
        For an unknown name (the message lists the available models), or when no model
        can be chosen.
    specfm.model.ModelFileError
        If the files are incomplete or their sha256 does not match.

    """
    from ..predict.model import Model  # predict builds on this module, not the reverse

    choice = None
    if name is None and spectra is not None:
        name, choice = choose_model(spectra, registry=registry, medium=medium)
        log.info(f"specfm: {choice}")
    elif name is None:
        if DEFAULT_MODEL not in available_models(registry):
            listed = ", ".join(available_models(registry)) or "none"
            raise SpecfmInputError(
                f"The default model {DEFAULT_MODEL!r} is not in {registry_dir(registry)} "
                f"(available: {listed}). Name a model, or pass spectra=... to choose one."
            )
        name = DEFAULT_MODEL
    model = Model.from_path(model_path(name, registry), name=name, map_location=map_location)
    model.choice = choice
    return model
