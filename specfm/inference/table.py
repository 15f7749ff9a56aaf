"""The result of `Model.predict`: flags, columns with units and masks, and ``meta``."""

import enum

import astropy.units as u
import numpy as np
from astropy.table import QTable
from astropy.utils.masked import Masked

from ..tokens import TokenKind

__all__ = [
    "FLAG_DESCRIPTIONS",
    "UNCERTAIN_SCALE",
    "PredictionFlag",
    "input_label_values",
    "label_units",
    "make_table",
    "prediction_flags",
]


class PredictionFlag(enum.IntFlag):
    """Bits of the ``flag`` column of a prediction table.

    Test a bit with ``table["flag"] & PredictionFlag.COVERAGE``; ``flag == 0`` means
    nothing to report.
    """

    COVERAGE = 1
    """Some pixels lie outside the model's wavelength coverage (they were not used)."""
    NO_DATA = 2
    """No usable pixel: the prediction is masked."""
    LABEL_RANGE = 4
    """A predicted label lies outside the range of the model's training labels."""
    INPUT_RANGE = 8
    """A label given in ``inputs`` lies outside the range of the training labels."""
    UNCERTAIN = 16
    """A predicted uncertainty exceeds ``UNCERTAIN_SCALE`` times the label's typical spread
    among stars: the model says it does not know (such predictions are far off much more
    often than their ``_err`` alone suggests)."""
    SNR_DEGRADED = 32
    """The spectrum's median S/N was above the model's ``max_snr`` (the top of its training
    S/N range): it was read at that S/N, with noise added (`specfm.tokens.degrade_to_snr`)."""


UNCERTAIN_SCALE = 1.0
"""`PredictionFlag.UNCERTAIN` is set where ``<label>_err`` exceeds this many times the
label's typical spread among stars, the ``scale`` of its vocabulary entry (1000 K for
Teff, 1.5 dex for log g, 0.5 dex for [Fe/H], 0.15 dex for [Mg/Fe] and [alpha/M])."""


FLAG_DESCRIPTIONS = {
    int(PredictionFlag.COVERAGE): "some pixels outside the model's wavelength coverage",
    int(PredictionFlag.NO_DATA): "no usable pixels; prediction masked",
    int(PredictionFlag.LABEL_RANGE): "a predicted label outside the training label range",
    int(PredictionFlag.INPUT_RANGE): "an input label outside the training label range",
    int(PredictionFlag.UNCERTAIN): ("a predicted uncertainty above the label's typical spread "
                                    "among stars (the model does not know)"),
    int(PredictionFlag.SNR_DEGRADED): ("S/N above the model's training range: read at its "
                                       "max_snr, with noise added"),
}
"""One line per bit of `PredictionFlag`, as written to ``table.meta["flags"]``."""


def label_units(spec):
    """Return ``(value unit, error unit)`` of a vocabulary entry.

    The error of a logarithmic quantity (``dex(cm / s2)``) is a width in ``dex``.
    """
    unit = spec.quantity_unit
    return unit, (u.dex if isinstance(unit, u.DexUnit) else unit)


def input_label_values(tokens):
    """Return the labels given as input tokens, in physical units.

    Parameters
    ----------
    tokens : `~specfm.tokens.TokenBatch`
        Every row of a spectrum carries the same input tokens; the first row is read.

    Returns
    -------
    numpy.ndarray
        ``(n_spectra, len(vocabulary))``, NaN where a label was not given.

    """
    vocab = tokens.vocabulary
    out = np.full((tokens.n_spectra, len(vocab)), np.nan)
    first = {}
    for r, s in enumerate(tokens.spectrum_index.tolist()):
        first.setdefault(s, r)
    for s, r in first.items():
        is_label = tokens.valid[r] & (tokens.kind[r] == TokenKind.LABEL)
        for i, v in zip(tokens.ident[r][is_label].tolist(),
                        tokens.value[r][is_label].tolist(), strict=True):
            out[s, i] = v * vocab[i].scale + vocab[i].offset
    return out


