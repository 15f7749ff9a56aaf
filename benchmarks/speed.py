"""Speed of specfm, one script with a mode per question; each mode writes its own table.

================  ==================================================  ========================
mode              what it times                                       results (``results/``)
================  ==================================================  ========================
``hardware``      the network's forward pass against this CPU's       ``inference_speed``
                  matrix-multiply peak (float32, bfloat16 autocast,
                  ``torch.compile``), and ``Model.predict`` end to end
``architecture``  an untrained network of a given size by pixel       ``model_throughput``
                  count, one pass against 512-pixel chunks, with
                  peak memory (a fresh process per configuration)
``shipped``       the shipped models through ``Model.predict``, by    ``shipped_throughput``
                  input and batch size, with peak memory
``survey``        ``specfm.predict_files`` over real apStar files,    ``survey_throughput``
                  profiled by stage, alone and on Dask
``xp-table``      a survey-sized Gaia XP sampled FITS table with      ``xp_table_throughput``
                  colours through ``specfm.predict_files``: rate and
                  peak memory by table size, against
                  ``Model.predict`` in memory
``flops``         the network's FLOPs per spectrum by stage           ``flop_breakdown``
                  (embedding, cross-attention, latent layers,
                  decoder, head) and the ceilings they set
``precision``     labels with bfloat16 autocast against float32       ``precision_agreement``
                  (real Gaia XP, synthetic APOGEE; no timing)
``render``        synthetic spectra rendered per second per           ``synth_render_speed``
                  instrument and emulator (``specfm.synth``)
``training``      seconds per training step of a pre-training run,    ``training_speed``
                  for its network and grown ones
                  (``specfm.model.grow_network``)
``peak``          the matrix-multiply peak alone, float32 and         (printed)
                  bfloat16
================  ==================================================  ========================

Usage::

    python benchmarks/speed.py MODE [options of that mode]
    python benchmarks/speed.py hardware --threads 2 --compile
    python benchmarks/speed.py MODE --help

Times are the fastest of repeated runs (as `timeit`; on a shared machine other jobs only
ever add time). The code of each mode is in ``benchmarks/_speed_<mode>.py``; the timing
helpers they share are in ``benchmarks/_timing.py``.
"""

import argparse
import importlib
import sys

__all__ = ["MODES", "main"]

MODES = {
    "hardware": "_speed_hardware",
    "architecture": "_speed_architecture",
    "shipped": "_speed_shipped",
    "survey": "_speed_survey",
    "xp-table": "_speed_xp_table",
    "render": "_speed_render",
    "flops": "_speed_flops",
    "precision": "_speed_precision",
    "training": "_speed_training",
}


def peak(argv):
    """Print the float32 and bfloat16 matmul peak of this CPU (``--threads``, ``--size``)."""
    import torch
    from _timing import matmul_peak

    parser = argparse.ArgumentParser(prog="speed.py peak", description=peak.__doc__)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--size", type=int, default=2048, help="square matrix size")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    for dtype in (torch.float32, torch.bfloat16):
        print(f"{str(dtype).split('.')[-1]:9s} {matmul_peak(args.size, dtype) / 1e9:8.1f} "
              f"GFLOP/s on {args.threads} threads")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in (*MODES, "peak"):
        print(__doc__)
        if argv and argv[0] not in ("-h", "--help"):
            print(f"speed.py: unknown mode {argv[0]!r}; choose one of "
                  f"{', '.join((*MODES, 'peak'))}.", file=sys.stderr)
            return 2
        return 0
    mode, rest = argv[0], argv[1:]
    if mode == "peak":
        return peak(rest)
    return importlib.import_module(MODES[mode]).main(rest)


if __name__ == "__main__":
    result = main()
    sys.exit(result if isinstance(result, int) else 0)
