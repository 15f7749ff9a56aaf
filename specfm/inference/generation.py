"""Spectra out of the model: ``Model.generate``, ``Model.inpaint`` and ``Model.normalise``.

The network answers flux queries (the normalised flux at a wavelength) as it answers label
queries, with a mean and a variance. Generation gives it labels (and colours) only, and asks
for the flux on a grid; in-painting gives it the rest of the spectrum and asks for the
flux of the missing pixels. Both return flux on the model's normalised scale (continuum-
normalised for high-resolution spectra, divided by the median for Gaia XP; see
``model.tokenizer_config.normalisation``), which is also what ``Model.normalise``
returns for an observed spectrum, so that the two can be compared directly.
"""

import astropy.units as u
import numpy as np
import torch
from astropy.nddata import StdDevUncertainty

from .._compat import make_spectrum
from ..exceptions import SpecfmInputError
from ..model import Query
from ..model.chunking import combine_rows
from ..tokens import (
    SpectrumReport,
    Tokenizer,
    cap_tokens,
    coverage_ranges,
    extra_tokens,
    in_coverage,
)
from ..wavelengths import air_to_vacuum, pixel_sampling
from .batching import slice_inputs

__all__ = ["generate", "inpaint", "label_inputs", "normalise"]  # the first three:
# methods of specfm.inference.Model (self is the model)

_QUERY_BLOCK = 1024  # flux queries per network call


def label_inputs(labels, vocabulary):
    """Return the model inputs in ``labels`` (a dict, `~astropy.table.Table` or Row).

    Columns that are not in ``vocabulary`` (e.g. ``flag`` or ``n_tokens`` of a prediction
    table) are left out; ``<name>_err`` columns come along with their labels.

    Raises
    ------
    SpecfmInputError
        If no column is a label or colour the model knows.

    """
    if hasattr(labels, "colnames") or isinstance(labels, dict):  # Table, QTable, Row, dict
        names = list(labels.colnames if hasattr(labels, "colnames") else labels)
    else:
        raise SpecfmInputError(
            "labels must be a dict of Quantities (e.g. {'teff': 4800 * u.K, ...}), or a row "
            f"or table of labels (e.g. a prediction table), not {type(labels).__name__}.")
    keep = [n for n in names if n in vocabulary]
    if not keep:
        raise SpecfmInputError(
            f"None of {', '.join(names)} is a label or colour of this model; it knows "
            f"{', '.join(vocabulary.names)}.")
    keep += [f"{n}_err" for n in keep if f"{n}_err" in names]
    return {n: labels[n] for n in keep}


def _n_entries(inputs):
    sizes = [np.size(getattr(v, "value", v)) for v in inputs.values()]
    return max(sizes) if sizes else 1


def _input_tokens(tokenizer, inputs, n):
    """Return a `TokenBatch` of ``n`` rows holding only the non-spectral ``inputs``."""
    extra = extra_tokens(inputs, n, tokenizer.config.vocabulary)
    empty = np.zeros(0)
    rows = [(i, empty, empty, empty) for i in range(n)]
    return tokenizer.pack_rows(rows, [SpectrumReport(index=i, n_pixels=0) for i in range(n)],
                               extra)


def _vacuum_angstrom(spectral_axis, medium):
    try:
        wave = u.Quantity(spectral_axis).to_value(u.AA, u.spectral())
    except u.UnitsError:
        raise SpecfmInputError(
            f"spectral_axis must be a spectral Quantity (wavelength, frequency or energy), "
            f"not one in {u.Quantity(spectral_axis).unit!s}.") from None
    wave = np.atleast_1d(np.asarray(wave, dtype=float))
    if wave.ndim != 1 or wave.size == 0 or not np.all(np.isfinite(wave)):
        raise SpecfmInputError("spectral_axis must be a non-empty 1-D array of finite values.")
    if medium not in ("vacuum", "air"):
        raise SpecfmInputError(f"medium must be 'vacuum' or 'air', not {medium!r}.")
    return air_to_vacuum(wave) if medium == "air" else wave


