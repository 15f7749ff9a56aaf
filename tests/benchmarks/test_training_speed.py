"""``benchmarks/speed.py training``: the variants it is asked to time."""

import pytest

from ..conftest import benchmark_modules


def test_growth_variants_are_read_as_grow_network_arguments():
    with benchmark_modules("_speed_training") as (speed,):
        assert speed.parse_growth("none") == {}
        assert speed.parse_growth("width=256,n_latents=128") == {"width": 256,
                                                                 "n_latents": 128}
        assert speed.parse_growth("jitter=0.01") == {"jitter": 0.01}
        with pytest.raises(ValueError, match="KEY=VALUE"):
            speed.parse_growth("width")
