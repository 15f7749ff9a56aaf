"""Fine-tuning a trained network on a small data set (e.g. 100 stars).

Three tools, and one function that strings them together:

* `extend_network` adds new labels/colours (vocabulary entries) and new token kinds by
  growing the embedding tables; existing ids and weights are untouched.
* `freeze` stops chosen parts from learning: ``"embeddings"``, ``"encoder"``,
  ``"decoder"``, ``"head"``. Rows added by `extend_network` stay trainable even when the
  rest of their table is frozen.
* `finetune` copies the network, extends it, freezes parts, holds out a validation split
  and trains with early stopping, optionally mixing *rehearsal* rows (e.g. synthetic
  spectra like those of pre-training, over the whole label range) into every epoch so
  that a few real stars do not make the network forget what lies beyond them.
"""

import copy
import dataclasses

import torch
from torch import nn

from ..exceptions import SpecfmInputError
from ..model.network import SpecFMNetwork
from ..tokens.vocabulary import TokenSpec
from .data import TokenDataset
from .loop import Trainer
from .settings import TrainerConfig

__all__ = ["PARTS", "FineTuneConfig", "extend_network", "finetune", "freeze", "unfreeze"]

PARTS = ("embeddings", "encoder", "decoder", "head", "flux_decoder")
"""The parts of a network that `freeze` knows (``"flux_decoder"``: the decoder and head of
flux requests, in networks that have them; ``"decoder"`` and ``"head"`` then serve labels
and colours alone)."""


def _part(network, name):
    if name not in PARTS:
        raise SpecfmInputError(f"Unknown part {name!r}; choose from {', '.join(PARTS)}.")
    if name == "flux_decoder":
        if not network.config.flux_decoder:
            raise SpecfmInputError(
                "This network has no flux decoder (its flux requests use 'decoder' and "
                "'head'); add one with extend_network(..., flux_decoder=True).")
        return nn.ModuleList([network.flux_decoder, network.flux_head])
    return {"embeddings": network.embed, "encoder": network.encoder,
            "decoder": network.decoder, "head": network.head}[name]


def freeze(network, parts):
    """Freeze ``parts`` of ``network`` (in place) and return it.

    Parameters
    ----------
    network : `~specfm.model.SpecFMNetwork`
        The network.
    parts : iterable of str
        Any of ``"embeddings"``, ``"encoder"``, ``"decoder"``, ``"head"`` and, for a
        network with a flux decoder, ``"flux_decoder"``.

    Returns
    -------
    `~specfm.model.SpecFMNetwork`
        The same network.

    Examples
    --------
    >>> from specfm.model import ModelConfig, SpecFMNetwork
    >>> from specfm.training import freeze
    >>> net = SpecFMNetwork(ModelConfig(d_model=16, n_heads=2, n_latents=4,
    ...                                 n_latent_layers=1))
    >>> _ = freeze(net, ["encoder", "embeddings"])
    >>> net.n_parameters(trainable_only=True) < net.n_parameters()
    True

    """
    if isinstance(parts, str):
        parts = [parts]
    for name in parts:
        _part(network, name).requires_grad_(False)
    if "embeddings" in parts:
        for table in (network.embed.ident, network.embed.kind):
            base = getattr(table, "grown_from", None)
            if base is not None and base < table.n_rows:
                table.weight.requires_grad_(True)
                table.freeze_rows(base)
    return network


def unfreeze(network):
    """Make every weight trainable again (in place) and return the network."""
    network.requires_grad_(True)
    for table in (network.embed.ident, network.embed.kind):
        table.freeze_rows(0)
    return network


def extend_network(network, new_tokens=(), n_new_kinds=0, flux_decoder=False):
    """Return a copy of ``network`` that also knows ``new_tokens`` and more token kinds.

    Parameters
    ----------
    network : `~specfm.model.SpecFMNetwork`
        The trained network (not modified).
    new_tokens : iterable of `~specfm.tokens.TokenSpec` (or dicts)
        Entries to append to the vocabulary; their rows start at the mean of the
        existing rows of the same kind.
    n_new_kinds : int
        Extra token kinds (ids ``n_kinds``, ``n_kinds + 1``, ...).
    flux_decoder : bool
        Also give flux requests a decoder and head of their own, starting as copies of
        the shared ones (so every answer is unchanged until they are trained). Freeze
        every other part and train them (``freeze(net, ["embeddings", "encoder",
        "decoder", "head"])``) to improve generation and in-painting while every label
        stays exactly as it was. Nothing changes if the network already has one.

    Returns
    -------
    `~specfm.model.SpecFMNetwork`
        The extended copy; old ids keep their weights.

    Raises
    ------
    SpecfmInputError
        If a new name is already in the vocabulary.

    """
    specs = [s if isinstance(s, TokenSpec) else TokenSpec.from_dict(s) for s in new_tokens]
    vocab = network.vocabulary
    clash = [s.name for s in specs if s.name in vocab]
    if clash:
        raise SpecfmInputError(f"{clash} are already in the vocabulary; give new names.")
    new = copy.deepcopy(network)
    new.config = dataclasses.replace(network.config, vocabulary=vocab.extend(specs),
                                     n_kinds=network.config.n_kinds + int(n_new_kinds))
    if specs:
        new.embed.ident.grown_from = new.embed.ident.n_rows
    for spec in specs:
        same = [i for i, s in enumerate(vocab) if s.kind == spec.kind]
        new.embed.ident.grow(1, like=same)
    if n_new_kinds:
        new.embed.kind.grown_from = new.embed.kind.n_rows
        new.embed.kind.grow(int(n_new_kinds))
    if flux_decoder and not new.config.flux_decoder:
        new.config = dataclasses.replace(new.config, flux_decoder=True)
        # the copy shares the token embedding (its wavelength and label tables), as the
        # shared decoder does: it must not get an embedding of its own
        new.flux_decoder = copy.deepcopy(new.decoder, memo={id(new.embed): new.embed})
        new.flux_head = copy.deepcopy(new.head)
    return new


