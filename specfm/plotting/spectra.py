"""Plots along the wavelength axis: attention maps and spectra with model overlays."""

import astropy.units as u
import numpy as np

from ..data import LABEL_ELEMENTS, strong_lines
from ..exceptions import SpecfmInputError
from ._axes import get_axes, values

__all__ = ["plot_attention", "plot_spectrum"]


def plot_attention(table, label=None, spectrum_index=0, ax=None, lines=True, elements=None,
                   smooth=1):
    """Draw a label's attention over the spectrum, marking its element's strong lines.

    Parameters
    ----------
    table : `~astropy.table.QTable`
        The result of `specfm.inference.Model.attention`.
    label : str, optional
        Which label's attention to draw (default: the first in the table).
    spectrum_index : int
        Which spectrum of the table.
    ax : `~matplotlib.axes.Axes`, optional
        Where to draw the flux; the attention goes on a twin y axis.
    lines : bool
        Mark the strong lines (`specfm.data.strong_lines`) of ``elements`` in range.
    elements : str or list of str, optional
        Elements to mark (default: those of the label, `specfm.data.LABEL_ELEMENTS`).
    smooth : int
        Running-mean width (pixels) applied to the attention for display.

    Returns
    -------
    `~matplotlib.axes.Axes`
        The flux axes; the attention axes is ``ax.attention_axes``.

    """
    labels = table.meta.get("labels") or [c for c in table.colnames
                                          if c not in ("spectrum_index", "wavelength", "flux")]
    label = labels[0] if label is None else label
    if label not in table.colnames:
        raise SpecfmInputError(f"The table has no attention for {label!r}; it has "
                               f"{', '.join(labels)}.")
    rows = table[table["spectrum_index"] == spectrum_index]
    if len(rows) == 0:
        raise SpecfmInputError(f"The table has no spectrum {spectrum_index}.")
    wave = rows["wavelength"].to_value(u.AA)
    weight = values(rows[label])
    if smooth > 1:
        weight = np.convolve(weight, np.ones(int(smooth)) / int(smooth), mode="same")
    ax = get_axes(ax, figsize=(10, 3.5))
    ax.plot(wave, values(rows["flux"]), color="0.6", lw=0.6, label="normalised flux")
    ax.set_xlabel("rest-frame vacuum wavelength [Angstrom]")
    ax.set_ylabel("normalised flux")
    twin = ax.twinx()
    twin.fill_between(wave, weight, color="C3", alpha=0.5, step="mid", lw=0)
    twin.set_ylabel(f"attention of {label}")
    twin.set_ylim(0, None)
    if lines:
        chosen = elements if elements is not None else LABEL_ELEMENTS.get(label, ())
        if chosen:
            found = strong_lines(chosen, [wave.min(), wave.max()] * u.AA)
            for i, line in enumerate(found):
                ax.axvline(line["wavelength"].to_value(u.AA), color="C0", lw=0.5, alpha=0.6,
                           ls=":", label=("lines of " + ", ".join(np.atleast_1d(chosen))
                                          if i == 0 else None))
    ax.legend(loc="lower left", fontsize="small")
    ax.set_title(f"{table.meta.get('model', 'specfm')}: where {label} looks")
    ax.attention_axes = twin
    return ax


def _one_spectrum(spectrum, what):
    """Return a 1-D spectrum from a 1-D one, a one-row batch or a one-element list."""
    from .._compat import is_spectrum

    if isinstance(spectrum, list | tuple):
        if len(spectrum) != 1:
            raise SpecfmInputError(
                f"plot_spectrum draws one spectrum, but {what} is a list of {len(spectrum)}; "
                f"pass one of them, e.g. {what}[0].")
        spectrum = spectrum[0]
    if not is_spectrum(spectrum):
        raise SpecfmInputError(f"{what} must be a specutils Spectrum, not "
                               f"{type(spectrum).__name__}.")
    if spectrum.flux.ndim > 1:
        if spectrum.flux.shape[0] != 1 or spectrum.flux.ndim > 2:
            raise SpecfmInputError(
                f"plot_spectrum draws one spectrum, but {what} is a batch of shape "
                f"{spectrum.flux.shape}; pass one row, e.g. {what}[0].")
        spectrum = spectrum[0]
    return spectrum


