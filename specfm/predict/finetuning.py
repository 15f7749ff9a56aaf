"""Fine-tune a model on your own stars from a notebook: ``Model.finetune``, ``Model.save``.

SpectraFM's use case: a pre-trained model, a few dozen to a few hundred stars with trusted
labels (e.g. from high-resolution spectroscopy or asteroseismology), and a new instrument
or wavelength range. ``Model.finetune`` tokenises the spectra as the model does,
turns a labels table into training targets, and runs `specfm.training.finetune`; the result
is a new `~specfm.predict.Model` to predict with or ``save``.
"""

import dataclasses

import numpy as np

from ..exceptions import SpecfmInputError
from ..model import EnsembleNetwork, read_model_config, save_model
from ..tokens import Tokenizer
from ..tokens.extra_inputs import input_column

__all__ = ["finetune", "label_targets", "save"]  # finetune, save: methods of
# specfm.predict.Model (self is the model)


def label_targets(labels, vocabulary, n_spectra):
    """Return ``(values, errors)`` dicts in vocabulary units from a table of labels.

    Parameters
    ----------
    labels : `~astropy.table.Table` or dict
        Columns named after vocabulary labels (Quantities or plain numbers in the
        vocabulary unit), optional ``<name>_err``; masked or NaN values are missing.
    vocabulary : `~specfm.tokens.Vocabulary`
        Names and units.
    n_spectra : int
        Rows expected.

    Raises
    ------
    SpecfmInputError
        For a wrong number of rows or no usable label column.

    """
    names = list(labels.colnames if hasattr(labels, "colnames") else labels)
    known = set(vocabulary.labels())  # labels only: colours are inputs, not targets
    keep = [n for n in names if n in known]
    if not keep:
        raise SpecfmInputError(
            f"No column of the labels table ({', '.join(names)}) is a label the model "
            f"knows ({', '.join(vocabulary.labels())}).")
    values, errors = {}, {}
    for name in keep:
        has_err = f"{name}_err" in names
        vals, errs, mask = input_column(labels, name, vocabulary[name], has_err)
        vals = np.array(vals, dtype=float, ndmin=1)
        if mask is not None:
            vals[np.broadcast_to(mask, vals.shape)] = np.nan
        values[name] = vals
        if has_err:
            errors[name] = np.nan_to_num(np.asarray(errs, dtype=float), nan=0.0)
        if values[name].shape != (n_spectra,):
            raise SpecfmInputError(
                f"Label {name!r} has {values[name].size} values for {n_spectra} spectra; "
                "give one row per spectrum.")
    return values, errors