@dataclasses.dataclass
class FineTuneConfig:
    """Settings of `finetune`.

    Parameters
    ----------
    freeze : tuple of str
        Parts to freeze (see `freeze`).
    new_tokens : tuple of `~specfm.tokens.TokenSpec`
        Vocabulary entries to add.
    n_new_kinds : int
        Token kinds to add.
    flux_decoder : bool
        Give flux requests a decoder of their own first (`extend_network`).
    validation_fraction : float
        Fraction of spectra held out for validation (0: none, no early stopping).
    split_seed : int
        Seed of the split.
    repeat : int
        How many times each fine-tuning (training) row is shown per epoch; with
        ``rehearsal`` rows in `finetune`, this sets the share of the real rows.

    Raises
    ------
    SpecfmInputError
        ``repeat`` below 1.

    """

    freeze: tuple = ("encoder",)
    new_tokens: tuple = ()
    n_new_kinds: int = 0
    flux_decoder: bool = False
    validation_fraction: float = 0.2
    split_seed: int = 0
    repeat: int = 1

    def __post_init__(self):
        if int(self.repeat) != self.repeat or self.repeat < 1:
            raise SpecfmInputError(f"repeat must be a whole number >= 1, got {self.repeat!r}.")
        self.repeat = int(self.repeat)


def finetune(network, dataset, config=None, trainer_config=None, objective=None,
             rehearsal=None):
    """Fine-tune a copy of ``network`` on a small `TokenDataset`.

    Parameters
    ----------
    network : `~specfm.model.SpecFMNetwork`
        The starting point (not modified).
    dataset : `TokenDataset`
        All the fine-tuning rows, tokenized with the *extended* vocabulary if new tokens
        are added.
    config : `FineTuneConfig` or None
        What to extend, freeze and hold out.
    trainer_config : `TrainerConfig` or None
        Training settings; by default 50 epochs, early stopping after 5 without
        improvement, 10 warm-up steps.
    objective : callable or None
        The objective (default `MaskedTokenObjective`).
    rehearsal : `TokenDataset` or None
        Rows added to every training epoch but never to the validation split, tokenised
        with the same vocabulary: typically synthetic spectra of the pre-training kind
        over the full label range (with the instrument's `~specfm.synth.Instrument`
        ``flux_correction`` fitted on the real stars), so that fine-tuning on stars of
        a narrow label range keeps what pre-training knew outside it. The real rows are
        repeated ``config.repeat`` times per epoch.

    Returns
    -------
    network : `~specfm.model.SpecFMNetwork`
        The fine-tuned copy.
    result : `TrainingResult`
        History and early-stopping outcome.

    """
    if not isinstance(network, SpecFMNetwork):
        raise SpecfmInputError("finetune() needs a SpecFMNetwork (e.g. from load_model).")
    config = config if config is not None else FineTuneConfig()
    if trainer_config is None:
        trainer_config = TrainerConfig(epochs=50, patience=5, warmup_steps=10, progress=False)
    new = extend_network(network, config.new_tokens, config.n_new_kinds, config.flux_decoder)
    freeze(new, config.freeze)
    if config.validation_fraction:
        train, val = dataset.split(config.validation_fraction, config.split_seed)
    else:
        train, val = dataset, None
    if config.repeat > 1:
        train = train.subset(torch.arange(len(train)).repeat(config.repeat))
    if rehearsal is not None:
        if not isinstance(rehearsal, TokenDataset):
            raise SpecfmInputError("rehearsal must be a TokenDataset (or None).")
        train = TokenDataset.concatenate([train, rehearsal])
    trainer = Trainer(new, train, val, objective=objective, config=trainer_config)
    result = trainer.fit()
    new.metadata = dict(new.metadata, provenance=dict(
        trainer.provenance(), finetune={"freeze": list(config.freeze),
                                        "new_tokens": [s.name if isinstance(s, TokenSpec)
                                                       else s["name"]
                                                       for s in config.new_tokens],
                                        "repeat": config.repeat,
                                        "rehearsal_rows": 0 if rehearsal is None
                                        else len(rehearsal),
                                        "parent": network.metadata.get("provenance", {})}))
    return new.cpu(), result
