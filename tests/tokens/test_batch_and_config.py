"""TokenBatch helpers, the tokenizer configuration and the vocabulary."""

import json

import pytest
import torch

from specfm import TokenBatch, Tokenizer, TokenizerConfig, tokenize
from specfm.tokens import DEFAULT_VOCABULARY, TokenKind, TokenSpec, Vocabulary

from .helpers import line_spectrum


def test_select_trim_and_concatenate():
    a = tokenize([line_spectrum(n=300), line_spectrum(n=500, seed=2)])
    b = tokenize(line_spectrum(n=800, seed=3))
    joined = TokenBatch.concatenate([a, b])
    assert joined.n_rows == 3 and joined.n_tokens == 800
    assert joined.spectrum_index.tolist() == [0, 1, 2]
    assert [r.index for r in joined.reports] == [0, 1, 2]
    assert joined.reports[2].rows == (2,)
    first = joined.select([0])
    assert first.n_rows == 1 and first.trim().n_tokens == 300
    assert torch.equal(first.trim().value, a.value[:1, :300])
    assert joined.to("cpu").device.type == "cpu"


def test_batch_rejects_inconsistent_shapes():
    z = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="expected"):
        TokenBatch(
            z, z, z[:, :2], z.long(), z.long(), z.bool(), torch.zeros(2).long(), DEFAULT_VOCABULARY
        )


def test_config_round_trips_through_json():
    config = TokenizerConfig(
        normalisation={"name": "continuum", "options": {"width_kms": 700}},
        coverage=[(15100, 17000)],
        max_tokens=512,
        cap_mode="chunk",
        seed=3,
    )
    text = json.dumps(config.to_dict())
    again = TokenizerConfig.from_dict(json.loads(text))
    assert again == config
    spec = line_spectrum()
    assert torch.equal(Tokenizer(config)(spec).value, Tokenizer(again)(spec).value)


def test_config_validates():
    with pytest.raises(ValueError, match="Unknown normalisation"):
        TokenizerConfig(normalisation="magic")
    with pytest.raises(ValueError, match="cap_mode"):
        TokenizerConfig(cap_mode="random")
    with pytest.raises(ValueError, match="max_tokens"):
        TokenizerConfig(max_tokens=0)


def test_vocabulary_lookup_and_extension():
    vocab = DEFAULT_VOCABULARY
    assert vocab.index("teff") == 0
    assert "bp_rp" in vocab.colours() and "fe_h" in vocab.labels()
    with pytest.raises(KeyError, match="Known names"):
        vocab.index("nope")
    bigger = vocab.extend([TokenSpec("li_fe", TokenKind.LABEL, "dex", 1.0, 0.5)])
    assert bigger.index("teff") == 0 and bigger.index("li_fe") == len(vocab)
    assert Vocabulary.from_list(json.loads(json.dumps(bigger.to_list()))) == bigger
    with pytest.raises(ValueError, match="appears twice"):
        vocab.extend([TokenSpec("teff", TokenKind.LABEL, "K")])
    with pytest.raises(ValueError, match="Flux pixels"):
        TokenSpec("x", TokenKind.FLUX, "")
    with pytest.raises(ValueError):
        TokenSpec("x", TokenKind.LABEL, "not_a_unit")


def test_row_seeds_give_each_spectrum_the_tokens_it_gets_alone():
    """``row_seeds`` seeds each spectrum's cap as if it were tokenised on its own."""
    import dataclasses

    from .helpers import apogee_like

    config = TokenizerConfig(max_tokens=700, cap_mode="chunk", seed=0)
    spectra = [apogee_like(seed=k)[0] for k in range(3)]
    together = Tokenizer(config)(spectra, row_seeds=[(11, 0), (12, 0), (13, 0)])
    alone = [Tokenizer(dataclasses.replace(config, seed=s))(spectrum)
             for s, spectrum in zip((11, 12, 13), spectra, strict=True)]
    expected = TokenBatch.concatenate(alone)
    assert together.value.shape == expected.value.shape
    assert torch.equal(together.wavelength, expected.wavelength)
    assert torch.equal(together.spectrum_index, expected.spectrum_index)
    # without them, the second and third spectra are drawn with other seeds
    plain = Tokenizer(config)(spectra)
    assert not torch.equal(plain.wavelength, expected.wavelength)
    with pytest.raises(ValueError, match="one \\(seed, index\\) per spectrum"):
        Tokenizer(config)(spectra, row_seeds=[(11, 0)])
