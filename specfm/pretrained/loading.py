"""Finding shipped models by name, or choosing one for a set of spectra."""

from astropy import log

from ..exceptions import SpecfmInputError
from .registry import DEFAULT_MODEL, available_models, choose_model, model_path, registry_dir

__all__ = ["find_pretrained"]


def find_pretrained(name=None, spectra=None, registry=None, medium="vacuum"):
    """Return the folder of a shipped model by name, or of the one that best covers spectra.

    Parameters
    ----------
    name : str, optional
        A name from `~specfm.pretrained.available_models` (e.g. ``"specfm-xp"``).
    spectra : Spectrum, SpectrumList or list, optional
        With no ``name``: choose the model whose wavelength coverage holds the largest
        fraction of these spectra's pixels (see `~specfm.pretrained.choose_model`); the
        choice is logged with `astropy.log`.
    registry : str or path-like, optional
        Folder of models (default: ``$SPECFM_MODEL_DIR``, else the shipped models).
    medium : {"vacuum", "air"}
        Medium of the wavelengths of ``spectra`` (for the choice only).

    Returns
    -------
    path : pathlib.Path
        The model folder.
    name : str
        Its name.
    choice : str or None
        Why it was chosen, when it was chosen for ``spectra``.

    Raises
    ------
    SpecfmInputError
        For an unknown name (the message lists the available models), or when no model
        can be chosen.

    """
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
    return model_path(name, registry), name, choice
