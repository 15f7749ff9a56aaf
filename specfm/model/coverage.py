"""What a model's configuration says it reads: wavelength coverage and pixel sampling.

Both facts are read from a model's ``config.json`` (as `specfm.model.read_model_config`
returns it): the registry uses them to choose a model for a set of spectra, and
`specfm.inference.Model` to describe the model and flag input beyond its coverage.
"""

from ..tokens import coverage_ranges

__all__ = ["config_coverage", "config_sampling"]


def config_coverage(config):
    """Return the wavelength coverage recorded in a model's ``config.json``.

    Parameters
    ----------
    config : dict
        As returned by `specfm.model.read_model_config`.

    Returns
    -------
    list of (float, float) or None
        Vacuum-Angstrom ranges: the tokenizer's coverage if it has one, else the
        ``[min, max]`` of the training spectra; None when neither is known.

    """
    model = config.get("model", config)
    tokenizer = model.get("tokenizer") or {}
    if tokenizer.get("coverage"):
        return coverage_ranges(tokenizer["coverage"])
    if model.get("coverage"):
        return coverage_ranges(model["coverage"][:2])
    return None


def config_sampling(config):
    """Return the pixel sampling a model was trained for, from its ``config.json``.

    Parameters
    ----------
    config : dict
        As returned by `specfm.model.read_model_config`.

    Returns
    -------
    (float, float) or None
        ``provenance["sampling"]``: the lowest and highest median ``lambda / delta-lambda``
        per pixel of the training spectra (e.g. about 170-510 for Gaia XP, 22,000-70,000
        for APOGEE), or None when not recorded (any sampling).

    """
    sampling = (config.get("provenance") or {}).get("sampling")
    if not sampling:
        return None
    lo, hi = sorted(float(x) for x in sampling)
    return lo, hi
