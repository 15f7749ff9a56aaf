"""specfm: a Transformer foundation model for stellar spectra.

Spectra from any instrument become wavelength-aware token sequences
(`specfm.tokens`), which a pretrained Transformer turns into stellar labels with
uncertainties, returned as astropy `~astropy.table.QTable` objects.
"""

from . import (
    exceptions,
    io,  # noqa: F401 - registers specfm's readers (e.g. "Gaia XP sampled") with specutils
    plotting,
    predict,  # the subpackage; it is callable: specfm.predict(spectra, ...)
)
from ._meta import version as __version__
from .plotting import plot_attention, plot_kiel, plot_predicted_vs_reference, plot_spectrum
from .predict import Model, load, load_pretrained, predict_files
from .pretrained import available_models
from .tokens import (
    TokenBatch,
    Tokenizer,
    TokenizerConfig,
    TokenKind,
    Vocabulary,
    tokenize,
)

__all__ = [
    "Model",
    "TokenBatch",
    "TokenKind",
    "Tokenizer",
    "TokenizerConfig",
    "Vocabulary",
    "__version__",
    "available_models",
    "exceptions",
    "load",
    "load_pretrained",
    "plot_attention",
    "plot_kiel",
    "plot_predicted_vs_reference",
    "plot_spectrum",
    "plotting",
    "predict",
    "predict_files",
    "tokenize",
]
