"""The user-facing layer: load a model, predict labels for spectra, get a `QTable`.

`load` reads a model folder; `load_pretrained` a shipped one;
`Model.predict` (or the function `predict`, which can choose the model) returns one
table row per spectrum with ``<label>`` and ``<label>_err`` columns in physical units,
masked where a spectrum could not be used, and a ``flag`` column (`PredictionFlag`).

``specfm.predict`` is the function `predict` of this package. The package itself was
called ``specfm.predict`` until this release (a package that could also be called); that
import path still works, with a `~specfm.exceptions.SpecfmDeprecationWarning`, until the
next release.
"""

from .api import load_pretrained, predict, resolve_model
from .files import predict_files
from .frame import header_velocity
from .model import METHODS, Model, load
from .table import FLAG_DESCRIPTIONS, PredictionFlag

__all__ = ["FLAG_DESCRIPTIONS", "METHODS", "Model", "PredictionFlag", "header_velocity", "load",
           "load_pretrained", "predict", "predict_files", "resolve_model"]
