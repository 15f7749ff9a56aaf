"""An ensemble of networks that answers as one: the equal-weight mixture of its members.

Networks of the same architecture trained from different random seeds make partly
independent mistakes; averaging them (a "deep ensemble", Lakshminarayanan et al. 2017)
gives better means, and the spread between members adds the uncertainty of the weights
to each member's own predicted variance. `EnsembleNetwork` behaves like a
`~specfm.model.SpecFMNetwork` (same ``forward``, ``config``, ``vocabulary``), so
everything built on a network (prediction, chunked reading, generation, attention maps)
works on an ensemble unchanged.
"""

import torch
from torch import nn

from ..exceptions import SpecfmInputError
from .chunking import combine_rows
from .config import ModelConfig
from .network import NetworkOutput, SpecFMNetwork

__all__ = ["EnsembleNetwork", "parameter_count_text"]


def parameter_count_text(n_parameters, n_members=1):
    """Word the size of a model: ``"872,450"``, or ``"1,744,900 (2-member ensemble)"``.

    This is the one wording of a model's size, used by `specfm.inference.Model` (its ``repr``),
    ``specfm info`` and the model cards.

    Parameters
    ----------
    n_parameters : int
        Number of parameters (of all members together, for an ensemble).
    n_members : int
        Number of networks in the model (1 for a single network).

    Returns
    -------
    str
        ``n_parameters`` with thousands separators, followed by the ensemble size when
        ``n_members`` is more than one.

    Examples
    --------
    >>> from specfm.model import parameter_count_text
    >>> parameter_count_text(872450)
    '872,450'
    >>> parameter_count_text(2617350, n_members=3)
    '2,617,350 (3-member ensemble)'

    """
    text = f"{int(n_parameters):,}"
    return text if n_members == 1 else f"{text} ({int(n_members)}-member ensemble)"


class EnsembleNetwork(nn.Module):
    """Several `~specfm.model.SpecFMNetwork` of one architecture, read as one mixture.

    Parameters
    ----------
    members : sequence of `~specfm.model.SpecFMNetwork`
        At least two networks with the same architecture and vocabulary (e.g. fine-tunes
        of one model with different seeds). The first one's ``config`` (its tokenizer
        settings and provenance of inputs) is the ensemble's.

    Raises
    ------
    SpecfmInputError
        With fewer than two members, or members that differ in architecture or vocabulary.

    Examples
    --------
    >>> import torch
    >>> from specfm.model import EnsembleNetwork, ModelConfig, Query, SpecFMNetwork
    >>> config = ModelConfig(d_model=16, n_heads=2, n_latents=4, n_latent_layers=1)
    >>> _ = torch.manual_seed(0)
    >>> ensemble = EnsembleNetwork([SpecFMNetwork(config), SpecFMNetwork(config)])
    >>> ensemble.n_members, ensemble.n_parameters() == 2 * ensemble.members[0].n_parameters()
    (2, True)

    """

    def __init__(self, members):
        super().__init__()
        members = list(members)
        if len(members) < 2:
            raise SpecfmInputError(
                f"An ensemble needs at least two networks, not {len(members)}.")
        if not all(isinstance(m, SpecFMNetwork) for m in members):
            raise SpecfmInputError("Ensemble members must be SpecFMNetwork instances "
                                   "(e.g. from specfm.model.load_model).")
        first = _architecture(members[0])
        for k, member in enumerate(members[1:], start=1):
            if _architecture(member) != first:
                raise SpecfmInputError(
                    f"Ensemble member {k} differs from member 0 in architecture or vocabulary;"
                    " members must be trained from one configuration (e.g. one model "
                    "fine-tuned with different seeds).")
        self.members = nn.ModuleList(members)
        self.metadata = {}

    @classmethod
    def empty(cls, config, n_members):
        """Return an ensemble of ``n_members`` untrained networks of ``config`` (to load into)."""
        return cls([SpecFMNetwork(ModelConfig.from_dict(config.to_dict()))
                    for _ in range(int(n_members))])

    @property
    def config(self):
        """The members' `~specfm.model.ModelConfig` (that of the first)."""
        return self.members[0].config

    @property
    def vocabulary(self):
        """The `~specfm.tokens.Vocabulary` of label and colour tokens."""
        return self.config.vocabulary

    @property
    def n_members(self):
        """Number of networks in the ensemble (int)."""
        return len(self.members)

    def n_parameters(self, trainable_only=False):
        """Return the number of weights of all members together."""
        return sum(m.n_parameters(trainable_only) for m in self.members)

    def forward(self, tokens, queries, return_attention=False):
        """Predict the requested tokens with every member; return their mixture.

        Parameters
        ----------
        tokens, queries, return_attention
            As for `SpecFMNetwork.forward`.

        Returns
        -------
        `~specfm.model.NetworkOutput`
            The mixture's mean and log-variance (the equal-weight Gaussian mixture of
            `~specfm.model.combine_rows`, as for the chunks of one spectrum), and, if
            asked, the members' mean attention (each row still sums to one).

        """
        outs = [member(tokens, queries, return_attention) for member in self.members]
        n_rows = outs[0].mean.shape[0]
        row_index = torch.arange(n_rows, device=outs[0].mean.device).repeat(len(outs))
        mean, variance = combine_rows(torch.cat([o.mean for o in outs]),
                                      torch.cat([o.logvar for o in outs]), row_index, n_rows)
        attention = (torch.stack([o.attention for o in outs]).mean(0)
                     if return_attention else None)
        return NetworkOutput(mean=mean, logvar=torch.log(variance), attention=attention)


def _architecture(network):
    """Return the config of ``network`` without its tokenizer recipe (members may differ)."""
    config = network.config.to_dict()
    config.pop("tokenizer", None)
    return config
