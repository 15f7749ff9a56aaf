"""Spectrum objects to wavelength-aware token sequences (the adapter layer).

This is the one place where units are converted: everything downstream sees vacuum
wavelengths in Angstrom, normalised flux and float32 tensors.
"""

from .batch import SpectrumReport, TokenBatch
from .extra_inputs import ExtraTokens, extra_tokens
from .extract import FLAMBDA_UNIT, SpectrumGroup, extract_groups
from .noise import degrade_to_snr, der_snr_noise, median_snr
from .normalisation import (
    NORMALISATIONS,
    AutoNormalisation,
    ContinuumNormalisation,
    MedianNormalisation,
    Normalisation,
    PassThrough,
    chip_segments,
    get_normalisation,
)
from .sampling import CAP_MODES, cap_tokens
from .tokenizer import Tokenizer, TokenizerConfig, coverage_ranges, in_coverage, tokenize
from .vocabulary import DEFAULT_VOCABULARY, TokenKind, TokenSpec, Vocabulary

__all__ = [
    "CAP_MODES",
    "DEFAULT_VOCABULARY",
    "FLAMBDA_UNIT",
    "NORMALISATIONS",
    "AutoNormalisation",
    "ContinuumNormalisation",
    "ExtraTokens",
    "MedianNormalisation",
    "Normalisation",
    "PassThrough",
    "SpectrumGroup",
    "SpectrumReport",
    "TokenBatch",
    "TokenKind",
    "TokenSpec",
    "Tokenizer",
    "TokenizerConfig",
    "Vocabulary",
    "cap_tokens",
    "chip_segments",
    "coverage_ranges",
    "degrade_to_snr",
    "der_snr_noise",
    "extra_tokens",
    "extract_groups",
    "get_normalisation",
    "in_coverage",
    "median_snr",
    "tokenize",
]
