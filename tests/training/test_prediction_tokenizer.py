"""The tokenizer settings that ``specfm train`` stores with a model."""

from specfm.tokens import TokenizerConfig
from specfm.training import training_max_snr
from specfm.training.from_config import prediction_tokenizer

SOURCES = [{"emulator": "cannon_coolstars", "n_stars": 1, "instruments": ["apogee"],
            "snr_range": [15.0, 300.0]},
           {"emulator": "cannon_coolstars", "n_stars": 1, "instruments": ["gaia_xp"],
            "snr_range": [20.0, 150.0]}]


def test_synthetic_pretraining_stores_its_coverage_and_snr_ceiling():
    config = {"data": {"kind": "synthetic", "sources": SOURCES},
              "prediction": {"max_tokens": "all"}}
    stored = prediction_tokenizer(TokenizerConfig(max_tokens=1024), config)
    assert stored.max_tokens is None
    assert stored.max_snr == 300.0 == training_max_snr(SOURCES)
    assert stored.coverage is not None and len(stored.coverage) == 2


def test_prediction_section_sets_or_removes_the_ceiling():
    data = {"kind": "synthetic", "sources": SOURCES}
    tok = TokenizerConfig()
    assert prediction_tokenizer(tok, {"data": data, "prediction": {"max_snr": 500}}).max_snr \
        == 500.0
    assert prediction_tokenizer(tok, {"data": data,
                                      "prediction": {"max_snr": "none"}}).max_snr is None


def test_real_spectra_fine_tunes_store_no_ceiling_unless_asked():
    tok = TokenizerConfig()
    assert prediction_tokenizer(tok, {"data": {"kind": "gaia_xp"}}).max_snr is None
    assert training_max_snr([]) is None
