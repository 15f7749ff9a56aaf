"""Where the network's FLOPs go: per stage, per spectrum, for each shipped model and input.

The forward pass of ``speed.py hardware`` (the same pre-tokenised rows: Gaia XP, 343
pixels and 7 colours, one row per spectrum; APOGEE in 512-pixel chunks, 17 rows; APOGEE
whole, one row of 8575 pixels), with `torch.utils.flop_counter.FlopCounterMode` counting
by module: the token embedding, the cross-attention from pixels to latents, the latent
self-attention layers, the query decoder and the output head. A stage that does not
shrink with the input (the latent layers) bounds how fast any input can be read: the
*Ceiling* column is the rate at 100% of the float32 matmul peak, and *Ceiling without the
latent layers* what it would be if they cost nothing.

No timing: it runs in seconds and does not need an idle machine.

Usage::

    python benchmarks/speed.py flops
    python benchmarks/speed.py flops --batch 64 --models specfm-xp

Writes ``benchmarks/results/flop_breakdown.ecsv`` and ``.rst``.
"""

import argparse

import _paths as where
import _through_api as api
import _writing as writer
from _speed_hardware import SIZES, token_rows
from _timing import count_flops, matmul_peak

__all__ = ["STAGES", "main", "stage_flops"]

STAGES = {
    "embedding": "embed",
    "cross-attention": "encoder.cross",
    "latent layers": "encoder.layers",
    "decoder": "decoder",
    "head": "head",
}
"""Stage name -> the submodule of `~specfm.model.SpecFMNetwork` whose FLOPs it counts."""


def _column(stage):
    """The results column of a stage's GFLOP per spectrum."""
    return "gflop_" + stage.replace(" ", "_").replace("-", "_")


def stage_flops(network, tokens, queries):
    """Return ``{stage: FLOPs}`` and the total of one forward pass (see `STAGES`)."""
    counter = count_flops(network, tokens, queries)
    counts = counter.get_flop_counts()
    prefix = type(network).__name__
    by_stage = {}
    for stage, module in STAGES.items():
        full = f"{prefix}.{module}"
        # a module, or the members of a ModuleList (which is never called itself)
        keys = [k for k in counts if k == full
                or (k.startswith(full + ".") and k[len(full) + 1:].isdigit())]
        by_stage[stage] = float(sum(sum(counts[k].values()) for k in keys))
    return by_stage, float(counter.get_total_flops())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["specfm-base", "specfm-xp"])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=SIZES)
    parser.add_argument("--batch", type=int, default=16,
                        help="spectra per forward pass (default 16)")
    parser.add_argument("--peak-size", type=int, default=2048)
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    where.light_torch(args.threads)
    import torch
    from astropy.table import Table

    from specfm.model import Query

    peak = matmul_peak(args.peak_size, torch.float32)
    rows = []
    for name in args.models:
        model = api.load_model(str(where.MODELS / name), name=name)
        net = model.network.eval()
        query = Query(labels=list(model.labels))
        for size in args.sizes:
            tokens, _ = token_rows(model, size, args.batch)
            queries = query.build(tokens.n_rows, model.vocabulary)
            by_stage, total = stage_flops(net, tokens, queries)
            per = {stage: f / args.batch / 1e9 for stage, f in by_stage.items()}
            gflop = total / args.batch / 1e9
            rest = gflop - per["latent layers"]
            rows.append({"model": name, "size": size, "batch": args.batch,
                         **{_column(s): v for s, v in per.items()},
                         "gflop_per_spectrum": gflop,
                         "latent_fraction": per["latent layers"] / gflop,
                         "ceiling_spectra_per_s": peak / 1e9 / gflop,
                         "ceiling_without_latents": peak / 1e9 / rest})
            print(f"{name:12s} {size:13s} {gflop:.3f} GFLOP/spectrum, latent layers "
                  f"{rows[-1]['latent_fraction']:.0%}", flush=True)
    table = Table(rows=rows)
    for col in table.colnames[3:]:
        table[col].info.format = ".4g"
    table.meta.update(writer.run_metadata(
        models={m: where.MODELS / m for m in args.models}, batch=args.batch,
        threads=args.threads, matmul_peak_float32_gflops=peak / 1e9))
    stages = list(STAGES)
    cells = [(r["model"], r["size"],
              *(f"{r[_column(s)]:.4f}" for s in stages),
              f"{r['gflop_per_spectrum']:.3f}", f"{r['latent_fraction']:.0%}",
              f"{r['ceiling_spectra_per_s']:.0f}", f"{r['ceiling_without_latents']:.0f}")
             for r in rows]
    writer.write_results(
        table, "flop_breakdown", args.output_dir,
        f"GFLOP per spectrum by stage of the network (batch {args.batch})",
        ("Model", "Input", *(s.capitalize() for s in stages), "Total", "Latent share",
         "Ceiling [spectra/s]", "Ceiling without the latent layers"), cells,
        notes=(f"FLOPs: matrix multiplies and attention, as torch.utils.flop_counter counts "
               f"them, per module. Ceilings: spectra/s at 100% of the float32 matmul peak "
               f"of this run ({peak / 1e9:.1f} GFLOP/s, {args.threads} threads).",))
    return 0