def _check_inside(self, wave, what):
    inside = in_coverage(wave, self.coverage)
    if not inside.all():
        raise SpecfmInputError(
            f"{what} reaches {wave[~inside].min():.1f}-{wave[~inside].max():.1f} AA "
            f"(vacuum), outside the coverage of model {self.name!r} "
            f"({self.coverage_text}). Use a grid inside it, or a model that covers it.")


def _flux_queries(self, tokens, wave):
    """Per-row ``(mean, logvar)`` tensors of the normalised flux at ``wave``."""
    parts = [self.run_tokens(tokens, Query(wavelengths=wave[start:start + _QUERY_BLOCK]))
             for start in range(0, wave.size, _QUERY_BLOCK)]
    return torch.cat([m for m, _ in parts], 1), torch.cat([v for _, v in parts], 1)


def generate(self, labels, spectral_axis, inputs=None, medium="vacuum"):
    """Write the spectrum of a star with the given labels on any wavelength grid.

    Parameters
    ----------
    labels : dict, `~astropy.table.Table` or `~astropy.table.Row`
        Labels as Quantities, e.g. ``{"teff": 4800 * u.K, "logg": 2.5 *
        u.dex(u.cm / u.s**2), "fe_h": -0.3 * u.dex}``, one value or one per spectrum;
        or a row or table of them (a prediction table works: columns the model does
        not know, such as ``flag``, are left out; ``_err`` columns are used as
        uncertainties). Labels left out are not assumed: the model marginalises.
    spectral_axis : Quantity
        Wavelengths (or frequencies, energies) to write the flux at; they must lie in
        the model's coverage.
    inputs : dict or `~astropy.table.Table`, optional
        More inputs (e.g. photometric colours).
    medium : {"vacuum", "air"}
        Medium of ``spectral_axis``.

    Returns
    -------
    Spectrum
        Normalised flux (dimensionless) on ``spectral_axis``, with the predicted
        standard deviation as a `~astropy.nddata.StdDevUncertainty`; 2-D when several
        sets of labels were given. ``meta`` names the model and the inputs.

    Raises
    ------
    SpecfmInputError
        For unknown labels, a grid outside the model's coverage, or bad units.

    Examples
    --------
    >>> import astropy.units as u, numpy as np
    >>> import specfm
    >>> model = specfm.load_pretrained("specfm-xp")
    >>> spec = model.generate({"teff": 4800 * u.K, "logg": 2.5 * u.dex(u.cm / u.s**2),
    ...                        "fe_h": -0.2 * u.dex}, np.arange(4000, 9000, 20) * u.AA)
    >>> spec.flux.shape
    (250,)

    """
    inputs_all = label_inputs(labels, self.vocabulary)
    if inputs is not None:
        inputs_all.update(label_inputs(inputs, self.vocabulary))
    wave = _vacuum_angstrom(spectral_axis, medium)
    _check_inside(self, wave, "spectral_axis")
    n = len(labels) if hasattr(labels, "colnames") and not _is_row(labels) else (
        _n_entries(inputs_all))
    tokens = _input_tokens(Tokenizer(self.tokenizer_config), inputs_all, n)
    mean, logvar = _flux_queries(self, tokens, wave)
    std = np.exp(0.5 * logvar.numpy())
    flux = mean.numpy()
    if n == 1 and not (hasattr(labels, "colnames") and not _is_row(labels)):
        flux, std = flux[0], std[0]
    return make_spectrum(
        flux=flux * u.dimensionless_unscaled, spectral_axis=u.Quantity(spectral_axis),
        uncertainty=StdDevUncertainty(std),
        meta={"model": self.name, "model_sha256": self.sha256,
              "generated_from": sorted(inputs_all),
              "normalisation": self.tokenizer_config.normalisation.get("name")})


