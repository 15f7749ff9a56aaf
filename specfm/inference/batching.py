"""Cutting the input of `Model.predict` into batches, and merging rows into spectra.

The input spectra are cut into batches *before* they are tokenised, so the memory used
is bounded by the batch size whatever the size of the input: a 2-D spectrum is sliced
along its first axis, lists are sliced, and the per-spectrum values that come with them
(``inputs``, ``radial_velocity``, ``redshift``) are sliced to match.
"""

import dataclasses
import warnings

import numpy as np

from .._compat import is_spectrum, make_spectrum
from ..exceptions import CoverageWarning, ShapeMismatchError, SpecfmInputError
from ..tokens import Tokenizer

__all__ = [
    "Piece",
    "batch_spectra",
    "derived_seed",
    "make_batches",
    "row_seeds",
    "slice_inputs",
    "slice_values",
    "split_pieces",
    "tokenize_batch",
]


@dataclasses.dataclass
class Piece:
    """A part of the input that is never split further.

    One spectrum, or one first-axis slice of an N-D spectrum (which holds several spectra
    when N > 2).

    Attributes
    ----------
    spectrum : specutils.Spectrum
        The part.
    start : int
        Position of its first spectrum in the flattened input.
    n_spectra : int
        Spectra it holds.
    n_pixels : int
        Pixels per spectrum.

    """

    spectrum: object
    start: int
    n_spectra: int
    n_pixels: int = 0


def _units(spectra):
    """Yield ``(spectrum, n_first_axis or None, spectra per first-axis entry)``."""
    if type(spectra).__name__ == "SpectrumCollection":
        unc, mask = spectra.uncertainty, spectra.mask
        for i in range(spectra.flux.shape[0]):
            yield make_spectrum(
                flux=spectra.flux[i], spectral_axis=spectra.spectral_axis[i],
                uncertainty=None if unc is None else unc[i],
                mask=None if mask is None else np.asarray(mask)[i],
            ), None, 1
        return
    if is_spectrum(spectra):
        shape = spectra.flux.shape
        if len(shape) <= 1:
            yield spectra, None, 1
        else:
            yield spectra, shape[0], int(np.prod(shape[1:-1], dtype=int))
        return
    if isinstance(spectra, list | tuple):  # also SpectrumList
        if len(spectra) == 0:
            raise SpecfmInputError("No spectra were given: the list is empty.")
        for item in spectra:
            yield from _units(item)
        return
    # Let the tokenizer raise its own, specific message (bare arrays, unknown objects).
    yield spectra, None, 1


def split_pieces(spectra):
    """Return the `Piece` objects of ``spectra`` (any input the tokenizer accepts), in order."""
    pieces, start = [], 0
    for spectrum, n_first, per_entry in _units(spectra):
        shape = np.shape(getattr(spectrum, "flux", None))
        n_pix = int(shape[-1]) if shape else 0
        if n_first is None:
            pieces.append(Piece(spectrum, start, 1, n_pix))
            start += 1
            continue
        for i in range(n_first):
            pieces.append(Piece(_Slice(spectrum, i, i + 1), start, per_entry, n_pix))
            start += per_entry
    return pieces


@dataclasses.dataclass
class _Slice:
    """A lazy first-axis slice ``spectrum[start:stop]``, made only when tokenised."""

    spectrum: object
    start: int
    stop: int


def _materialise(pieces):
    """Turn consecutive lazy slices of one spectrum into one slice each; return a list."""
    out = []
    for piece in pieces:
        item = piece.spectrum
        last = out[-1] if out else None
        if (isinstance(item, _Slice) and isinstance(last, _Slice)
                and last.spectrum is item.spectrum and last.stop == item.start):
            out[-1] = _Slice(item.spectrum, last.start, item.stop)
        else:
            out.append(item)
    return [_first_axis_slice(s.spectrum, s.start, s.stop) if isinstance(s, _Slice) else s
            for s in out]


