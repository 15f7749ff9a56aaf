"""The user-facing layer: load a model, predict labels for spectra, get a `QTable`.

`load` reads a model folder; `load_pretrained` a shipped one;
`Model.predict` (or the function `predict`, which can choose the model) returns one
table row per spectrum with ``<label>`` and ``<label>_err`` columns in physical units,
masked where a spectrum could not be used, and a ``flag`` column (`PredictionFlag`).

The subpackage itself is callable: ``specfm.predict(spectra, ...)`` is `predict`, so
that ``specfm.predict`` can be both the shortcut and this namespace
(``specfm.predict.Model``) without one hiding the other.
"""

import sys
import types

from .api import load_pretrained, predict, resolve_model
from .files import predict_files
from .frame import header_velocity
from .model import METHODS, Model, load
from .table import FLAG_DESCRIPTIONS, PredictionFlag

__all__ = ["FLAG_DESCRIPTIONS", "METHODS", "Model", "PredictionFlag", "header_velocity", "load",
           "load_pretrained", "predict", "predict_files", "resolve_model"]


class _CallableModule(types.ModuleType):
    def __call__(self, spectra, model=None, registry=None, **kwargs):
        return predict(spectra, model=model, registry=registry, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
