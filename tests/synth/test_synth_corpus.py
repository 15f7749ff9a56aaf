"""Corpus building: reproducibility, worker independence, shards and streaming."""

import json

import astropy.units as u
import h5py
import numpy as np
import pytest

from specfm._compat import is_spectrum
from specfm.exceptions import SpecfmInputError
from specfm.synth import CorpusConfig, Instrument, iter_corpus, read_shard, write_corpus


def _config(**kw):
    low = Instrument("lowres", np.arange(8480.0, 8620.0, 1.0) * u.AA, 2000.0)
    defaults = dict(instruments=("gaia_rvs", low), n_spectra=10, seed=7, shard_size=4,
                    batch_size=3, snr_range=(20.0, 100.0), bad_pixel_fraction=0.02,
                    continuum_error=0.02, rv_residual=2.0)
    defaults.update(kw)
    return CorpusConfig(**defaults)


def test_streaming_batches_are_spectra_with_labels(ca_emulator):
    batches = list(iter_corpus(ca_emulator, _config()))
    # shards of 4, 4, 2 stars; batches of at most 3 within a shard
    assert [len(labels) for _, labels in batches] == [3, 1, 3, 1, 2]
    spectra, labels = batches[0]
    assert set(spectra) == {"gaia_rvs", "lowres"}
    rvs = spectra["gaia_rvs"]
    assert is_spectrum(rvs) and rvs.flux.shape == (3, 2401)
    assert rvs.mask.dtype == bool and rvs.mask.any()  # bad pixels were injected
    assert np.all(np.isinf(rvs.uncertainty.array[rvs.mask]))
    assert labels["teff"].unit == u.K and labels["rv_gaia_rvs"].unit == u.km / u.s
    snr = labels["snr_gaia_rvs"]
    assert np.all((snr >= 20) & (snr <= 100))
    ids = np.concatenate([lab["star_id"] for _, lab in batches])
    assert ids.tolist() == list(range(10))


def test_corpus_is_reproducible_by_seed(ca_emulator):
    a = [s["lowres"].flux.value for s, _ in iter_corpus(ca_emulator, _config())]
    b = [s["lowres"].flux.value for s, _ in iter_corpus(ca_emulator, _config())]
    c = [s["lowres"].flux.value for s, _ in iter_corpus(ca_emulator, _config(seed=8))]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])


def test_shards_do_not_depend_on_worker_count(ca_emulator, tmp_path):
    config = _config()
    one = write_corpus(ca_emulator, config, tmp_path / "one", workers=1, progress=False)
    two = write_corpus(ca_emulator, config, tmp_path / "two", workers=2, progress=False)
    assert [p.name for p in one] == ["shard_00000.h5", "shard_00001.h5", "shard_00002.h5"]
    for p1, p2 in zip(one, two, strict=True):
        with h5py.File(p1) as f1, h5py.File(p2) as f2:
            for name in ("gaia_rvs", "lowres"):
                for key in ("flux", "uncertainty", "mask", "wavelength"):
                    assert np.array_equal(f1[name][key][()], f2[name][key][()])
            assert json.loads(f1.attrs["config"])["seed"] == 7
    # and the shards hold exactly what streaming yields
    streamed = list(iter_corpus(ca_emulator, config))
    spectra, labels = read_shard(one[0])
    first = np.concatenate([s["lowres"].flux.value for s, _ in streamed[:2]])
    np.testing.assert_allclose(spectra["lowres"].flux.value, first, rtol=1e-6)
    assert len(labels) == 4 and labels["teff"].unit == u.K
    assert json.loads((tmp_path / "one" / "corpus.json").read_text())["n_shards"] == 3


def test_bad_configs_are_refused(ca_emulator):
    with pytest.raises(SpecfmInputError, match="snr_range"):
        CorpusConfig(snr_range=(0.0, 10.0))
    with pytest.raises(SpecfmInputError, match="bad_pixel_fraction"):
        CorpusConfig(bad_pixel_fraction=1.5)
    with pytest.raises(SpecfmInputError, match="does not overlap"):
        next(iter_corpus(ca_emulator, _config(instruments=("apogee",))))


def test_streaming_with_workers_matches_single_process(ca_emulator):
    config = _config()
    serial = list(iter_corpus(ca_emulator, config))
    parallel = list(iter_corpus(ca_emulator, config, workers=2))
    assert len(serial) == len(parallel)
    for (s1, l1), (s2, l2) in zip(serial, parallel, strict=True):
        assert np.array_equal(s1["gaia_rvs"].flux.value, s2["gaia_rvs"].flux.value)
        assert np.array_equal(l1["teff"], l2["teff"])