def _first_axis_slice(spectrum, start, stop):
    """Return ``spectrum[start:stop]`` (first axis) holding views of the input's arrays.

    specutils' own slicing of an N-D spectrum deep-copies the flux, uncertainty and mask
    of the *whole* spectrum before slicing them (``Spectrum._copy``), so every batch cost
    time and memory in proportion to the whole input. The tokenizer reads only the flux,
    spectral axis, uncertainty and mask, and views of those are all a batch needs.
    """
    index = getattr(spectrum, "spectral_axis_index", None)
    ndim = spectrum.flux.ndim
    if index is not None and index not in (ndim - 1, -1):  # spectral axis not last
        return spectrum[start:stop]
    unc, mask = spectrum.uncertainty, spectrum.mask
    kwargs = dict(
        flux=spectrum.flux[start:stop],
        spectral_axis=spectrum.spectral_axis,
        uncertainty=None if unc is None else unc[start:stop],
        mask=None if mask is None else np.asarray(mask)[start:stop],
    )
    if index is not None:
        kwargs["spectral_axis_index"] = ndim - 1
    return make_spectrum(**kwargs)


def make_batches(pieces, batch_size):
    """Group pieces into batches of at most ``batch_size`` spectra (at least one piece each).

    Yields
    ------
    list of Piece
        Consecutive pieces.

    """
    batch, count = [], 0
    for piece in pieces:
        if batch and count + piece.n_spectra > batch_size:
            yield batch
            batch, count = [], 0
        batch.append(piece)
        count += piece.n_spectra
    if batch:
        yield batch


def batch_spectra(pieces):
    """Return what the tokenizer should read for ``pieces``: one spectrum or a list."""
    parts = _materialise(pieces)
    return parts[0] if len(parts) == 1 else parts


def slice_values(values, start, stop, n_total, name):
    """Slice a per-spectrum value (scalar, or one per spectrum) to spectra ``start:stop``."""
    if values is None or np.ndim(values) == 0:
        return values
    n = len(values)
    if n == 1:
        return values
    if n != n_total:
        raise ShapeMismatchError(
            f"{name} has {n} values but {n_total} spectra were given: give one value, or one "
            "per spectrum."
        )
    return values[start:stop]


def slice_inputs(inputs, start, stop, n_total):
    """Slice a table or mapping of non-spectral inputs to spectra ``start:stop``."""
    if inputs is None:
        return None
    if hasattr(inputs, "colnames"):  # Table / QTable
        if len(inputs) == n_total:
            return inputs[start:stop]
        if len(inputs) == 1:
            return inputs
        raise ShapeMismatchError(
            f"The inputs table has {len(inputs)} rows but {n_total} spectra were given: "
            "give one row per spectrum (or a single row for all)."
        )
    return {
        name: slice_values(value, start, stop, n_total, f"Input {name!r}")
        for name, value in inputs.items()
    }


def derived_seed(seed, index):
    """Return a seed for spectrum ``index`` that depends on nothing else (not the batch)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


def row_seeds(batch, seed):
    """Return the ``(seed, index)`` of the token cap for every spectrum of a batch of pieces.

    Spectrum ``j`` of a piece that starts at spectrum ``start`` of the whole input gets
    ``(derived_seed(seed, start), j)``, which depends on nothing else: the same tokens in
    any batch, and the same as when the piece was tokenised alone.
    """
    return [(derived_seed(seed, piece.start), j) for piece in batch
            for j in range(piece.n_spectra)]


def tokenize_batch(config, batch, n_total, inputs=None, radial_velocity=None, redshift=None,
                   medium="vacuum", on_error="mask", seed=0):
    """Tokenise one batch of pieces in one call; the result does not depend on the batch.

    Every spectrum's token cap is seeded by its position in the whole input (`row_seeds`),
    so a spectrum that the cap splits into rows gets the same rows in any batch. Coverage
    warnings are left to the caller (which reports them once for all batches); others pass
    through.

    Returns
    -------
    `~specfm.tokens.TokenBatch`

    """
    start = batch[0].start
    stop = batch[-1].start + batch[-1].n_spectra
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tokens = Tokenizer(config)(
            batch_spectra(batch),
            inputs=slice_inputs(inputs, start, stop, n_total),
            medium=medium,
            radial_velocity=slice_values(radial_velocity, start, stop, n_total,
                                         "radial_velocity"),
            redshift=slice_values(redshift, start, stop, n_total, "redshift"),
            on_error=on_error,
            row_seeds=row_seeds(batch, seed),
        )
    for w in caught:
        if not issubclass(w.category, CoverageWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return tokens