def _flux_limits(*fluxes):
    """Return y limits that show the fluxes' bulk (0.5-99.5 percentiles, padded)."""
    finite = np.concatenate([np.asarray(f, float).ravel() for f in fluxes])
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return None
    lo, hi = np.percentile(finite, [0.5, 99.5])
    pad = 0.1 * (hi - lo) if hi > lo else 0.1 * max(abs(hi), 1.0)
    return lo - pad, hi + pad


def plot_spectrum(spectrum, model_spectrum=None, ax=None, labels=("observed", "model"),
                  residuals=True):
    """Draw a spectrum with a generated or in-painted one overlaid.

    The y axis shows the bulk of the observed and model flux (and residuals); a wide
    uncertainty band of the model is cut at its edges rather than squeezing the spectra.

    Parameters
    ----------
    spectrum : Spectrum
        One spectrum (e.g. from `specfm.inference.Model.normalise`): 1-D, or a batch or
        list holding one.
    model_spectrum : Spectrum, optional
        One spectrum from `~specfm.inference.Model.generate` or
        `~specfm.inference.Model.inpaint` (1-D, or a batch or list holding one), drawn with
        its 1-sigma band; in-painted pixels (``meta["inpainted"]``) are shaded.
    ax : `~matplotlib.axes.Axes`, optional
        Where to draw.
    labels : tuple of str
        Legend entries of the two spectra.
    residuals : bool
        Also draw ``observed - model`` (interpolated onto the observed grid) below,
        offset to 0.2.

    Returns
    -------
    `~matplotlib.axes.Axes`

    Raises
    ------
    SpecfmInputError
        If ``spectrum`` or ``model_spectrum`` holds more than one spectrum.

    """
    spectrum = _one_spectrum(spectrum, "spectrum")
    if model_spectrum is not None:
        model_spectrum = _one_spectrum(model_spectrum, "model_spectrum")
    ax = get_axes(ax, figsize=(10, 3.5))
    shown = []
    wave = spectrum.spectral_axis.to_value(u.AA, u.spectral())
    flux = values(spectrum.flux)
    if spectrum.mask is not None:
        flux = np.where(np.asarray(spectrum.mask, bool), np.nan, flux)
    ax.plot(wave, flux, color="k", lw=0.7, label=labels[0])
    shown.append(flux)
    if model_spectrum is not None:
        mwave = model_spectrum.spectral_axis.to_value(u.AA, u.spectral())
        mflux = values(model_spectrum.flux)
        std = (model_spectrum.uncertainty.array if model_spectrum.uncertainty is not None
               else np.zeros_like(mflux))
        ax.plot(mwave, mflux, color="C1", lw=0.9, label=labels[1])
        shown.append(mflux)
        ax.fill_between(mwave, mflux - std, mflux + std, color="C1", alpha=0.3, lw=0)
        filled = model_spectrum.meta.get("inpainted")
        if filled is not None and np.any(filled):
            ax.fill_between(mwave, 0, 1, where=np.asarray(filled), color="C2", alpha=0.15,
                            transform=ax.get_xaxis_transform(), label="in-painted")
        if residuals:
            order = np.argsort(mwave)
            resid = flux - np.interp(wave, mwave[order], mflux[order])
            ax.plot(wave, 0.2 + resid, color="C7", lw=0.6, label=f"{labels[0]} - model + 0.2")
            shown.append(0.2 + resid)
    limits = _flux_limits(*shown)
    if limits is not None:
        ax.set_ylim(*limits)
    ax.set_xlabel(f"wavelength [{u.AA.to_string()}]")
    ax.set_ylabel("flux")
    ax.legend(loc="lower left", fontsize="small")
    return ax