def normalise(self, spectra, medium="vacuum", radial_velocity=None, redshift=None):
    """Return spectra as the model sees them: rest-frame, vacuum, normalised.

    Parameters
    ----------
    spectra : Spectrum, Spectrum1D, SpectrumList, SpectrumCollection or list
        As for `~specfm.inference.Model.predict`.
    medium, radial_velocity, redshift
        As for `~specfm.inference.Model.predict`.

    Returns
    -------
    Spectrum or list of Spectrum
        One per input spectrum (a single one for a single 1-D input): rest-frame vacuum
        wavelengths (Angstrom, ascending), normalised flux with its uncertainty, and a
        mask (True) on pixels the model does not read (masked, non-finite, outside
        its coverage).

    """
    rows = Tokenizer(self.tokenizer_config).normalise_pixels(
        spectra, medium, radial_velocity, redshift)
    out = [_spectrum(wave, value, error, valid, self) for wave, value, error, valid, _
           in rows]
    return out[0] if len(out) == 1 and _is_single(spectra) else out


def inpaint(self, spectra, regions=None, fill_masked=True, inputs=None, medium="vacuum",
            radial_velocity=None, redshift=None, seed=0, anchor_pixels="auto"):
    """Fill gaps in spectra from the rest of each spectrum.

    Parameters
    ----------
    spectra : Spectrum, Spectrum1D, SpectrumList, SpectrumCollection or list
        As for `~specfm.inference.Model.predict`.
    regions : `~specutils.SpectralRegion` or Quantity pair(s), optional
        Regions to predict (their pixels are hidden from the model), as rest-frame
        vacuum wavelengths (the input's wavelengths when no velocity is given and the
        medium is vacuum).
    fill_masked : bool
        Also fill the masked and non-finite pixels inside the model's coverage.
    inputs : dict or `~astropy.table.Table`, optional
        Non-spectral inputs (colours, known labels), as for
        `~specfm.inference.Model.predict`.
    medium, radial_velocity, redshift
        As for `~specfm.inference.Model.predict`.
    seed : int
        Seed of the random chunks when a spectrum has more pixels than the model's
        token cap (each chunk predicts the gaps; the predictions are combined).
    anchor_pixels : int or "auto"
        Tie each filled gap to the flux on both sides of it: this many readable pixels
        on each side of each gap are also hidden from the model and predicted, and the
        difference between their known and predicted flux, interpolated linearly in
        wavelength across the gap, is added to the gap's prediction (its variance to
        the gap's); 0 turns this off. It removes a smooth offset between the prediction
        and the spectrum around the gap, which helps where the model's error is smooth
        over a gap and hurts where it changes from pixel to pixel
        (``benchmarks/generation_inpainting.py``: on real Gaia XP, specfm-xp's error
        falls from 0.021 to 0.012 with 3; on synthetic APOGEE, specfm-base's rises
        from 0.0072 to 0.0101). ``"auto"`` (the default) takes 3 for spectra sampled
        more coarsely than lambda / delta-lambda = 1000 per pixel (low resolution, as
        Gaia XP), 0 for finer ones, and 0 where anchors would hide half of the readable
        pixels (many small gaps, such as scattered bad pixels).

    Returns
    -------
    Spectrum or list of Spectrum
        As `normalise` returns for the same input, with the filled pixels holding the
        predicted flux and standard deviation and unmasked; ``meta["inpainted"]`` is
        the boolean array of filled pixels. The model reads the spectrum normalised
        without the pixels in ``regions``; its prediction is then put on the scale that
        `normalise` gives the whole input, so that the two compare directly.

    Raises
    ------
    SpecfmInputError
        If there is nothing to fill, no pixel is left to read, or ``anchor_pixels``
        is negative or hides every readable pixel.

    """
    if anchor_pixels != "auto" and (not isinstance(anchor_pixels, (int, float, np.number))
                                    or int(anchor_pixels) != anchor_pixels
                                    or anchor_pixels < 0):
        raise SpecfmInputError(
            "anchor_pixels must be 'auto' or a whole number >= 0 (0 turns anchoring "
            f"off), not {anchor_pixels!r}.")
    exclude = coverage_ranges(regions) if regions is not None else None
    tok = Tokenizer(self.tokenizer_config)
    rows = tok.normalise_pixels(spectra, medium, radial_velocity, redshift, exclude)
    whole = (tok.normalise_pixels(spectra, medium, radial_velocity, redshift)
             if exclude else rows)  # the scale normalise() gives the whole input
    cap = self.inference_config("model").max_tokens
    out = []
    for s, (wave, value, error, valid, _) in enumerate(rows):
        fill = _pixels_to_fill(wave, valid, exclude, fill_masked, self.coverage)
        if not fill.any():
            raise SpecfmInputError(
                f"Spectrum {s}: nothing to fill. Give regions= inside the model's "
                f"coverage ({self.coverage_text}) or a spectrum with masked pixels.")
        if not valid.any():
            raise SpecfmInputError(
                f"Spectrum {s} has no usable pixel left to in-paint from.")
        auto = anchor_pixels == "auto"
        n_anchor = _auto_anchor_pixels(wave) if auto else int(anchor_pixels)
        gaps, margin = _anchors(fill, valid, n_anchor)
        if auto and (valid & ~margin).sum() < 0.5 * valid.sum():
            gaps, margin = _anchors(fill, valid, 0)  # many small gaps: read, don't anchor
        context = valid & ~margin
        if not context.any():
            raise SpecfmInputError(
                f"Spectrum {s}: anchor_pixels={n_anchor} hides every readable pixel "
                "next to the gaps; use fewer anchor pixels (or 0).")
        one = None if inputs is None else slice_inputs(inputs, s, s + 1, len(rows))
        tokens = _context_tokens(tok, wave, value, error, context, cap, seed, s, one)
        asked = fill | margin
        mean, logvar = _flux_queries(self, tokens, wave[asked])
        mean, variance = combine_rows(mean, logvar, tokens.spectrum_index, 1)
        predicted = np.zeros_like(value)
        predicted_var = np.zeros_like(value)
        predicted[asked] = mean[0].numpy()
        predicted_var[asked] = variance[0].numpy()
        offset, offset_var = _anchor_offsets(wave, value, error, predicted, predicted_var,
                                            gaps)
        out_value = np.where(fill, predicted + offset, value)
        out_error = np.where(fill, np.sqrt(predicted_var + offset_var), error)
        factor = _scale_factor(value, valid, whole[s][1], whole[s][3],
                               tok.normalisation.choose(wave).single_scale)
        spec = _spectrum(wave, out_value * factor, out_error * factor, valid | fill, self)
        spec.meta["inpainted"] = fill
        out.append(spec)
    return out[0] if len(out) == 1 and _is_single(spectra) else out