def finetune(self, spectra, labels, inputs=None, epochs=30, batch_size=16,
             learning_rate=3e-4, validation_fraction=0.1, freeze=(), objective=None,
             seed=0, progress=None, name=None):
    """Fine-tune a copy of this model on a small set of stars with known labels.

    Parameters
    ----------
    spectra : Spectrum, Spectrum1D, SpectrumList, SpectrumCollection or list
        The stars' spectra (anything `~specfm.predict.Model.predict` takes).
    labels : `~astropy.table.Table` or dict
        One row per spectrum: labels the model knows (``teff``, ``logg``, ``fe_h``,
        ...) as Quantities, optional ``<label>_err`` columns; masked or NaN values
        are simply not trained on.
    inputs : dict or `~astropy.table.Table`, optional
        Non-spectral inputs per star (colours), given to the model as at prediction.
    epochs, batch_size, learning_rate : int, int, float
        Training settings (`~specfm.training.TrainerConfig`).
    validation_fraction : float
        Stars held out for early stopping (0: none, train for all ``epochs``).
    freeze : tuple of str
        Parts of the network to keep fixed (e.g. ``("encoder",)``; see
        `specfm.training.freeze`).
    objective : `~specfm.training.ObjectiveConfig`, optional
        The training objective (default: the full spectrum as context, labels asked,
        a few flux pixels asked back; inputs kept as context).
    seed : int
        Seed of the split, the initial order and every random draw.
    progress : bool, optional
        Show a progress bar (default: when there are more than a few hundred steps).
    name : str, optional
        Name of the new model (default: ``"<this name>-finetuned"``).

    Returns
    -------
    `~specfm.predict.Model`
        The fine-tuned copy (this model is unchanged); ``model.training_history``
        holds the per-epoch losses. An ensemble model is fine-tuned member by member
        (seeds ``seed``, ``seed + 1``, ...; one validation split) and stays an
        ensemble; its history records carry a ``member`` index.

    Raises
    ------
    SpecfmInputError
        If the spectra cannot be read or the labels do not match them.

    """
    from ..training import (
        FineTuneConfig,
        MaskedTokenObjective,
        ObjectiveConfig,
        TokenDataset,
        TrainerConfig,
        ensemble_provenance,
        finetune,
        labels_to_tensors,
    )

    config = self.tokenizer_config
    if config.max_tokens is not None:  # one row per star: random pixels up to the cap
        config = dataclasses.replace(config, cap_mode="subsample", seed=int(seed))
    tokens = Tokenizer(config)(spectra, inputs=inputs, on_error="raise")
    values, errors = label_targets(labels, self.vocabulary, tokens.n_spectra)
    lab, err, mask = labels_to_tensors(values, self.vocabulary, errors, tokens.n_spectra)
    if int(mask.sum()) == 0:
        raise SpecfmInputError("No finite label value to train on.")
    dataset = TokenDataset(tokens, lab, err, mask)
    objective = objective or ObjectiveConfig(
        context_fraction=(0.8, 1.0), label_context_probability=0.0,
        colour_context_probability=1.0, n_flux_queries=4, flux_weight=0.1, nll_beta=0.5)
    steps = int(epochs) * max(1, int(np.ceil(len(dataset) / int(batch_size))))
    trainer = TrainerConfig(
        epochs=int(epochs), batch_size=int(batch_size), learning_rate=float(learning_rate),
        warmup_steps=min(20, max(1, steps // 10)), seed=int(seed),
        patience=5 if validation_fraction else None,
        progress=steps > 300 if progress is None else bool(progress))
    ensemble = isinstance(self.network, EnsembleNetwork)
    members = list(self.network.members) if ensemble else [self.network]
    tuned, history = [], []
    for k, member in enumerate(members):  # an ensemble: each member in turn, seeds seed + k
        network, result = finetune(
            member, dataset,
            FineTuneConfig(freeze=tuple(freeze), validation_fraction=float(validation_fraction),
                           split_seed=int(seed)),
            dataclasses.replace(trainer, seed=int(seed) + k), MaskedTokenObjective(objective))
        tuned.append(network)
        history += [dict(h, member=k) for h in result.history] if ensemble else result.history
    if ensemble:
        network = EnsembleNetwork(tuned)
        network.metadata = {"provenance": ensemble_provenance(tuned)}
    provenance = dict(network.metadata.get("provenance", {}))
    provenance.update({
        "description": f"{self.name} fine-tuned on {tokens.n_spectra} stars",
        "outputs": [n for n in self.labels if n in values] + [
            n for n in values if n not in self.labels],
        "label_ranges": {n: [float(np.nanmin(v)), float(np.nanmax(v))]
                         for n, v in values.items() if np.isfinite(v).any()},
        "parent_sha256": self.sha256,
    })
    network.metadata = dict(network.metadata, provenance=provenance)
    for net in tuned:
        net.config.tokenizer = self.tokenizer_config.to_dict()
    model = type(self)(network, name=name or f"{self.name}-finetuned")
    model.training_history = history
    return model


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
        Where it was written; `specfm.predict.load` reads it back.

    """
    out = save_model(self.network, path, provenance=self.provenance, overwrite=overwrite)
    self.path = out
    self._sha256 = read_model_config(out).get("weights", {}).get("sha256", self._sha256)
    return out

