"""Freed memory given back to the system during long runs (`specfm.inference.memory`)."""

import numpy as np
import pytest

from specfm.inference import memory


def _resident_anonymous_mb():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    pytest.skip("no RssAnon in /proc/self/status")


@pytest.mark.skipif(memory._malloc_trim() is None, reason="no glibc malloc_trim here")
def test_freed_fragmented_memory_goes_back_to_the_system():
    # 2,000 blocks of 96 kB (below malloc's mmap threshold: they live in its heap), every
    # other one freed: the free half cannot be returned by shrinking the heap's top, and
    # stays resident until malloc_trim releases its pages
    memory.release_freed_memory()
    blocks = [np.ones(12_000) for _ in range(2000)]
    del blocks[::2]
    freed_mb = 1000 * 96_000 / 2**20
    before = _resident_anonymous_mb()
    assert memory.release_freed_memory() is True
    after = _resident_anonymous_mb()
    assert before - after > 0.5 * freed_mb, (before, after, freed_mb)
    assert all(float(b[-1]) == 1.0 for b in blocks)  # what is held is untouched


def test_release_does_nothing_without_malloc_trim(monkeypatch):
    monkeypatch.setattr(memory, "_malloc_trim", lambda: None)
    assert memory.release_freed_memory() is False


def test_releases_are_spaced_by_the_interval(monkeypatch):
    calls = []
    monkeypatch.setattr(memory, "release_freed_memory", lambda: calls.append(1))
    monkeypatch.setattr(memory, "_last_release", [float("-inf")])
    assert memory.release_now_and_then(interval=3600) is True  # the first always releases
    assert memory.release_now_and_then(interval=3600) is False
    assert memory.release_now_and_then(interval=0) is True
    assert len(calls) == 2
