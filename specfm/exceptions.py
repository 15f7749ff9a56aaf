"""Exceptions and warnings raised by specfm.

Every error about bad input derives from `SpecfmInputError` (itself a `ValueError`),
and its message says what is wrong and what to do about it. Problems that affect only
part of a spectrum (some NaN pixels, part of the range outside the model's coverage)
are not errors: those pixels are masked and counted in the token batch's reports, and a
`SpecfmWarning` is issued where a person would want to know.
"""

__all__ = [
    "CoverageError",
    "CoverageWarning",
    "EmptySpectrumError",
    "FileFormatError",
    "FluxUnitError",
    "MissingDependencyError",
    "OutputConflictError",
    "OutputWriteError",
    "ShapeMismatchError",
    "SpecfmDeprecationWarning",
    "SpecfmError",
    "SpecfmInputError",
    "SpecfmWarning",
    "SpectralAxisError",
    "UncertaintyError",
]


class SpecfmError(Exception):
    """Base class of every exception that specfm raises on purpose."""


class SpecfmInputError(SpecfmError, ValueError):
    """Input that specfm cannot use; the message says what to change."""


class FluxUnitError(SpecfmInputError):
    """The flux has no unit, or a unit that is not a flux (density), count or ratio."""


class SpectralAxisError(SpecfmInputError):
    """The spectral axis is not spectral, not finite, or not monotonic."""


class EmptySpectrumError(SpecfmInputError):
    """A spectrum has no pixels, or no pixel that is usable (all masked or non-finite)."""


class CoverageError(SpecfmInputError):
    """A spectrum lies entirely outside the wavelength coverage that was asked for."""


class ShapeMismatchError(SpecfmInputError):
    """Arrays that must agree in shape do not (flux, axis, mask, uncertainty, inputs)."""


class UncertaintyError(SpecfmInputError):
    """An uncertainty that cannot be turned into a standard deviation."""


class FileFormatError(SpecfmInputError):
    """A file is not in the format that was asked for, or holds data specfm cannot read.

    The message names what the file holds and how to turn it into something readable
    (for example: Gaia XP coefficients must first be sampled with GaiaXPy's ``calibrate``).
    """


class OutputConflictError(SpecfmInputError):
    """An output file exists and holds results that the new ones must not be mixed with.

    For example, predictions of another model; the message says how to replace the file
    or where else to write.
    """


class OutputWriteError(SpecfmError, OSError):
    """An output file could not be written (a full disk, a read-only folder, ...).

    The file is left as it was before that write, so the rows it already held stay
    readable; the message says so, and how to go on (the same command resumes).
    """


class MissingDependencyError(SpecfmError, ImportError):
    """An optional dependency is needed for what was asked; the message says what to install."""


class SpecfmWarning(UserWarning):
    """Base class of specfm's warnings."""


class SpecfmDeprecationWarning(SpecfmWarning, DeprecationWarning):
    """A name that moved or will go; the message says what to use instead."""


class CoverageWarning(SpecfmWarning):
    """Part of a spectrum lies outside the coverage; those pixels were masked."""
