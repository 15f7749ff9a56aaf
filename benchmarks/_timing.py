"""How the speed modes time things (``benchmarks/speed.py``): the fastest of repeated runs,
the matrix-multiply peak of this CPU, and a fresh Python process per configuration so that
its peak memory is its own."""

import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
from _paths import ROOT

__all__ = ["best_time", "count_flops", "matmul_peak", "peak_rss_mb", "run_fresh", "timed_runs"]


def best_time(fn, repeats=3, min_time=0.3):
    """Fastest per-call wall time of ``fn`` (each timing loops until ``min_time``)."""
    fn()  # warm-up
    best = np.inf
    for _ in range(repeats):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            elapsed = time.perf_counter() - t0
            if elapsed >= min_time:
                break
        best = min(best, elapsed / n)
    return best


def matmul_peak(size, dtype):
    """FLOP/s of a ``size`` x ``size`` ``torch.matmul`` in ``dtype`` (best of five)."""
    import torch

    a = torch.randn(size, size, dtype=dtype)
    b = torch.randn(size, size, dtype=dtype)
    seconds = best_time(lambda: torch.matmul(a, b), repeats=5)
    return 2.0 * size**3 / seconds


def count_flops(network, tokens, queries):
    """Run one forward pass under a FLOP counter and return the counter.

    Not under ``inference_mode``: the counter's module hooks need autograd.
    """
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        network(tokens, queries)
    return counter


def timed_runs(run, repeats):
    """``(wall, cpu)`` seconds of the fastest of ``repeats`` calls of ``run`` (as `timeit`:
    on a shared machine other jobs only ever add time); no warm-up, call it first."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return float(np.min(walls)), float(np.min(cpus))


def peak_rss_mb():
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_fresh(script, arguments, threads, what):
    """Run ``script --worker ARGUMENTS`` in a fresh Python process; return the JSON dict
    that it prints last.

    The process gets ``threads`` OpenMP threads, waiting passively (on a shared machine,
    spinning threads waste the CPU that a descheduled sibling thread needs, which
    multiplies times erratically), and the repository on its path.
    """
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=path,
               OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))
    out = subprocess.run([sys.executable, str(script), "--worker", *arguments],
                         capture_output=True, text=True, env=env)
    if out.returncode:
        raise RuntimeError(f"worker {what} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])
