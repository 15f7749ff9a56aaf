"""How far have the copies of a grown network parted?

`specfm.model.grow_network` makes a wider network, or one with more latents, by storing
each vector, head and latent several times over; training can only use the added room
once the copies differ. For each model folder or training checkpoint given, this script
compares the copies: for every linear layer whose outputs were doubled, its two halves of
rows (each row summed over the copies of its inputs, so that random input shares do not
count as parting), and the two halves of the latent array. It reports the relative
difference ``|first - second| / |first|``: the jitter of the growth gives about 1e-3 at
the start; copies that learn apart move towards the size of the weights' own changes.

Usage::

    python benchmarks/grown_copies.py runs/experiments/grow-latents128/model \\
        runs/experiments/grow-width256-split/checkpoints/step_00001000 \\
        --names latents128 "width256-split at step 1000" --output-dir benchmarks/results/grow

Writes ``grown_copies.ecsv`` and ``.rst``.
"""

import argparse
import pathlib

import _paths as where
import _writing as writer
import numpy as np

__all__ = ["copy_differences", "main", "read_weights"]


def read_weights(path):
    """The network's tensors (``{name: tensor}``) of a model folder or a checkpoint."""
    from specfm.model import load_model
    from specfm.training.checkpoint import model_state, read_checkpoint

    path = pathlib.Path(path)
    if (path / "state.json").is_file():
        tensors, _ = read_checkpoint(path)
        return model_state(tensors)
    return load_model(path).state_dict()


def _relative(first, second):
    norm = float(np.linalg.norm(first))
    return float(np.linalg.norm(first - second)) / norm if norm else np.nan


def copy_differences(weights, old_width, old_latents):
    """Relative differences of the copies in ``weights`` (a network's tensors).

    Parameters
    ----------
    weights : dict
        ``{name: tensor}`` of a grown network.
    old_width, old_latents : int
        ``d_model`` and ``n_latents`` of the network it grew from.

    Returns
    -------
    dict
        ``linear_median`` and ``linear_max`` over the linear layers whose rows were
        doubled (NaN if the width did not double), ``n_linear`` their number,
        ``cross_q`` that of the encoder's cross-attention queries, and ``latents`` that
        of the latent array (NaN if it did not double).
    """
    linear = []
    cross_q = np.nan
    latents = [t for n, t in weights.items() if n.endswith("encoder.latents")]
    width = int(latents[0].shape[-1]) if latents else old_width
    for name, tensor in weights.items():
        if width != 2 * old_width:
            break  # the width did not double: no linear layer holds copies
        w = np.asarray(tensor.detach().cpu().double())
        if not name.endswith(".weight") or w.ndim != 2 or w.shape[0] % 2:
            continue
        rows, cols = w.shape
        # doubled rows: a multiple of the old width (a projection or a feed-forward layer)
        if rows % (2 * old_width) or rows // 2 < old_width:
            continue
        if cols % old_width == 0 and cols > old_width and cols // old_width % 2 == 0:
            w = w[:, :cols // 2] + w[:, cols // 2:]  # each row summed over its input copies
        value = _relative(w[:rows // 2], w[rows // 2:])
        linear.append(value)
        if name.endswith("encoder.cross.attn.q.weight"):
            cross_q = value
    out = {"n_linear": len(linear),
           "linear_median": float(np.median(linear)) if linear else np.nan,
           "linear_max": float(np.max(linear)) if linear else np.nan,
           "cross_q": cross_q, "latents": np.nan}
    if latents:
        z = np.asarray(latents[0].detach().cpu().double()).reshape(-1, latents[0].shape[-1])
        if z.shape[0] == 2 * old_latents:
            out["latents"] = _relative(z[:old_latents], z[old_latents:])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="model folders or checkpoint folders")
    parser.add_argument("--names", nargs="+", default=None, help="a name for each path")
    parser.add_argument("--old-width", type=int, default=128,
                        help="d_model of the network they grew from (default: the base's)")
    parser.add_argument("--old-latents", type=int, default=64,
                        help="n_latents of the network they grew from (default: the base's)")
    parser.add_argument("--output-dir", default=str(where.RESULTS / "grow"))
    args = parser.parse_args(argv)
    names = args.names or args.paths
    if len(names) != len(args.paths):
        parser.error("give one name for each path")
    from astropy.table import Table

    rows = []
    for name, path in zip(names, args.paths, strict=True):
        out = copy_differences(read_weights(path), args.old_width, args.old_latents)
        rows.append({"name": name, "path": str(path), **out})
        print(f"{name}: linear layers {out['linear_median']:.4f} (median of "
              f"{out['n_linear']}), cross-attention queries {out['cross_q']:.4f}, latents "
              f"{out['latents']:.4f}", flush=True)
    table = Table(rows=rows)
    table.meta.update(writer.run_metadata(old_width=args.old_width,
                                          old_latents=args.old_latents))
    cells = [(r["name"], str(r["n_linear"]), writer.fmt(r["linear_median"], ".4f"),
              writer.fmt(r["linear_max"], ".4f"), writer.fmt(r["cross_q"], ".4f"),
              writer.fmt(r["latents"], ".4f")) for r in rows]
    writer.write_results(
        table, "grown_copies", args.output_dir,
        "How far the copies of grown networks have parted: relative difference of the "
        "two copies",
        ("Network", "Doubled layers", "Median", "Largest", "Cross-attention queries",
         "Latents"), cells,
        notes=("Doubled layers: the linear layers whose rows were doubled by the growth; "
               "each row is summed over the copies of its inputs first, so that random "
               "input shares (split = 'random') do not count as parting. Latents: the two "
               "halves of the latent array. Relative difference: the norm of the first copy "
               "less the second over the norm of the first; a jitter of 1e-3 gives about "
               "0.001 at the start.",))
    return table


if __name__ == "__main__":
    main()