_AUTO_ANCHOR = (1000.0, 3)  # below this lambda / delta-lambda per pixel, anchor pixels


def _auto_anchor_pixels(wave):
    """Anchor pixels for ``anchor_pixels="auto"``: 3 for coarsely sampled spectra, else 0."""
    return _AUTO_ANCHOR[1] if pixel_sampling(wave) < _AUTO_ANCHOR[0] else 0


def _anchors(fill, readable, n):
    """``(_gap_margins(fill, readable, n), mask of all their margin pixels)``."""
    gaps = _gap_margins(fill, readable, n)
    margin = np.zeros_like(fill)
    for left, right in gaps.values():
        margin[left] = margin[right] = True
    return gaps, margin


def _gap_margins(fill, readable, n):
    """Return the readable pixels next to each gap, for ``_anchor_offsets``.

    Parameters
    ----------
    fill, readable : ndarray of bool
        Pixels to fill and pixels the model may read, in order of wavelength.
    n : int
        Readable pixels to take on each side of each gap (0: none).

    Returns
    -------
    dict
        ``{(start, stop): (left, right)}`` for each gap (a run of consecutive pixels to
        fill, ``fill[start:stop]``): the indices of up to ``n`` readable pixels before
        and after it, not reaching past the neighbouring gaps; empty when ``n`` is 0.

    """
    if n == 0:
        return {}
    edges = np.flatnonzero(np.diff(np.concatenate([[0], fill.astype(np.int8), [0]])))
    runs = list(zip(edges[::2], edges[1::2], strict=True))
    out = {}
    for i, (start, stop) in enumerate(runs):
        before = runs[i - 1][1] if i else 0
        after = runs[i + 1][0] if i + 1 < len(runs) else fill.size
        left = np.flatnonzero(readable[before:start])[-n:] + before
        right = np.flatnonzero(readable[stop:after])[:n] + stop
        out[(int(start), int(stop))] = (left, right)
    return out