def prediction_flags(names, value, usable, outside, given, ranges, vocabulary, std=None,
                     degraded=None):
    """Return the ``flag`` bit mask of each spectrum (see `PredictionFlag`).

    Parameters
    ----------
    names : sequence of str
        Predicted labels (columns of ``value``).
    value : numpy.ndarray
        ``(n_spectra, len(names))`` predictions in physical units.
    usable : numpy.ndarray of bool
        Spectra with a prediction.
    outside : sequence of int
        Pixels outside the coverage, per spectrum.
    given : numpy.ndarray
        ``(n_spectra, len(vocabulary))`` input labels (NaN: not given).
    ranges : dict
        ``{name: (low, high)}`` of the training labels, in physical units.
    vocabulary : `~specfm.tokens.Vocabulary`
        For the columns of ``given``.
    std : numpy.ndarray, optional
        ``(n_spectra, len(names))`` predicted uncertainties in physical units, for
        `PredictionFlag.UNCERTAIN` (compared with each label's vocabulary ``scale``).
    degraded : sequence of bool, optional
        Spectra read at a lower S/N than given (`PredictionFlag.SNR_DEGRADED`).

    Returns
    -------
    numpy.ndarray of int

    """
    usable = np.asarray(usable, bool)
    flags = np.where(np.asarray(outside) > 0, int(PredictionFlag.COVERAGE), 0)
    flags |= np.where(usable, 0, int(PredictionFlag.NO_DATA))
    if degraded is not None:
        flags |= np.where(np.asarray(degraded, bool), int(PredictionFlag.SNR_DEGRADED), 0)
    names = list(names)
    with np.errstate(invalid="ignore"):
        for name, (lo, hi) in ranges.items():
            if name in names:
                v = value[:, names.index(name)]
                bad = usable & ((v < lo) | (v > hi))
                flags |= np.where(bad, int(PredictionFlag.LABEL_RANGE), 0)
            if name in vocabulary:
                g = given[:, vocabulary.index(name)]
                bad = np.isfinite(g) & ((g < lo) | (g > hi))
                flags |= np.where(bad, int(PredictionFlag.INPUT_RANGE), 0)
        if std is not None:
            for j, name in enumerate(names):
                wide = usable & (np.asarray(std)[:, j] > UNCERTAIN_SCALE * vocabulary[name].scale)
                flags |= np.where(wide, int(PredictionFlag.UNCERTAIN), 0)
    return flags


def _masked(values, unit, mask):
    return Masked(np.asarray(values, dtype=float) << unit, mask=mask)


def make_table(names, vocabulary, mean, std, usable, n_tokens, flags, meta):
    """Build the prediction table.

    Parameters
    ----------
    names : sequence of str
        Requested labels.
    vocabulary : `~specfm.tokens.Vocabulary`
        Units and descriptions.
    mean, std : numpy.ndarray
        ``(n_spectra, len(names))`` in physical units (NaN where not usable).
    usable : numpy.ndarray of bool
        ``(n_spectra,)``: False where the prediction is masked.
    n_tokens : numpy.ndarray of int
        Flux tokens read per spectrum.
    flags : numpy.ndarray of int
        Bit mask per spectrum (`PredictionFlag`).
    meta : dict
        Goes to ``table.meta``.

    Returns
    -------
    `~astropy.table.QTable`

    """
    n = len(usable)
    mask = ~np.asarray(usable, bool)
    # the columns are built first and the table once: assigning columns one by one costs
    # about a millisecond each, which shows when every file of a survey holds one spectrum
    columns = {"spectrum_index": (np.arange(n), "Position of the spectrum in the input")}
    for j, name in enumerate(names):
        spec = vocabulary[name]
        unit, err_unit = label_units(spec)
        what = spec.description or name
        columns[name] = (_masked(np.where(mask, 0.0, mean[:, j]), unit, mask),
                         f"Predicted {what}")
        columns[f"{name}_err"] = (_masked(np.where(mask, 0.0, std[:, j]), err_unit, mask),
                                  f"One-sigma uncertainty of {name} (predicted by the model)")
    columns["n_tokens"] = (np.asarray(n_tokens, dtype=np.int64),
                           "Flux tokens (pixels) the model read")
    columns["flag"] = (np.asarray(flags, dtype=np.int32), "Bit mask: " + "; ".join(
        f"{bit} = {text}" for bit, text in FLAG_DESCRIPTIONS.items()))
    table = QTable([c for c, _ in columns.values()], names=list(columns), meta=meta,
                   copy=False)
    for name, (_, description) in columns.items():
        table[name].info.description = description
    return table
