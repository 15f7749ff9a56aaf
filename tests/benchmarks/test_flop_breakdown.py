"""The FLOPs by stage of ``benchmarks/speed.py flops`` (``benchmarks/_speed_flops.py``)."""

import pytest

from specfm.model import Query

from ..conftest import benchmark_modules
from ..model.toy import tiny_network, toy_spectra, toy_tokens


@pytest.fixture(scope="module")
def flops_module():
    with benchmark_modules("_speed_flops") as (module,):
        yield module


def test_the_stages_add_up_to_the_whole(flops_module):
    net = tiny_network(seed=0, d_model=16).eval()
    wave, flux, *_ = toy_spectra(4, n_pix=24, seed=1)
    tokens = toy_tokens(wave, flux)
    queries = Query(["teff", "logg"]).build(tokens.n_rows, net.vocabulary)
    by_stage, total = flops_module.stage_flops(net, tokens, queries)
    assert set(by_stage) == set(flops_module.STAGES)
    assert all(by_stage[s] > 0 for s in ("embedding", "cross-attention", "latent layers",
                                         "decoder"))
    assert sum(by_stage.values()) == pytest.approx(total, rel=1e-9)


def test_the_latent_layers_do_not_grow_with_the_pixels(flops_module):
    net = tiny_network(seed=0, d_model=16).eval()
    counts = []
    for n_pix in (24, 96):
        wave, flux, *_ = toy_spectra(4, n_pix=n_pix, seed=1)
        tokens = toy_tokens(wave, flux)
        queries = Query(["teff"]).build(tokens.n_rows, net.vocabulary)
        counts.append(flops_module.stage_flops(net, tokens, queries)[0])
    assert counts[1]["latent layers"] == counts[0]["latent layers"]
    assert counts[1]["cross-attention"] > counts[0]["cross-attention"]