def _anchor_offsets(wave, value, error, predicted, predicted_var, gaps):
    """Per-pixel offsets (and their variance) that tie each gap to its margins.

    On each side of a gap, the offset is the mean of known minus predicted flux over the
    margin pixels, its variance the mean of their flux and prediction variances over the
    number of pixels; across the gap both are interpolated linearly in wavelength between
    the margins' mean wavelengths (constant where a gap has a margin on one side only).

    Parameters
    ----------
    wave, value, error : ndarray
        Wavelength, known flux and its standard deviation of every pixel.
    predicted, predicted_var : ndarray
        Predicted flux and variance (used on the gap and margin pixels).
    gaps : dict
        From ``_gap_margins``.

    Returns
    -------
    offset, variance : ndarray
        Zero outside the gaps, and in gaps without a margin.

    """
    offset = np.zeros_like(predicted)
    variance = np.zeros_like(predicted)
    for (start, stop), sides in gaps.items():
        anchors = [(wave[p].mean(), (value[p] - predicted[p]).mean(),
                    (error[p] ** 2 + predicted_var[p]).mean() / p.size)
                   for p in sides if p.size]
        if not anchors:
            continue
        x, d, v = (np.array(column) for column in zip(*anchors, strict=True))
        offset[start:stop] = np.interp(wave[start:stop], x, d)
        variance[start:stop] = np.interp(wave[start:stop], x, v)
    return offset, variance


def _scale_factor(value, valid, whole_value, whole_valid, single_scale):
    """Per-pixel factor from the normalisation the model read to the one of `normalise`.

    The two normalise the same flux, one without the hidden pixels. Where the recipe
    divides by one number (a median), they differ by one factor, known from the pixels
    valid in both, which applies to the predicted pixels too. Where it divides by a
    local continuum, the factor is known on the pixels valid in both and the predicted
    pixels keep the model's scale: it learnt to predict flux relative to the local
    continuum of whole spectra, the one `normalise` fits.
    """
    both = valid & whole_valid & (value != 0)
    factor = np.ones_like(value)
    if both.any():
        ratio = whole_value[both] / value[both]
        if single_scale:
            factor[:] = np.median(ratio)
        else:
            factor[both] = ratio
    return factor


def _is_row(obj):
    return type(obj).__name__ == "Row"


def _is_single(spectra):
    flux = getattr(spectra, "flux", None)
    return flux is not None and np.ndim(flux) == 1


def _spectrum(wave, value, error, valid, model):
    return make_spectrum(
        flux=np.where(valid, value, np.nan) * u.dimensionless_unscaled,
        spectral_axis=wave * u.AA,
        uncertainty=StdDevUncertainty(np.where(valid, error, np.inf)),
        mask=~valid,
        meta={"model": model.name,
              "normalisation": model.tokenizer_config.normalisation.get("name")})


def _pixels_to_fill(wave, valid, exclude, fill_masked, coverage):
    fill = np.zeros(wave.shape, bool)
    for lo, hi in exclude or ():
        fill |= (wave >= lo) & (wave <= hi)
    if fill_masked:
        fill |= ~valid
    fill &= in_coverage(wave, coverage)  # the model cannot write what it never read
    return fill & ~valid


def _context_tokens(tok, wave, value, error, valid, cap, seed, index, inputs):
    """Token rows (chunks under the model's cap) of one normalised spectrum."""
    kept = cap_tokens(np.nonzero(valid)[0], cap, "chunk", seed, index)
    rows = [(0, wave[p], value[p], error[p]) for p in kept]
    report = SpectrumReport(index=0, n_pixels=wave.size, n_valid=int(valid.sum()))
    extra = extra_tokens(inputs, 1, tok.config.vocabulary) if inputs is not None else None
    return tok.pack_rows(rows, [report], extra)
