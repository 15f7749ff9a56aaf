"""Shipped models: the registry, automatic choice by wavelength coverage, and loading.

Models live in ``specfm/pretrained/models/<name>/`` (``config.json`` and
``model.safetensors``, as written by `specfm.model.save_model`); their sha256 is checked
on every load. Nothing is downloaded. Set ``SPECFM_MODEL_DIR`` (or pass ``registry=``) to
use another folder of models.
"""

from .loading import load_pretrained
from .registry import (
    DEFAULT_MODEL,
    ENV_VARIABLE,
    available_models,
    choose_model,
    config_coverage,
    config_sampling,
    model_path,
    registry_dir,
)

__all__ = [
    "DEFAULT_MODEL",
    "ENV_VARIABLE",
    "available_models",
    "choose_model",
    "config_coverage",
    "config_sampling",
    "load_pretrained",
    "model_path",
    "registry_dir",
]
