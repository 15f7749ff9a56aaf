"""Fine-tune a network on spectra and a table of their labels (what ``Model.finetune`` runs).

SpectraFM's use case: a pre-trained model, a few dozen to a few hundred stars with trusted
labels (e.g. from high-resolution spectroscopy or asteroseismology), and a new instrument
or wavelength range. `finetune_spectra` tokenises the spectra with the model's tokenizer
settings, turns the labels table into training targets (`label_targets`) and runs
`finetune` on a copy of the network (each member in turn for an ensemble).
"""

import dataclasses

import numpy as np

from ..exceptions import SpecfmInputError
from ..model import EnsembleNetwork
from ..tokens import Tokenizer
from ..tokens.extra_inputs import input_column
from .data import TokenDataset, labels_to_tensors
from .ensemble import ensemble_provenance
from .finetune import FineTuneConfig, finetune
from .objectives import MaskedTokenObjective, ObjectiveConfig
from .settings import TrainerConfig

__all__ = ["SpectraFineTune", "finetune_spectra", "label_targets"]


@dataclasses.dataclass
class SpectraFineTune:
    """What `finetune_spectra` returns.

    Attributes
    ----------
    network : `~specfm.model.SpecFMNetwork` or `~specfm.model.EnsembleNetwork`
        The fine-tuned copy (its ``config.tokenizer`` is the one it was tuned with).
    history : list of dict
        Per-epoch losses (with a ``member`` index for an ensemble).
    label_values : dict
        ``{label: values}`` in vocabulary units: what it was trained on (NaN: missing).
    n_spectra : int
        Stars trained on.

    """

    network: object
    history: list
    label_values: dict
    n_spectra: int


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


def finetune_spectra(network, tokenizer_config, spectra, labels, inputs=None, epochs=30,
                     batch_size=16, learning_rate=3e-4, validation_fraction=0.1, freeze=(),
                     objective=None, seed=0, progress=None):
    """Fine-tune a copy of a network on a small set of stars with known labels.

    Parameters
    ----------
    network : `~specfm.model.SpecFMNetwork` or `~specfm.model.EnsembleNetwork`
        The network (unchanged; an ensemble is tuned member by member, seeds ``seed``,
        ``seed + 1``, ..., one validation split).
    tokenizer_config : `~specfm.tokens.TokenizerConfig`
        How the network reads spectra (the model's tokenizer settings).
    spectra : Spectrum, Spectrum1D, SpectrumList, SpectrumCollection or list
        The stars' spectra.
    labels : `~astropy.table.Table` or dict
        One row per spectrum: labels the network knows, optional ``<label>_err``
        (see `label_targets`).
    inputs : dict or `~astropy.table.Table`, optional
        Non-spectral inputs per star (colours).
    epochs, batch_size, learning_rate : int, int, float
        Training settings (`~specfm.training.TrainerConfig`).
    validation_fraction : float
        Stars held out for early stopping (0: none).
    freeze : tuple of str
        Parts of the network to keep fixed (`specfm.training.freeze`).
    objective : `~specfm.training.ObjectiveConfig`, optional
        Default: the full spectrum as context, labels asked, a few flux pixels asked
        back, inputs kept as context.
    seed : int
        Seed of the split, the order and every random draw.
    progress : bool, optional
        Progress bar (default: for more than 300 steps).

    Returns
    -------
    SpectraFineTune

    Raises
    ------
    SpecfmInputError
        If the spectra cannot be read or the labels do not match them.

    """
    vocabulary = (network.members[0] if isinstance(network, EnsembleNetwork)
                  else network).vocabulary
    config = tokenizer_config
    if config.max_tokens is not None:  # one row per star: random pixels up to the cap
        config = dataclasses.replace(config, cap_mode="subsample", seed=int(seed))
    tokens = Tokenizer(config)(spectra, inputs=inputs, on_error="raise")
    values, errors = label_targets(labels, vocabulary, tokens.n_spectra)
    lab, err, mask = labels_to_tensors(values, vocabulary, errors, tokens.n_spectra)
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
    ensemble = isinstance(network, EnsembleNetwork)
    members = list(network.members) if ensemble else [network]
    tuned, history = [], []
    for k, member in enumerate(members):  # an ensemble: each member in turn, seeds seed + k
        net, result = finetune(
            member, dataset,
            FineTuneConfig(freeze=tuple(freeze), validation_fraction=float(validation_fraction),
                           split_seed=int(seed)),
            dataclasses.replace(trainer, seed=int(seed) + k), MaskedTokenObjective(objective))
        net.config.tokenizer = tokenizer_config.to_dict()
        tuned.append(net)
        history += [dict(h, member=k) for h in result.history] if ensemble else result.history
    if ensemble:
        out = EnsembleNetwork(tuned)
        out.metadata = {"provenance": ensemble_provenance(tuned)}
    else:
        out = tuned[0]
    return SpectraFineTune(out, history, values, tokens.n_spectra)
