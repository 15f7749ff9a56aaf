"""The model file format: a folder (or zip archive) with ``config.json`` and safetensors.

Layout::

    my_model/
        config.json         format, versions, architecture + vocabulary (names, units,
                            scalings), tokenizer recipe, wavelength coverage, provenance,
                            and the sha256 of the weights file
        model.safetensors   the weights (float32, CPU)

An ensemble (`~specfm.model.EnsembleNetwork`) is stored the same way: one weights file
holding every member (keys ``members.<k>.…``), and ``"ensemble": {"n_members": k}`` in
``config.json``, which then has format version 2 (older specfm refuses it with a request
to upgrade, rather than misreading it).

A ``.zip`` path stores the same two files in an uncompressed zip archive. Nothing is
pickled: weights are read with `safetensors.torch.load` onto the CPU and then moved
to ``map_location``, and the sha256 is checked before anything is built.
"""

import hashlib
import json
import pathlib
import zipfile

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save

from ..exceptions import SpecfmInputError
from .config import ModelConfig
from .ensemble import EnsembleNetwork
from .network import SpecFMNetwork

__all__ = [
    "CONFIG_NAME",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "WEIGHTS_NAME",
    "ModelFileError",
    "load_model",
    "read_model_config",
    "save_model",
    "sha256_bytes",
]

FORMAT_NAME = "specfm-model"
FORMAT_VERSION = 2
"""Newest model format this specfm reads: 1, one network; 2, an ensemble of networks."""
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


class ModelFileError(SpecfmInputError):
    """A model folder or archive that is missing, incomplete, corrupted or not specfm's."""


def sha256_bytes(data):
    """Return the hex sha256 of ``data`` (bytes)."""
    return hashlib.sha256(data).hexdigest()


def _package_version():
    from .._meta import version

    return version


def _weights_bytes(network):
    state = {k: v.detach().to("cpu").contiguous() for k, v in network.state_dict().items()}
    return save(state, metadata={"format": "pt"})


def save_model(network, path, provenance=None, overwrite=False):
    """Write ``network`` to a model folder, or to a zip archive if ``path`` ends in ``.zip``.

    Parameters
    ----------
    network : `SpecFMNetwork` or `EnsembleNetwork`
        The network; its ``config`` is written with it.
    path : str or path-like
        Folder to create (or ``.zip`` file).
    provenance : dict or None
        JSON-serialisable record of how the weights were made (data, steps, seed, ...).
        Defaults to ``network.metadata.get("provenance", {})``.
    overwrite : bool
        Replace existing files instead of raising.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ModelFileError
        If ``path`` exists and ``overwrite`` is False.

    Examples
    --------
    >>> import tempfile, torch
    >>> from specfm.model import ModelConfig, SpecFMNetwork, save_model, load_model
    >>> net = SpecFMNetwork(ModelConfig(d_model=16, n_heads=2, n_latents=4,
    ...                                 n_latent_layers=1))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = save_model(net, tmp + "/tiny")
    ...     again = load_model(tmp + "/tiny")
    >>> all(torch.equal(a, b) for a, b in zip(net.state_dict().values(),
    ...                                      again.state_dict().values()))
    True

    """
    path = pathlib.Path(path)
    archive = path.suffix == ".zip"
    target = path if archive else path / CONFIG_NAME
    if target.exists() and not overwrite:
        raise ModelFileError(f"{target} already exists; pass overwrite=True to replace it.")
    weights = _weights_bytes(network)
    if provenance is None:
        provenance = network.metadata.get("provenance", {})
    ensemble = isinstance(network, EnsembleNetwork)
    config = {
        "format": FORMAT_NAME,
        "format_version": 2 if ensemble else 1,
        "specfm_version": _package_version(),
        "torch_version": torch.__version__,
        "model": network.config.to_dict(),
        **({"ensemble": {"n_members": network.n_members}} if ensemble else {}),
        "provenance": provenance,
        "weights": {
            "file": WEIGHTS_NAME,
            "sha256": sha256_bytes(weights),
            "dtype": "float32",
            "n_parameters": network.n_parameters(),
        },
    }
    text = json.dumps(config, indent=2, sort_keys=False)
    if archive:
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.writestr(CONFIG_NAME, text)
            zf.writestr(WEIGHTS_NAME, weights)
    else:
        path.mkdir(parents=True, exist_ok=True)
        (path / WEIGHTS_NAME).write_bytes(weights)
        (path / CONFIG_NAME).write_text(text)
    return path


def _read(path, name):
    path = pathlib.Path(path)
    try:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                return zf.read(name)
        return (path / name).read_bytes()
    except (FileNotFoundError, KeyError, zipfile.BadZipFile) as err:
        raise ModelFileError(
            f"Cannot read {name} from {path}: {err}. A specfm model is a folder or .zip "
            f"holding {CONFIG_NAME} and {WEIGHTS_NAME}, as written by save_model()."
        ) from None


def read_model_config(path):
    """Return the parsed ``config.json`` of a model folder or archive.

    Raises
    ------
    ModelFileError
        If it is missing, not JSON, or not a specfm model file of a known version.

    """
    try:
        config = json.loads(_read(path, CONFIG_NAME))
    except json.JSONDecodeError as err:
        raise ModelFileError(f"{path}/{CONFIG_NAME} is not valid JSON: {err}") from None
    if config.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path} is not a specfm model (no format: {FORMAT_NAME!r}).")
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} uses model format version {config['format_version']}, newer than this "
            f"specfm understands ({FORMAT_VERSION}); upgrade specfm."
        )
    return config


def load_model(path, map_location="cpu"):
    """Load a model written by `save_model`, checking its sha256.

    Parameters
    ----------
    path : str or path-like
        Model folder or ``.zip`` archive.
    map_location : str or torch.device
        Device to put the weights on (default CPU, whatever device the model was saved on).

    Returns
    -------
    `SpecFMNetwork` or `EnsembleNetwork`
        In eval mode (an ensemble when the config says so); ``network.metadata`` holds
        the provenance, versions and sha256.

    Raises
    ------
    ModelFileError
        If files are missing, the checksum does not match, or the weights do not fit the
        architecture in the config.

    """
    config = read_model_config(path)
    weights_info = config.get("weights", {})
    path = pathlib.Path(path)
    data = _read(path, weights_info.get("file", WEIGHTS_NAME))
    digest = sha256_bytes(data)
    if digest != weights_info.get("sha256"):
        raise ModelFileError(
            f"The weights in {path} do not match the sha256 in {CONFIG_NAME} "
            f"(expected {weights_info.get('sha256')}, found {digest}): the file is corrupted "
            "or was replaced. Download or copy the model again."
        )
    state = load_safetensors_bytes(data)  # always onto the CPU first
    model_config = ModelConfig.from_dict(config["model"])
    if config.get("ensemble"):
        network = EnsembleNetwork.empty(model_config, config["ensemble"]["n_members"])
    else:
        network = SpecFMNetwork(model_config)
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ModelFileError(
            f"The weights in {path} do not fit the architecture in its {CONFIG_NAME}: {err}"
        ) from None
    network.metadata = {
        "provenance": config.get("provenance", {}),
        "specfm_version": config.get("specfm_version"),
        "torch_version": config.get("torch_version"),
        "sha256": digest,
        "path": str(path),
    }
    return network.to(map_location).eval()
