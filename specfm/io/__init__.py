"""Readers for spectra that specutils does not read itself."""

from .gaia_xp_table import XP_SAMPLING, XPTable, read_gaia_xp_table

__all__ = ["XP_SAMPLING", "XPTable", "read_gaia_xp_table"]
