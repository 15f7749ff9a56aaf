"""The user-facing layer: load a model, predict labels for spectra, get a `QTable`.

`load` reads a model folder; `specfm.pretrained.load_pretrained` a shipped one;
`Model.predict` (or the function `predict`, which can choose the model) returns one
table row per spectrum with ``<label>`` and ``<label>_err`` columns in physical units,
masked where a spectrum could not be used, and a ``flag`` column (`PredictionFlag`).
"""

from .api import predict
from .model import METHODS, Model, load
from .table import FLAG_DESCRIPTIONS, PredictionFlag

__all__ = ["FLAG_DESCRIPTIONS", "METHODS", "Model", "PredictionFlag", "load", "predict"]
