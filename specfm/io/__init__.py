"""Readers for spectra that specutils does not read itself.

Importing this subpackage (which ``import specfm`` does) registers the readers with
specutils, e.g. ``Spectrum.read(path, format="Gaia XP sampled")``.
"""

from .gaia_xp_continuous import (
    CONTINUOUS_FORMAT_NAME,
    PHOTOMETRY_COLUMNS,
    identify_gaia_xp_continuous,
    photometry_inputs,
    read_gaia_xp_continuous,
    register_continuous,
)
from .gaia_xp_sampled import (
    FORMAT_NAME,
    GAIA_XP_FLUX_UNIT,
    GAIA_XP_SAMPLING,
    identify_gaia_xp_sampled,
    iter_gaia_xp_sampled,
    read_gaia_xp_sampled,
    register,
)
from .gaia_xp_table import XP_SAMPLING, XPTable, read_gaia_xp_table

register()
register_continuous()

__all__ = [
    "CONTINUOUS_FORMAT_NAME",
    "FORMAT_NAME",
    "GAIA_XP_FLUX_UNIT",
    "GAIA_XP_SAMPLING",
    "PHOTOMETRY_COLUMNS",
    "XP_SAMPLING",
    "XPTable",
    "identify_gaia_xp_continuous",
    "identify_gaia_xp_sampled",
    "iter_gaia_xp_sampled",
    "photometry_inputs",
    "read_gaia_xp_continuous",
    "read_gaia_xp_sampled",
    "read_gaia_xp_table",
    "register",
    "register_continuous",
]
