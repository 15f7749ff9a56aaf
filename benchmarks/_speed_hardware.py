"""How close does inference get to this CPU's matrix-multiply peak?

1. **Peak**: FLOP/s of a large ``torch.matmul`` (float32, ``--peak-size`` square, best of
   several runs) with the same number of threads, and the same in bfloat16.
2. **Network**: for the shipped models and the input sizes (Gaia XP: 343 pixels + 7
   colours, one row per spectrum; APOGEE: 8575 pixels, which the models read in random
   chunks of at most 512 pixels, 17 rows per spectrum; ``apogee-whole``: the same spectra
   read whole, one row per spectrum, as ``max_tokens=None``), the network's forward pass on
   pre-tokenised batches of 1 ... 1024 spectra, under `torch.inference_mode`. FLOPs are
   counted by `torch.utils.flop_counter.FlopCounterMode` on the same forward pass (matrix
   multiplies and attention; element-wise work is not counted, so the fraction is a
   lower bound). Variants: float32 (the default), bfloat16 autocast, and
   ``torch.compile`` (``--compile``; compile time excluded, reported separately; a
   failure is recorded with its error and the other variants are still measured).
   Each row also gives the FLOPs per spectrum and the **ceiling**: the rate at 100% of
   the float32 peak, ``peak / (FLOP per spectrum)``, which no implementation of this
   network on this CPU can pass; a speed target above it needs a smaller network.
3. **End to end**: `specfm.inference.Model.predict` on real example spectra at the best
   batch size, and the share of its time spent in the network, so that the gap between
   the two shows what tokenising costs.

Usage::

    python benchmarks/speed.py hardware                      # 2 threads, everything
    python benchmarks/speed.py hardware --threads 1 --batch 1 16 --models specfm-xp

Writes ``benchmarks/results/inference_speed.ecsv``, ``.rst`` and ``.png``.
"""

import argparse
import time

import _paths as where
import _through_api as api
import _writing as writer
from _timing import best_time, count_flops, matmul_peak

__all__ = ["main"]

SIZES = ("xp", "apogee", "apogee-whole")


