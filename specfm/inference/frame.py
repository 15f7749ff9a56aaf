"""The rest frame of a prediction: velocities from arguments, input columns or headers.

Observed-frame spectra (APOGEE apVisit, SDSS/BOSS) must be shifted to the rest frame
before the model reads them, or every line sits a few pixels off where the model learnt
it. `resolve_velocity` turns what a user gives (a Quantity, a column of the ``inputs``
table, or a header keyword such as apVisit's ``VRAD``) into one velocity per spectrum,
and `frame_description` says in the result table which frame was used.
"""

import astropy.units as u
import numpy as np

from .._compat import is_spectrum
from ..exceptions import SpecfmInputError

__all__ = ["VELOCITY_KEYWORDS", "add_frame", "frame_description", "header_velocity",
           "resolve_velocity"]

VELOCITY_KEYWORDS = ("VRAD", "VHELIO", "VREL", "RV", "HRV")
"""Header keywords that `header_velocity` names when the one asked for is missing."""


def _headers(spectra):
    """Yield ``(header, n_spectra)`` for each spectrum object in ``spectra``."""
    if is_spectrum(spectra):
        header = (spectra.meta or {}).get("header", spectra.meta or {})
        n = int(np.prod(spectra.flux.shape[:-1])) if spectra.flux.ndim > 1 else 1
        yield header, n
        return
    if isinstance(spectra, list | tuple):
        for item in spectra:
            yield from _headers(item)
        return
    raise SpecfmInputError(
        f"Cannot read a header keyword from a {type(spectra).__name__}: give Spectrum "
        "objects read from files, or the velocity itself as a Quantity.")


def header_velocity(spectra, keyword, unit=u.km / u.s):
    """Return the radial velocity that each spectrum's FITS header records.

    Parameters
    ----------
    spectra : Spectrum, Spectrum1D, SpectrumList or list
        Spectra as specutils reads them (the header is ``meta["header"]``); every row of
        a 2-D batch gets its file's value.
    keyword : str
        The header keyword, e.g. ``"VRAD"`` (apVisit: the observed radial velocity,
        barycentric correction included).
    unit : `~astropy.units.Unit`
        Unit of the header values.

    Returns
    -------
    `~astropy.units.Quantity`
        One velocity per spectrum.

    Raises
    ------
    SpecfmInputError
        If a header lacks the keyword (the message lists the velocity keywords it has).

    Examples
    --------
    >>> import astropy.units as u, numpy as np
    >>> from specutils import Spectrum
    >>> from specfm.inference import header_velocity
    >>> s = Spectrum(flux=np.ones(5) * u.Jy, spectral_axis=np.arange(5.0, 10.0) * u.um,
    ...              meta={"header": {"VRAD": -44.4}})
    >>> header_velocity(s, "VRAD")
    <Quantity [-44.4] km / s>

    """
    out = []
    for header, n in _headers(spectra):
        if keyword not in header:
            have = [k for k in VELOCITY_KEYWORDS if k in header]
            hint = (f"it has {', '.join(have)}" if have
                    else "give the velocity as a Quantity instead")
            raise SpecfmInputError(f"A spectrum's header has no {keyword!r} keyword; {hint}.")
        try:
            value = float(header[keyword])
        except (TypeError, ValueError):
            raise SpecfmInputError(
                f"The header keyword {keyword!r} holds {header[keyword]!r}, not a number."
            ) from None
        out += [value] * n
    return u.Quantity(out, unit)


def resolve_velocity(radial_velocity, spectra, inputs=None):
    """Turn the ``radial_velocity`` argument of `~specfm.inference.Model.predict` into values.

    Parameters
    ----------
    radial_velocity : Quantity, str or None
        A velocity (scalar or one per spectrum); or the name of a column of ``inputs``
        (with a velocity unit); or else a header keyword (`header_velocity`).
    spectra : object
        The spectra being predicted (for header keywords).
    inputs : dict, `~astropy.table.Table` or None
        The non-spectral inputs.

    Returns
    -------
    velocity : `~astropy.units.Quantity` or None
        The velocity to remove, or None.
    inputs : dict, `~astropy.table.Table` or None
        ``inputs`` without the column that held the velocity (it is not a model input).

    Raises
    ------
    SpecfmInputError
        If a column has no velocity unit, or a header lacks the keyword.

    """
    if radial_velocity is None or not isinstance(radial_velocity, str):
        return radial_velocity, inputs
    name = radial_velocity
    columns = getattr(inputs, "colnames", None) or (list(inputs) if isinstance(inputs, dict)
                                                    else [])
    if name in columns:
        values = u.Quantity(inputs[name])
        if not values.unit.is_equivalent(u.km / u.s):
            raise SpecfmInputError(
                f"The inputs column {name!r} has unit {values.unit!r}, not a velocity; give it "
                "a unit such as km / s.")
        if hasattr(inputs, "colnames"):
            rest = inputs.copy(copy_data=False)
            rest.remove_column(name)
        else:
            rest = {k: v for k, v in inputs.items() if k != name}
        return values.to(u.km / u.s), (rest if len(rest) else None)
    return header_velocity(spectra, name), inputs


def frame_description(radial_velocity, redshift, source=None):
    """Return the ``meta["frame"]`` text of a prediction table.

    Parameters
    ----------
    radial_velocity, redshift : object or None
        What was removed.
    source : str, optional
        Where the velocity came from (a column or header keyword).

    Returns
    -------
    str

    """
    where = f" ({source})" if source else ""
    if radial_velocity is not None:
        return f"rest frame: the radial velocity in column radial_velocity{where} was removed"
    if redshift is not None:
        return f"rest frame: the redshift{where} was removed"
    return ("as given: no velocity removed (right for rest-frame spectra such as apStar and "
            "Gaia XP; observed-frame spectra such as apVisit and BOSS need radial_velocity)")


def add_frame(table, radial_velocity, redshift, source=None):
    """Record in a prediction table which frame its spectra were read in.

    Sets ``table.meta["frame"]`` (`frame_description`) and, when a velocity or redshift
    was removed, adds a ``radial_velocity`` (km / s) or ``redshift`` column before
    ``n_tokens``.

    Parameters
    ----------
    table : `~astropy.table.QTable`
        The table of `~specfm.inference.Model.predict`, changed in place.
    radial_velocity : Quantity or None
        The velocity removed (scalar or one per row).
    redshift : float, array-like or None
        The redshift removed.
    source : str, optional
        The column or header keyword the velocity came from.

    Returns
    -------
    `~astropy.table.QTable`
        ``table``.

    """
    table.meta["frame"] = frame_description(radial_velocity, redshift, source)
    where = table.colnames.index("n_tokens") if "n_tokens" in table.colnames else None
    n = len(table)
    if radial_velocity is not None:
        values = np.broadcast_to(u.Quantity(radial_velocity).to_value(u.km / u.s), (n,))
        table.add_column(np.array(values, float) * (u.km / u.s), name="radial_velocity",
                         index=where)
        table["radial_velocity"].info.description = (
            "Radial velocity removed before reading the spectrum" + (
                f" (from {source})" if source else ""))
    elif redshift is not None:
        table.add_column(np.array(np.broadcast_to(np.asarray(redshift, float), (n,))),
                         name="redshift", index=where)
        table["redshift"].info.description = "Redshift removed before reading the spectrum"
    return table
