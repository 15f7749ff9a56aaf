"""``benchmarks/same_labels.py``: which weights of a parent a child model changed."""

import pytest
import torch

from specfm.training import extend_network

from ..conftest import benchmark_modules
from ..model.toy import tiny_network


@pytest.fixture(scope="module")
def same_labels():
    with benchmark_modules("same_labels") as (module,):
        yield module


def test_a_flux_decoder_adds_weights_and_changes_none(same_labels):
    parent = tiny_network(seed=1)
    child = extend_network(parent, flux_decoder=True)
    n, differ, new = same_labels.compare_weights(parent, child)
    assert n == len(parent.state_dict()) and differ == []
    assert new and all(k.startswith(("flux_decoder.", "flux_head.")) for k in new)


def test_a_changed_weight_is_named(same_labels):
    parent = tiny_network(seed=1)
    child = extend_network(parent)
    with torch.no_grad():
        child.head.net[1].weight[0, 0] += 1e-6
    assert same_labels.compare_weights(parent, child)[1] == ["head.net.1.weight"]
