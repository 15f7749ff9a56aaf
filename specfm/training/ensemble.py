"""Combine separately trained model folders into one ensemble model (``specfm ensemble``).

The members are trained by ordinary runs (e.g. one configuration with different
``[trainer] seed``); `build_ensemble` loads them, checks they fit together, and records
each member's provenance and sha256 in the ensemble's own provenance, so the combined
model says exactly which weights it holds and how each was made.
"""

import datetime
import pathlib

from ..exceptions import SpecfmInputError
from ..model import EnsembleNetwork, load_model

__all__ = ["build_ensemble", "ensemble_provenance"]

# provenance fields that describe what a model reads and predicts: taken from the first
# member (the members were trained on the same data, so these agree)
_SHARED_FIELDS = ("outputs", "sampling", "credits", "training_data", "parent")


def ensemble_provenance(members, description=None, sources=None):
    """Return the provenance of an ensemble of ``members`` (loaded networks).

    Parameters
    ----------
    members : list of `~specfm.model.SpecFMNetwork`
        The member networks, with ``metadata`` as `~specfm.model.load_model` sets it.
    description : str, optional
        What the ensemble is (default: names the number of members and the first
        member's description).
    sources : list of str, optional
        Where each member was loaded from.

    Returns
    -------
    dict
        ``outputs``, ``sampling``, ``credits``, ``training_data`` and ``parent`` of the
        first member; ``label_ranges`` spanning all members'; ``ensemble`` (count and
        rule); ``members``: each member's sha256, source and full provenance.

    """
    provs = [dict(m.metadata.get("provenance", {})) for m in members]
    first = provs[0]
    out = {
        "created": datetime.datetime.now(datetime.UTC).isoformat(),
        "description": description or (
            f"Ensemble of {len(members)} networks (equal-weight Gaussian mixture); first "
            f"member: {first.get('description', 'no description')}"),
    }
    out.update((k, first[k]) for k in _SHARED_FIELDS if k in first)
    ranges = {}
    for prov in provs:
        for name, (lo, hi) in (prov.get("label_ranges") or {}).items():
            old = ranges.get(name, [lo, hi])
            ranges[name] = [min(old[0], lo), max(old[1], hi)]
    if ranges:
        out["label_ranges"] = ranges
    out["ensemble"] = {
        "n_members": len(members),
        "combination": "equal-weight mixture: mean of the members' means; variance = mean "
                       "of their variances + variance of their means",
    }
    sources = list(sources) if sources is not None else [None] * len(members)
    out["members"] = [
        {"sha256": m.metadata.get("sha256"), "source": src, "provenance": prov}
        for m, src, prov in zip(members, sources, provs, strict=True)]
    return out


def build_ensemble(paths, description=None, map_location="cpu"):
    """Load model folders and combine them into one `~specfm.model.EnsembleNetwork`.

    Parameters
    ----------
    paths : list of str or path-like
        Two or more model folders (or ``.zip`` archives) of one architecture.
    description : str, optional
        Description for the ensemble's provenance.
    map_location : str or torch.device
        Device for the weights.

    Returns
    -------
    `~specfm.model.EnsembleNetwork`
        With ``metadata["provenance"]`` from `ensemble_provenance`.

    Raises
    ------
    SpecfmInputError
        With fewer than two paths, a path given twice, a member that is itself an
        ensemble, or members that do not fit together.

    """
    paths = [pathlib.Path(p) for p in paths]
    if len({p.resolve() for p in paths}) != len(paths):
        raise SpecfmInputError("A model folder is given more than once; give each member once.")
    members = [load_model(p, map_location=map_location) for p in paths]
    nested = [str(p) for p, m in zip(paths, members, strict=True)
              if isinstance(m, EnsembleNetwork)]
    if nested:
        raise SpecfmInputError(
            f"{', '.join(nested)} already hold ensembles; give their member folders instead.")
    shas = [m.metadata.get("sha256") for m in members]
    if len(set(shas)) != len(shas):
        raise SpecfmInputError("Two of the model folders hold identical weights (same sha256);"
                               " an ensemble needs different members.")
    ensemble = EnsembleNetwork(members)
    ensemble.metadata = {"provenance": ensemble_provenance(
        members, description, [str(p) for p in paths])}
    return ensemble.eval()
