"""specfm: a Transformer foundation model for stellar spectra.

Spectra from any instrument become wavelength-aware token sequences
(`specfm.tokens`), which a pretrained Transformer turns into stellar labels with
uncertainties, returned as astropy `~astropy.table.QTable` objects.
"""

from . import (
    exceptions,
    inference,
    io,  # noqa: F401 - registers specfm's readers (e.g. "Gaia XP sampled") with specutils
    plotting,
)
from ._meta import version as __version__
from ._moved import register_moved_package
from .inference import Model, load, load_pretrained, predict, predict_files
from .plotting import plot_attention, plot_kiel, plot_predicted_vs_reference, plot_spectrum
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
    "inference",
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

# The old name of specfm.inference: ``from specfm.predict import Model`` still works, with a
# deprecation warning, while ``specfm.predict`` itself is the function (see specfm._moved).
register_moved_package("specfm.predict", "specfm.inference")
