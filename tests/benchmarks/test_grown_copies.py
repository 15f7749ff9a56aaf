"""``benchmarks/grown_copies.py``: how far the copies of a grown network have parted."""

import numpy as np
import pytest
import torch

from specfm.model import grow_network, save_model

from ..conftest import benchmark_modules
from ..model.toy import tiny_network


@pytest.fixture(scope="module")
def copies():
    with benchmark_modules("grown_copies") as (module,):
        yield module


def test_exact_copies_do_not_differ_and_parted_ones_do(copies):
    net = tiny_network()  # d_model 24, 8 latents
    exact = copies.copy_differences(grow_network(net, width=48, n_latents=16).state_dict(),
                                    24, 8)
    assert exact["n_linear"] > 5
    assert exact["linear_median"] == exact["linear_max"] == exact["cross_q"] == 0
    assert exact["latents"] == 0
    # random input shares alone are not parting: each row is summed over its input copies
    shared = copies.copy_differences(
        grow_network(net, width=48, split="random").state_dict(), 24, 8)
    assert shared["linear_max"] < 1e-6
    jittered = grow_network(net, width=48, n_latents=16, jitter=1e-2, seed=1).state_dict()
    out = copies.copy_differences(jittered, 24, 8)
    assert 1e-3 < out["linear_median"] < 0.1 and 1e-3 < out["latents"] < 0.1
    with torch.no_grad():
        jittered["encoder.latents"][..., 8:, :] += 1.0  # the second copies moved
    assert copies.copy_differences(jittered, 24, 8)["latents"] > out["latents"]


def test_an_ungrown_width_has_no_copies_to_compare(copies):
    net = grow_network(tiny_network(), n_latents=16)
    out = copies.copy_differences(net.state_dict(), 24, 8)
    assert out["n_linear"] == 0 and np.isnan(out["linear_median"])
    assert out["latents"] == 0


def test_the_script_reads_model_folders_and_writes_a_table(copies, tmp_path):
    save_model(grow_network(tiny_network(), width=48, jitter=1e-3), tmp_path / "big")
    table = copies.main([str(tmp_path / "big"), "--names", "big", "--old-width", "24",
                         "--old-latents", "8", "--output-dir", str(tmp_path / "out")])
    assert table["name"][0] == "big" and 0 < table["cross_q"][0] < 0.01
    assert (tmp_path / "out" / "grown_copies.rst").is_file()
