"""Giving freed memory back to the operating system during long runs: `release_freed_memory`.

On Linux with the GNU C library, memory that a process frees is kept by ``malloc`` for
reuse rather than returned to the system, and the network's many short-lived arrays of
varying size fragment it: over a survey-sized prediction the resident size then grows with
the number of spectra read although nothing is kept (0.9 kB per Gaia XP spectrum with
``specfm-xp`` in ``benchmarks/speed.py xp-table`` before this module existed).
`~specfm.inference.one_file.predict_file` calls `release_now_and_then`
after each piece of a file it predicts (a file read whole is one piece), so that the
run's memory stays flat; the interval keeps the cost of it (milliseconds a call) a small
share of a run of many small files.
"""

import ctypes
import ctypes.util
import functools
import sys
import time

__all__ = ["RELEASE_INTERVAL", "release_freed_memory", "release_now_and_then"]

RELEASE_INTERVAL = 2.0
"""Seconds between the calls of `release_freed_memory` that `release_now_and_then` makes."""

_last_release = [float("-inf")]  # time.monotonic() of the last release in this process


@functools.cache
def _malloc_trim():
    """Return glibc's ``malloc_trim``, or None where there is none (macOS, Windows, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_freed_memory():
    """Return memory that this process has freed to the operating system, where possible.

    Calls the GNU C library's ``malloc_trim(0)``, which releases the free pages of every
    ``malloc`` arena; it takes a few milliseconds and changes nothing that the process
    holds. Elsewhere (macOS, Windows, other C libraries) it does nothing.

    Returns
    -------
    bool
        True if memory was returned, False if none could be (nothing free to return, or
        no ``malloc_trim`` on this system).

    """
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False


def release_now_and_then(interval=RELEASE_INTERVAL):
    """Call `release_freed_memory` if ``interval`` seconds have passed since the last call.

    Parameters
    ----------
    interval : float
        Seconds; the first call in a process always releases.

    Returns
    -------
    bool
        Whether `release_freed_memory` was called this time (not whether it returned
        memory).

    """
    now = time.monotonic()
    if now - _last_release[0] < interval:
        return False
    release_freed_memory()
    _last_release[0] = time.monotonic()
    return True
