"""Seconds per training step of a pre-training run, for its network and grown ones.

What a larger network costs in training decides how many sessions its run takes. For one
training configuration (its objective, batch size and optimiser) and a starting model,
each variant (the model as it is, or grown by `specfm.model.grow_network`) trains in a
fresh process on the configuration's cached validation rows: ``--warmup`` steps, then
``--steps`` timed steps (`specfm.training.Trainer.fit`, no checkpoints, no validation).
``--precision`` also times each variant with bfloat16 autocast (`TrainerConfig.precision`),
faster only on CPUs with bfloat16 units. Reported: weights, milliseconds per step, steps
per second and steps in a 150-minute session. Run it on an idle machine: another job on
the same cores only adds time.

Usage::

    python benchmarks/speed.py training --grow none width=256 n_latents=128 \\
        n_latent_layers=6 width=256,n_latents=128
    python benchmarks/speed.py training --grow none width=256 --precision float32 bfloat16

Writes ``benchmarks/results/training_speed.ecsv`` and ``.rst``.
"""

import argparse
import json
import pathlib

import _paths as where
import _writing as writer
from _timing import run_fresh

__all__ = ["main", "parse_growth"]

SESSION_MINUTES = 150


def parse_growth(text):
    """``"width=256,n_latents=128"`` -> ``{"width": 256, "n_latents": 128}``; ``"none"`` -> {}."""
    if text == "none":
        return {}
    out = {}
    for part in text.split(","):
        key, _, value = part.partition("=")
        if not value:
            raise ValueError(f"{part!r}: give KEY=VALUE (e.g. width=256) or none")
        out[key.strip()] = float(value) if key.strip() == "jitter" else int(value)
    return out


def _worker(args):
    import time

    import torch
    from validation_loss import cached_rows, quiet_settings

    from specfm.model import grow_network, load_model
    from specfm.training import Trainer
    from specfm.training.from_config import training_objective

    torch.set_num_threads(args.threads)
    config, rows, _ = cached_rows(args.config)
    network = load_model(args.model)
    growth = parse_growth(args.grow)
    if growth:
        network = grow_network(network, jitter=1e-3, **growth)
    settings = quiet_settings(config, precision=args.precision[0])
    trainer = Trainer(network, rows, None, training_objective(config), settings)
    trainer.fit(stop_after=args.warmup)
    t0 = time.perf_counter()
    trainer.fit(stop_after=args.warmup + args.steps)
    seconds = (time.perf_counter() - t0) / args.steps
    print(json.dumps({"grow": args.grow, "precision": settings.precision,
                      "d_model": network.config.d_model,
                      "n_heads": network.config.n_heads, "n_latents": network.config.n_latents,
                      "n_latent_layers": network.config.n_latent_layers,
                      "n_parameters": network.n_parameters(), "ms_per_step": 1000 * seconds,
                      "batch_size": settings.batch_size}))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="speed.py training", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(where.ROOT / "configs" / "specfm-base-v5.toml"),
                        help="training configuration (its data cache must exist)")
    parser.add_argument("--model", default=str(where.MODELS / "specfm-base"),
                        help="the model to start from (default: the shipped base)")
    parser.add_argument("--grow", nargs="+", default=["none", "width=256", "n_latents=128",
                                                      "n_latent_layers=6"],
                        help="variants: none, or KEY=VALUE[,KEY=VALUE] of grow_network")
    parser.add_argument("--steps", type=int, default=40, help="timed steps per variant")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--precision", nargs="+", choices=("float32", "bfloat16"),
                        default=["float32"], help="time each variant in these (default: "
                                                  "float32)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    if args.worker:
        args.grow = args.grow[0]
        return _worker(args)
    for spec in args.grow:
        parse_growth(spec)  # refuse a bad variant before any run
    from astropy.table import Table

    rows = []
    for spec in args.grow:
        for precision in args.precision:
            row = run_fresh(__file__, ["--config", args.config, "--model", args.model,
                                       "--grow", spec, "--steps", str(args.steps), "--warmup",
                                       str(args.warmup), "--threads", str(args.threads),
                                       "--precision", precision],
                            args.threads, f"{spec} {precision}")
            row["steps_per_s"] = 1000 / row["ms_per_step"]
            row["steps_per_session"] = row["steps_per_s"] * 60 * SESSION_MINUTES
            rows.append(row)
            print(f"{spec:28s} {precision:8s} {row['n_parameters'] / 1e6:5.2f} M weights  "
                  f"{row['ms_per_step']:7.1f} ms/step", flush=True)
    table = Table(rows=rows)
    table.meta.update(writer.run_metadata(models={"start": args.model}, config=args.config,
                                          threads=args.threads, steps=args.steps))
    writer.write_results(
        table, "training_speed", args.output_dir,
        f"Training steps of {pathlib.Path(args.config).name} on {args.threads} CPU threads, "
        "from the shipped base and grown ones",
        ("Network", "d_model / heads / latents / layers", "Weights [M]", "Precision", "ms/step",
         "Steps/s", f"Steps per {SESSION_MINUTES} min"),
        [(r["grow"] if r["grow"] != "none" else "as it is",
          f"{r['d_model']} / {r['n_heads']} / {r['n_latents']} / {r['n_latent_layers']}",
          f"{r['n_parameters'] / 1e6:.2f}", r["precision"],
          f"{r['ms_per_step']:.0f}", f"{r['steps_per_s']:.2f}", f"{r['steps_per_session']:,.0f}")
         for r in rows],
        notes=(f"Each variant in a fresh process: {args.warmup} untimed steps, then "
               f"{args.steps} timed (specfm.training.Trainer.fit, batch "
               f"{rows[0]['batch_size']}, no checkpoints) on the configuration's cached "
               "validation rows; grown networks from specfm.model.grow_network (jitter "
               "1e-3).",))
    return table


if __name__ == "__main__":
    main()
