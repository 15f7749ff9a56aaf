"""Shipped models: the registry, automatic choice by wavelength coverage, and finding them.

`find_pretrained` says where a model is; `specfm.inference.load_pretrained` (also
``specfm.load_pretrained``) loads it as a `specfm.inference.Model`. Models live in
``specfm/pretrained/models/<name>/`` (``config.json`` and ``model.safetensors``, as
written by `specfm.model.save_model`); their sha256 is checked on every load. Nothing is
downloaded. Set ``SPECFM_MODEL_DIR`` (or pass ``registry=``) to use another folder of
models.
"""

from .._moved import moved_names
from .loading import find_pretrained
from .registry import (
    DEFAULT_MODEL,
    ENV_VARIABLE,
    available_models,
    choose_model,
    model_path,
    registry_dir,
)

__all__ = [
    "DEFAULT_MODEL",
    "ENV_VARIABLE",
    "available_models",
    "choose_model",
    "find_pretrained",
    "model_path",
    "registry_dir",
]


# specfm.pretrained.load_pretrained moved to specfm.inference (this package finds models,
# inference wraps them): the old name works, with a warning, for one release
__getattr__ = moved_names(__name__, {"load_pretrained": "specfm.inference"})
