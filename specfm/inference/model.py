"""The user-facing `Model`: a trained network, its tokenizer, and ``predict`` -> `QTable`."""

import dataclasses
import html
import os
import pathlib
import warnings

import astropy.units as u
import numpy as np
import torch
from tqdm.auto import tqdm

from ..exceptions import CoverageWarning, FileFormatError, SpecfmInputError
from ..model import (
    PRECISIONS,
    Query,
    check_precision,
    load_model,
    parameter_count_text,
    precision_autocast,
    predict_chunked,
    read_model_config,
    save_model,
)
from ..model.chunking import combine_rows
from ..model.coverage import config_coverage
from ..tokens import TokenizerConfig
from . import attention as _attention
from . import finetuning as _finetuning
from . import generation as _generation
from .batching import derived_seed, make_batches, split_pieces, tokenize_batch
from .frame import add_frame, resolve_velocity
from .table import FLAG_DESCRIPTIONS, input_label_values, make_table, prediction_flags

__all__ = ["METHODS", "PRECISIONS", "Model", "load"]

METHODS = ("one_pass", "chunked")
"""Inference methods of `Model.predict`: the whole spectrum at once, or random chunks."""


_PROGRESS_BATCHES = 4  # with progress=None, show a bar above this many batches
ROWS_PER_CALL = 64
TOKENS_PER_CALL = 32768
"""Token rows per network call: at most ``ROWS_PER_CALL`` rows and, beyond one row, at most
``TOKENS_PER_CALL`` tokens (rows times the padded row length). On the 2-core CPU of
``benchmarks/speed.py hardware`` the forward pass is fastest at 16-64 rows of a few
hundred tokens (Gaia XP: one row per spectrum; APOGEE: 17 rows of at most 512 pixels per
spectrum) and slows down beyond, when its token-sized tensors outgrow the cache; a whole
APOGEE spectrum (8,575 tokens in one row) is about twice as fast per spectrum one or
two rows at a time as 16. Larger batches are cut into calls of this size. Results do not
depend on it."""


