"""The output head: one Gaussian (mean and log-variance) per query token."""

import math

import torch
from torch import nn

__all__ = ["GaussianHead"]


class GaussianHead(nn.Module):
    """Map query vectors to a mean and a bounded log-variance.

    Parameters
    ----------
    d_model : int
        Input width.
    logvar_min, logvar_max : float
        The log-variance is squashed smoothly into this interval, which keeps the Gaussian
        negative log-likelihood finite early in training.

    Examples
    --------
    >>> import torch
    >>> from specfm.model import GaussianHead
    >>> mean, logvar = GaussianHead(8)(torch.zeros(2, 3, 8))
    >>> mean.shape, bool((logvar >= -16).all())
    (torch.Size([2, 3]), True)

    """

    def __init__(self, d_model, logvar_min=-16.0, logvar_max=8.0):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, d_model), nn.GELU(),
                                 nn.Linear(d_model, 2))
        self.logvar_min = float(logvar_min)
        self.logvar_max = float(logvar_max)
        # start near logvar = 0 (unit variance in scaled units), or mid-range
        p = -self.logvar_min / (self.logvar_max - self.logvar_min)
        p = min(max(p, 0.05), 0.95)
        self.raw_offset = math.log(p / (1 - p))

    def forward(self, x):
        """Return ``(mean, logvar)``, each of shape ``x.shape[:-1]``.

        Always in float32, also under a bfloat16 autocast: a bfloat16 mean would be
        rounded to 3 significant digits (about 10 K in Teff), and the head costs little.
        """
        with torch.autocast(x.device.type, enabled=False):
            mean, raw = self.net(x.float()).unbind(-1)
        span = self.logvar_max - self.logvar_min
        logvar = self.logvar_min + span * torch.sigmoid(raw + self.raw_offset)
        return mean, logvar
