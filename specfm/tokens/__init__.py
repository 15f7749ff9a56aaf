"""Spectrum objects to wavelength-aware token sequences (the adapter layer).

This is the one place where units are converted: everything downstream sees vacuum
wavelengths in Angstrom, normalised flux and float32 tensors.
"""

from .batch import SpectrumReport, TokenBatch
from .vocabulary import DEFAULT_VOCABULARY, TokenKind, TokenSpec, Vocabulary

__all__ = [
    "DEFAULT_VOCABULARY",
    "SpectrumReport",
    "TokenBatch",
    "TokenKind",
    "TokenSpec",
    "Vocabulary",
]