def rows_per_call(n_tokens):
    """Return how many token rows of padded length ``n_tokens`` one network call reads."""
    return max(1, min(ROWS_PER_CALL, TOKENS_PER_CALL // max(1, int(n_tokens))))


def _specfm_version():
    from .._meta import version

    return version


def _read_path(path):
    """Read one spectrum file for `Model.predict`, letting specutils identify its format."""
    from .reading import describe_read_error, read_spectra

    if not os.path.isfile(path):
        raise FileFormatError(f"No such file: {os.fspath(path)!r}.")
    try:
        return read_spectra(path)
    except Exception as error:
        raise FileFormatError(
            f"Could not read {os.fspath(path)!r} as a spectrum "
            f"({describe_read_error(error, path)}). Read it with "
            "specutils.Spectrum.read(path, format=...) naming its format (e.g. "
            "'APOGEE apStar', 'Gaia XP sampled'), or use specfm.predict_files([path], "
            "format=...).") from error


def _input_names(inputs):
    if inputs is None:
        return ()
    names = list(inputs.colnames if hasattr(inputs, "colnames") else inputs.keys())
    return tuple(n for n in names if not (n.endswith("_err") and n[:-4] in names))


class Model:
    """A trained specfm network, ready to turn spectra into a table of stellar labels.

    Make one with `load` (a model folder) or `specfm.inference.load_pretrained` (a
    shipped model), rather than directly.

    Parameters
    ----------
    network : `~specfm.model.SpecFMNetwork` or `~specfm.model.EnsembleNetwork`
        The network (or ensemble of networks), e.g. from `specfm.model.load_model`.
    name : str, optional
        A name for tables and logs (default: the folder name, else ``"unnamed"``).
    path : str or path-like, optional
        Where it was loaded from.
    config : dict, optional
        The parsed ``config.json`` (see `specfm.model.read_model_config`).

    Attributes
    ----------
    network : `~specfm.model.SpecFMNetwork` or `~specfm.model.EnsembleNetwork`
        The network (in eval mode).
    tokenizer_config : `~specfm.tokens.TokenizerConfig`
        How spectra are tokenised for this network.
    provenance : dict
        How the weights were made; ``"outputs"`` (labels the model predicts),
        ``"label_ranges"`` (``{name: [low, high]}`` of the training labels) and
        ``"description"`` are read here when present.
    choice : str or None
        Why this model was chosen, when `~specfm.inference.load_pretrained` chose it.

    """

    def __init__(self, network, name=None, path=None, config=None):
        self.network = network.eval()
        meta = getattr(network, "metadata", {}) or {}
        self.config = dict(config or {})
        self.provenance = dict(meta.get("provenance") or self.config.get("provenance") or {})
        self._sha256 = meta.get("sha256") or self.config.get("weights", {}).get("sha256")
        self.path = None if path is None else pathlib.Path(path)
        if name is None and self.path is not None:
            name = self.path.stem if self.path.suffix == ".zip" else self.path.name
        self._name = name or "unnamed"
        tok = network.config.tokenizer
        tok_config = TokenizerConfig.from_dict(tok) if tok else TokenizerConfig()
        self.tokenizer_config = dataclasses.replace(tok_config, vocabulary=network.vocabulary)
        self.choice = None

    @classmethod
    def from_path(cls, path, name=None, map_location="cpu"):
        """Load a model folder or ``.zip`` written by `specfm.model.save_model`."""
        config = read_model_config(path)
        return cls(load_model(path, map_location=map_location), name=name, path=path,
                   config=config)

    # -- description -------------------------------------------------------------------

    @property
    def name(self):
        """The model's name (str)."""
        return self._name

    @property
    def sha256(self):
        """The sha256 of the weights file, checked when it was loaded (str or None)."""
        return self._sha256

    @property
    def n_members(self):
        """Networks averaged in each prediction: 1, or the size of an ensemble (int)."""
        return getattr(self.network, "n_members", 1)

    @property
    def vocabulary(self):
        """The `~specfm.tokens.Vocabulary` of labels and colours the network knows."""
        return self.network.vocabulary

    @property
    def labels(self):
        """Names of the labels the model predicts (tuple of str)."""
        outputs = self.provenance.get("outputs")
        return tuple(outputs) if outputs else self.vocabulary.labels()

    @property
    def coverage(self):
        """Wavelength ranges the model reads: Quantity ``(n, 2)`` in Angstrom, or None."""
        ranges = self.tokenizer_config.coverage
        if ranges is None:
            ranges = config_coverage({"model": self.network.config.to_dict()})
        return None if ranges is None else np.array(ranges, dtype=float) * u.AA

    @property
    def label_ranges(self):
        """``{name: Quantity [low, high]}`` of the training labels (empty when unknown)."""
        out = {}
        for name, (lo, hi) in (self.provenance.get("label_ranges") or {}).items():
            if name in self.vocabulary:
                out[name] = np.array([lo, hi], dtype=float) << self.vocabulary[name].quantity_unit
        return out

    @property
    def coverage_text(self):
        """The wavelength coverage in words (``"3360-10200 AA"``, or ``"any wavelength"``)."""
        cov = self.coverage
        if cov is None:
            return "any wavelength"
        return ", ".join(f"{lo:.0f}-{hi:.0f} AA" for lo, hi in cov.to_value(u.AA))

    def info(self):
        """Return a JSON-serialisable description of the model (dict)."""
        arch = self.network.config
        cov = self.coverage
        tok = self.tokenizer_config
        return {
            "name": self.name,
            "path": None if self.path is None else str(self.path),
            "sha256": self.sha256,
            "description": self.provenance.get("description", ""),
            "labels": list(self.labels),
            "coverage_angstrom": None if cov is None else cov.to_value(u.AA).tolist(),
            "label_ranges": {k: [float(x) for x in v.value] for k, v in self.label_ranges.items()},
            "sampling": self.provenance.get("sampling"),
            "inputs": list(self.vocabulary.names),
            "n_parameters": self.network.n_parameters(),
            "n_members": self.n_members,
            "architecture": {k: getattr(arch, k) for k in (
                "d_model", "n_heads", "n_latents", "n_latent_layers", "n_decoder_layers")},
            "tokenizer": self._tokenizer_summary(),
            "normalisation": tok.normalisation.get("name"),
            "specfm_version": self.config.get("specfm_version"),
        }

    def _tokenizer_summary(self, tok=None):
        tok = self.tokenizer_config if tok is None else tok
        return {
            "normalisation": tok.normalisation.get("name"),
            "coverage": None if tok.coverage is None else [list(p) for p in tok.coverage],
            "max_tokens": tok.max_tokens,
            "cap_mode": tok.cap_mode,
            "max_snr": tok.max_snr,
        }

    def _size_text(self):
        return parameter_count_text(self.network.n_parameters(), self.n_members)

    def __repr__(self):
        sha = (self.sha256 or "unknown")[:12]
        return (f"<specfm.Model {self.name!r}: labels {', '.join(self.labels)}; "
                f"coverage {self.coverage_text}; parameters {self._size_text()}; sha256 {sha}>")

    def _repr_html_(self):
        rows = [
            ("name", self.name),
            ("labels", ", ".join(self.labels)),
            ("coverage", self.coverage_text),
            ("parameters", self._size_text()),
            ("sha256", (self.sha256 or "unknown")[:12]),
        ]
        body = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td>{html.escape(str(v))}</td></tr>" for k, v in rows)
        return f"<table><caption>specfm model</caption>{body}</table>"

    # Methods with a module of their own (one job each): see those modules.
    attention = _attention.attention
    generate = _generation.generate
    inpaint = _generation.inpaint
    normalise = _generation.normalise
    finetune = _finetuning.finetune

    def save(self, path, overwrite=False):
        """Write the model to a folder (``config.json`` + ``model.safetensors``).

        Parameters
        ----------
        path : str or path-like
            Folder to create (or a ``.zip`` file).
        overwrite : bool
            Replace an existing model there.

        Returns
        -------
        pathlib.Path
            Where it was written; `specfm.inference.load` reads it back.

        """
        out = save_model(self.network, path, provenance=self.provenance, overwrite=overwrite)
        self.path = out
        self._sha256 = read_model_config(out).get("weights", {}).get("sha256", self._sha256)
        return out

    def to(self, device):
        """Move the network to ``device`` (e.g. ``"cuda"``); return the model."""
        self.network.to(device)
        return self

    # -- prediction --------------------------------------------------------------------

    def resolve_labels(self, labels, inputs=None):
        """Return the labels to predict: ``labels`` checked, or all of the model's.

        Labels given in ``inputs`` may be requested back.

        Raises
        ------
        SpecfmInputError
            For a label the model cannot predict (the message lists those it can).

        """
        available = list(self.labels)
        given = [n for n in _input_names(inputs) if n in self.vocabulary]
        available += [n for n in given if n not in available]
        if labels is None:
            return tuple(self.labels)
        names = (labels,) if isinstance(labels, str) else tuple(labels)
        unknown = [n for n in names if n not in available]
        if unknown or not names:
            raise SpecfmInputError(
                f"Model {self.name!r} cannot predict {', '.join(map(repr, unknown)) or 'nothing'}"
                f". Available labels: {', '.join(available)} (labels given in inputs= can also "
                "be requested back)."
            )
        return names

    def predict(self, spectra, labels=None, inputs=None, batch_size=64, progress=None,
                medium="vacuum", radial_velocity=None, redshift=None, method="one_pass",
                chunk_size=512, seed=0, on_error="mask", max_tokens="model",
                precision="float32", max_snr="model"):
        """Predict stellar labels, with uncertainties, for each spectrum.

        Parameters
        ----------
        spectra : Spectrum, Spectrum1D, SpectrumList, SpectrumCollection, list or path
            Anything `specfm.tokens.Tokenizer` accepts: one spectrum, a 2-D batch, or
            spectra on different grids, in any spectral and flux unit; or the path of one
            file, read with specutils guessing its format (for many files, or to name
            the format, see `specfm.inference.predict_files`).
        labels : str or list of str, optional
            Labels to predict (default: all of `labels`). Labels given in ``inputs``
            may be requested back.
        inputs : dict or `~astropy.table.Table`, optional
            Non-spectral inputs per spectrum (colours, known labels), as for
            `specfm.tokens.extra_tokens`, e.g. ``{"logg": 2.5 * u.dex(u.cm / u.s**2)}``.
        batch_size : int
            Spectra tokenised and read together; bounds the memory used.
        progress : bool, optional
            Show a progress bar (default: only when there are more than a few batches).
        medium : {"vacuum", "air"}
            Medium of the input wavelengths.
        radial_velocity : Quantity or str, optional
            Velocity to remove, to read observed-frame spectra (APOGEE apVisit, BOSS) in
            the rest frame: a Quantity (scalar or one per spectrum); or the name of a
            column of ``inputs`` (with a velocity unit); or else a keyword of each
            spectrum's FITS header, e.g. ``"VRAD"`` for apVisit (`header_velocity`).
        redshift : float or array-like, optional
            Redshift to remove (scalar or one per spectrum).
        method : {"one_pass", "chunked"}
            Read every pixel at once (default), or average over random chunks of at most
            ``chunk_size`` pixels (`specfm.model.predict_chunked`, as in SpectraFM).
        chunk_size : int
            Pixels per chunk for ``method="chunked"``.
        seed : int
            Seed of every random choice (chunks, token caps); results do not depend on
            ``batch_size``.
        on_error : {"mask", "raise"}
            For a spectrum with no usable pixel: mask its row (default), or raise.
        max_tokens : "model", int or None
            Most flux tokens per row. ``"model"`` (default): the cap the model was trained
            with, if any. A spectrum with more valid pixels is split at random into
            several rows (never sub-sampled: every pixel is used), whose predictions are
            combined as an equal-weight mixture. None: read every pixel in one row.
        precision : {"float32", "bfloat16"}
            The network's arithmetic: float32 (default), or bfloat16 autocast, faster
            where the CPU (or GPU) has bfloat16 matrix units and slower where it has not.
            ``benchmarks/speed.py precision`` measures how far its labels move.
        max_snr : "model", float or None
            Read spectra of a higher median S/N as if observed at this S/N, with noise
            added (reproducibly; `specfm.tokens.degrade_to_snr`): a network reads spectra
            cleaner than its training spectra worse, not better. ``"model"`` (default):
            the top of the model's training S/N range, where its configuration records
            one (``tokenizer_config.max_snr``). None: read every spectrum as it comes.
            Rows read so carry ``PredictionFlag.SNR_DEGRADED``.

        Returns
        -------
        `~astropy.table.QTable`
            One row per spectrum: ``spectrum_index``; ``<label>`` and ``<label>_err``
            (masked Quantities); ``radial_velocity`` or ``redshift`` when one was removed;
            ``n_tokens``; ``flag`` (bits of `~specfm.inference.PredictionFlag`). ``meta``
            names the model, its version and sha256, the tokenizer, the method and
            ``frame``: whether a velocity was removed (rest frame) or not.

        Raises
        ------
        SpecfmInputError
            For unknown labels, bad arguments, or unusable spectra with
            ``on_error="raise"``.

        """
        if method not in METHODS:
            raise SpecfmInputError(f"method must be one of {METHODS}, not {method!r}.")
        check_precision(precision)
        if isinstance(spectra, str | os.PathLike):
            spectra = _read_path(spectra)
        if int(batch_size) < 1 or int(chunk_size) < 1:
            raise SpecfmInputError("batch_size and chunk_size must be positive integers.")
        source = radial_velocity if isinstance(radial_velocity, str) else None
        radial_velocity, inputs = resolve_velocity(radial_velocity, spectra, inputs)
        names = self.resolve_labels(labels, inputs)
        config = self.inference_config(max_tokens, max_snr)
        query = Query(labels=names)
        pieces = split_pieces(spectra)
        n_total = sum(p.n_spectra for p in pieces)
        batches = list(make_batches(pieces, int(batch_size)))
        show = len(batches) > _PROGRESS_BATCHES if progress is None else bool(progress)
        per_batch, outside, degraded = [], [], []
        for batch in tqdm(batches, disable=not show, unit="batch", desc=f"specfm {self.name}"):
            tokens = tokenize_batch(config, batch, n_total, inputs, radial_velocity, redshift,
                                    medium, on_error, seed)
            outside += [r.n_outside_coverage for r in tokens.reports]
            degraded += [r.snr_degraded for r in tokens.reports]
            per_batch.append(self._predict_tokens(tokens, query, method, chunk_size, seed,
                                                  batch[0].start, precision))
        self._warn_coverage(outside)
        parts = [np.concatenate(x) for x in zip(*per_batch, strict=True)]
        table = self._table(names, *parts, outside, degraded, method, chunk_size, seed,
                            config)
        if precision != "float32":
            table.meta["precision"] = precision
        return add_frame(table, radial_velocity, redshift, source)

    def inference_config(self, max_tokens="model", max_snr="model"):
        """Return the tokenizer settings for reading spectra at prediction time.

        Parameters
        ----------
        max_tokens : "model", int or None
            As for `predict`: the model's cap, another cap, or None (every pixel in one
            row). A cap splits a long spectrum into rows (chunks); it never drops pixels.
        max_snr : "model", float or None
            As for `predict`: the model's S/N ceiling, another one, or None (none).

        Returns
        -------
        `~specfm.tokens.TokenizerConfig`

        """
        config = self.tokenizer_config
        if not (isinstance(max_snr, str) and max_snr == "model"):
            try:  # TokenizerConfig checks it
                config = dataclasses.replace(config, max_snr=max_snr)
            except ValueError as error:
                raise SpecfmInputError(
                    f"{error} ('model', the default: the model's own.)") from None
        cap = config.max_tokens if isinstance(max_tokens, str) else max_tokens
        if (isinstance(max_tokens, str) and max_tokens != "model") or (
                cap is not None and int(cap) < 1):
            raise SpecfmInputError(
                f"max_tokens must be 'model', a positive integer or None, not {max_tokens!r}.")
        if cap is None:
            return dataclasses.replace(config, max_tokens=None)
        return dataclasses.replace(config, max_tokens=int(cap), cap_mode="chunk")

    def _warn_coverage(self, outside):
        n_spec = sum(1 for n in outside if n)
        if n_spec:
            warnings.warn(
                f"{n_spec} of {len(outside)} spectra extend beyond the coverage of model "
                f"{self.name!r} ({self.coverage_text}, vacuum); their {sum(outside)} pixels "
                "outside it were not used. These rows have flag & 1 set "
                "(PredictionFlag.COVERAGE); check the medium and velocity, or use a model that "
                "covers the whole range.",
                CoverageWarning,
                stacklevel=3,
            )

    def run_tokens(self, tokens, query, method="one_pass", chunk_size=512, seed=0, offset=0,
                   precision="float32"):
        """Return per-row ``(mean, logvar)`` in scaled units (float64, CPU) for ``query``.

        The one place the network is called (prediction, generation, in-painting,
        attention's token rows go through it).

        Parameters
        ----------
        tokens : `~specfm.tokens.TokenBatch`
            Token rows (from `specfm.tokens.Tokenizer` with `inference_config`).
        query : `~specfm.model.Query`
            What to predict for every row.
        method : {"one_pass", "chunked"}
            As for `predict`.
        chunk_size, seed, offset : int
            For ``method="chunked"``: pixels per chunk, and the seed of the chunks of
            spectrum ``offset + i``.
        precision : {"float32", "bfloat16"}
            As for `predict`.

        Returns
        -------
        mean, logvar : torch.Tensor
            ``(rows, queries)``.

        """
        device = next(self.network.parameters()).device
        tokens = tokens.to(device)
        queries = query.build(tokens.n_rows, self.vocabulary, device=device)
        with torch.inference_mode(), precision_autocast(device.type, precision):
            if method == "one_pass":
                per_call = rows_per_call(tokens.n_tokens)
                if tokens.n_rows <= per_call:
                    out = self.network(tokens, queries)
                    return out.mean.double().cpu(), out.logvar.double().cpu()
                parts = [self.network(tokens.select(rows).trim(), queries.select(rows))
                         for rows in torch.arange(tokens.n_rows, device=device).split(
                             per_call)]
                return (torch.cat([o.mean for o in parts]).double().cpu(),
                        torch.cat([o.logvar for o in parts]).double().cpu())
            mean = torch.zeros(tokens.n_rows, len(query), dtype=torch.float64)
            logvar = torch.zeros_like(mean)
            index = tokens.spectrum_index.cpu()
            for s in torch.unique(index).tolist():
                rows = torch.nonzero(index == s).flatten()
                out = predict_chunked(self.network, tokens.select(rows),
                                      queries.select(rows.to(device)), chunk_size=chunk_size,
                                      seed=derived_seed(seed, offset + s), batch_size=64)
                mean[rows], logvar[rows] = out.mean.double().cpu(), out.logvar.double().cpu()
            return mean, logvar

    def _predict_tokens(self, tokens, query, method, chunk_size, seed, offset, precision):
        """Per-spectrum scaled mean, variance, usable, n_tokens, input label values."""
        n_spec = tokens.n_spectra
        usable = np.array([r.n_tokens > 0 for r in tokens.reports], bool)
        index = tokens.spectrum_index.numpy()
        rows = np.nonzero(usable[index])[0]
        mean = torch.full((n_spec, len(query)), np.nan, dtype=torch.float64)
        variance = mean.clone()
        if rows.size:
            part = tokens.select(rows).trim()
            row_mean, row_logvar = self.run_tokens(part, query, method, chunk_size, seed, offset,
                                                   precision)
            mean, variance = combine_rows(row_mean, row_logvar, part.spectrum_index.cpu(),
                                          n_spec)
        n_tokens = np.array([r.n_tokens for r in tokens.reports], np.int64)
        return mean.numpy(), variance.numpy(), usable, n_tokens, input_label_values(tokens)

    def _table(self, names, mean, variance, usable, n_tokens, given, outside, degraded,
               method, chunk_size, seed, config):
        specs = [self.vocabulary[n] for n in names]
        scale = np.array([s.scale for s in specs])
        offset = np.array([s.offset for s in specs])
        value = mean * scale + offset
        std = np.sqrt(variance) * scale
        ranges = {k: v.value for k, v in self.label_ranges.items()}
        flags = prediction_flags(names, value, usable, outside, given, ranges, self.vocabulary,
                                 std, degraded)
        meta = {
            "model": self.name,
            "model_version": self.provenance.get("version", self.config.get("specfm_version")),
            "model_sha256": self.sha256,
            "specfm_version": _specfm_version(),
            "tokenizer": self._tokenizer_summary(config),
            "method": method,
            "seed": int(seed),
            "labels": list(names),
            "flags": {str(k): v for k, v in FLAG_DESCRIPTIONS.items()},
        }
        if method == "chunked":
            meta["chunk_size"] = int(chunk_size)
        if self.choice:
            meta["model_choice"] = self.choice
        return make_table(names, self.vocabulary, value, std, usable, n_tokens, flags, meta)


def load(path, name=None, map_location="cpu"):
    """Load a model folder (or ``.zip``) written by `specfm.model.save_model`.

    Parameters
    ----------
    path : str or path-like
        The folder or archive; its sha256 is checked.
    name : str, optional
        Name used in tables and logs (default: the folder name).
    map_location : str or torch.device
        Device for the weights (default CPU).

    Returns
    -------
    Model

    Raises
    ------
    specfm.model.ModelFileError
        If the files are missing, corrupted or not a specfm model.

    """
    return Model.from_path(path, name=name, map_location=map_location)