def token_rows(model, size, n_spectra):
    """Tokenised rows of ``n_spectra`` example spectra (as Model.predict would make them)."""
    import _speed_shipped as st

    from specfm.tokens import TokenBatch, Tokenizer

    spectra, inputs, _ = st.make_inputs(model, size.split("-")[0], min(n_spectra, 64))
    config = model.inference_config(None if size == "apogee-whole" else "model")
    one = Tokenizer(config)(spectra, inputs=inputs, on_error="mask")
    reps = -(-n_spectra // one.n_spectra)
    batch = TokenBatch.concatenate([one] * reps) if reps > 1 else one
    rows_per_spectrum = one.n_rows / one.n_spectra
    n_rows = round(rows_per_spectrum * n_spectra)
    import torch

    return batch.select(torch.arange(n_rows)), rows_per_spectrum


def flops_of(network, tokens, queries):
    return float(count_flops(network, tokens, queries).get_total_flops())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["specfm-base", "specfm-xp"])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=SIZES)
    parser.add_argument("--batch", type=int, nargs="+",
                        default=[1, 4, 16, 64, 256, 1024])
    parser.add_argument("--apogee-max-batch", type=int, default=256,
                        help="largest APOGEE batch (17 rows per spectrum)")
    parser.add_argument("--apogee-whole-max-batch", type=int, default=16,
                        help="largest batch of whole APOGEE spectra (8575-token rows)")
    parser.add_argument("--peak-size", type=int, default=2048)
    parser.add_argument("--bf16-max-batch", type=int, default=16,
                        help="largest batch timed with bfloat16 autocast (slow on CPUs "
                             "without bfloat16 units)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--compile-batches", type=int, nargs="+", default=None,
                        help="batch sizes timed compiled (default: all; each new shape "
                             "compiles again, about a minute on two cores)")
    where.common_arguments(parser)
    args = parser.parse_args(argv)
    where.light_torch(args.threads)
    import torch
    from astropy.table import Table

    from specfm.model import Query

    peak32 = matmul_peak(args.peak_size, torch.float32)
    peak16 = matmul_peak(min(args.peak_size, 512), torch.bfloat16)  # slow on most CPUs
    print(f"matmul peak ({args.threads} threads): float32 {peak32 / 1e9:.1f} GFLOP/s, "
          f"bfloat16 {peak16 / 1e9:.1f} GFLOP/s", flush=True)
    rows, compile_errors = [], []
    for name in args.models:
        model = api.load_model(str(where.MODELS / name), name=name)
        net = model.network.eval()
        query = Query(labels=list(model.labels))
        variants = {"float32": net}
        if args.compile:
            t0 = time.perf_counter()
            compiled = torch.compile(net)
            variants["compiled"] = compiled
            compile_note = time.perf_counter() - t0
        for size in args.sizes:
            for batch in args.batch:
                if size.startswith("apogee") and batch > args.apogee_max_batch:
                    continue
                if size == "apogee-whole" and batch > args.apogee_whole_max_batch:
                    continue
                tokens, rps = token_rows(model, size, batch)
                queries = query.build(tokens.n_rows, model.vocabulary)
                flops = None  # counted after the timings (the counter's hooks cost time)
                extra = [("bfloat16", net)] if batch <= args.bf16_max_batch else []
                chosen = {k: v for k, v in variants.items() if k != "compiled"
                          or args.compile_batches is None or batch in args.compile_batches}
                for variant, fn_net in [*chosen.items(), *extra]:
                    def call(fn_net=fn_net, variant=variant, tokens=tokens, queries=queries):
                        with torch.inference_mode():
                            if variant == "bfloat16":
                                with torch.autocast("cpu", dtype=torch.bfloat16):
                                    return fn_net(tokens, queries)
                            return fn_net(tokens, queries)

                    t_compile = None
                    if variant == "compiled":
                        t0 = time.perf_counter()
                        try:
                            call()
                        except Exception as error:  # record why, keep measuring the rest
                            compile_errors.append(f"{type(error).__name__}: {error}"[:200])
                            print(f"torch.compile failed: {compile_errors[-1]}", flush=True)
                            continue
                        t_compile = time.perf_counter() - t0 + compile_note
                    seconds = best_time(call, repeats=3,
                                        min_time=0.2 if batch < 64 else 0.05)
                    if flops is None:
                        flops = flops_of(net, tokens, queries)
                    peak = peak32  # bfloat16 too: the float32 peak is the machine's best
                    row = {"model": name, "size": size, "batch": batch,
                           "rows_per_spectrum": rps, "tokens_per_row": tokens.n_tokens,
                           "variant": variant, "spectra_per_s": batch / seconds,
                           "gflop_per_spectrum": flops / batch / 1e9,
                           "gflops": flops / seconds / 1e9,
                           "fraction_of_peak": flops / seconds / peak,
                           "ceiling_spectra_per_s": peak / (flops / batch),
                           "compile_s": t_compile}
                    rows.append(row)
                    print(f"{name:12s} {size:6s} batch {batch:5d} {variant:9s} "
                          f"{row['spectra_per_s']:9.1f} spectra/s  {row['gflops']:6.1f} "
                          f"GFLOP/s = {100 * row['fraction_of_peak']:5.1f}% of peak",
                          flush=True)
    # end to end through Model.predict, at the best float32 batch of each size
    import _speed_shipped as st

    e2e = []
    for name in args.models:
        model = api.load_model(str(where.MODELS / name), name=name)
        for size in args.sizes:
            whole = size == "apogee-whole"
            cand = [r for r in rows if r["model"] == name and r["size"] == size
                    and r["variant"] == "float32"]
            best = max(cand, key=lambda r: r["spectra_per_s"])
            n = 256 if size == "xp" else 32
            spectra, inputs, _ = st.make_inputs(model, size.split("-")[0], n)
            bs = min(best["batch"], 64)
            seconds = best_time(lambda model=model, spectra=spectra, inputs=inputs, bs=bs,
                                whole=whole:
                                api.predict(model, spectra, list(model.labels), inputs=inputs,
                                            batch_size=bs,
                                            **({"max_tokens": None} if whole else {})),
                                repeats=2, min_time=0.0)
            e2e.append({"model": name, "size": size, "batch": bs,
                        "predict_spectra_per_s": n / seconds,
                        "network_spectra_per_s": best["spectra_per_s"],
                        "network_share": (n / best["spectra_per_s"]) / seconds})
            print(f"end to end {name:12s} {size:6s}: {n / seconds:8.1f} spectra/s through "
                  f"Model.predict (batch {bs}); network alone {best['spectra_per_s']:8.1f}; "
                  f"network share {100 * e2e[-1]['network_share']:.0f}%", flush=True)
    table = Table(rows=rows)
    for col in ("spectra_per_s", "gflop_per_spectrum", "gflops", "fraction_of_peak",
                "rows_per_spectrum", "ceiling_spectra_per_s"):
        table[col].info.format = ".3g"
    table.meta.update(writer.run_metadata(
        models={n: where.MODELS / n for n in args.models}, threads=args.threads,
        matmul_peak_float32_gflops=peak32 / 1e9, matmul_peak_bfloat16_gflops=peak16 / 1e9,
        peak_size=args.peak_size, end_to_end=e2e, compile_errors=compile_errors))
    cells = [(r["model"], r["size"], str(r["batch"]), r["variant"],
              f"{r['spectra_per_s']:.1f}", f"{r['gflops']:.1f}",
              f"{100 * r['fraction_of_peak']:.1f}%", f"{r['gflop_per_spectrum']:.3f}",
              f"{r['ceiling_spectra_per_s']:.0f}") for r in table]
    notes = [f"Matmul peak ({args.threads} torch threads): float32 {peak32 / 1e9:.1f} GFLOP/s "
             f"({args.peak_size}x{args.peak_size}), bfloat16 {peak16 / 1e9:.1f} GFLOP/s "
             f"({min(args.peak_size, 512)}x{min(args.peak_size, 512)}). "
             "Fractions are of the float32 peak"
             + (" (the machine's best: bfloat16 matmul is slower on this CPU)"
                if peak16 <= peak32 else
                f" (bfloat16 matmul is {peak16 / peak32:.1f} times faster on this CPU, so "
                "bfloat16 rows can exceed 100%)")
             + ". FLOPs: matrix multiplies and attention, as torch.utils.flop_counter counts "
             "them. Ceiling: spectra/s at 100% of the float32 peak (peak / GFLOP per "
             "spectrum), which no implementation of this network on this CPU can pass."]
    if compile_errors:
        notes.append(f"torch.compile failed ({len(compile_errors)} times), e.g. "
                     f"{compile_errors[0]}")
    notes += [f"End to end ({e['model']}, {e['size']}): {e['predict_spectra_per_s']:.1f} "
              f"spectra/s through Model.predict at batch {e['batch']}, of which the network "
              f"takes {100 * e['network_share']:.0f}% of the time." for e in e2e]
    writer.write_results(table, "inference_speed", args.output_dir,
                         f"Network forward pass on {args.threads} CPU threads, against the "
                         "matmul peak", ("Model", "Input", "Batch", "Variant", "Spectra/s",
                                         "GFLOP/s", "Of peak", "GFLOP/spectrum",
                                         "Ceiling [spectra/s]"), cells, notes=notes)
    return table


if __name__ == "__main__":
    main()
