"""`EnsembleNetwork`: the equal-weight mixture of its members, stored as one model file."""

import json

import numpy as np
import pytest
import torch

from specfm.exceptions import SpecfmInputError
from specfm.model import (
    EnsembleNetwork,
    ModelFileError,
    Query,
    combine_rows,
    load_model,
    read_model_config,
    save_model,
)

from .toy import tiny_network, toy_spectra, toy_tokens

QUERY = Query(labels=["teff", "logg"], wavelengths=[15200.0])


def _run(net, return_attention=False):
    wave, flux, *_ = toy_spectra(5, n_pix=24, seed=4)
    with torch.no_grad():
        return net(toy_tokens(wave, flux), QUERY.build(5, net.vocabulary),
                   return_attention=return_attention)


def _members_mixture(means, logvars):
    """The ensemble's rule: members stacked as rows of one target each, through
    `combine_rows`; returns ``(mean, logvar)``."""
    k, n = means.shape
    mean, variance = combine_rows(means.reshape(k * n, 1), logvars.reshape(k * n, 1),
                                  torch.arange(n).repeat(k), n)
    return mean[:, 0], torch.log(variance[:, 0])


def test_combine_rows_matches_sampling_a_mixture():
    rng = np.random.default_rng(1)
    means = rng.normal(size=(3, 4))
    sigmas = rng.uniform(0.2, 1.5, size=(3, 4))
    mean, logvar = _members_mixture(torch.tensor(means), torch.tensor(np.log(sigmas**2)))
    member = rng.integers(0, 3, size=400_000)
    draws = rng.normal(means[member], sigmas[member])
    np.testing.assert_allclose(mean.numpy(), draws.mean(0), atol=0.01)
    np.testing.assert_allclose(np.exp(logvar.numpy()), draws.var(0), rtol=0.02)
    # identical members: the mixture is the member
    same_mean, same_logvar = _members_mixture(torch.tensor(means[:1]).repeat(3, 1),
                                              torch.tensor(np.log(sigmas[:1] ** 2)).repeat(3, 1))
    np.testing.assert_allclose(same_mean.numpy(), means[0])
    np.testing.assert_allclose(same_logvar.numpy(), np.log(sigmas[0] ** 2))


def test_ensemble_forward_is_the_mixture_of_its_members():
    members = [tiny_network(seed=s).eval() for s in (1, 2, 3)]
    ensemble = EnsembleNetwork(members).eval()
    outs = [_run(m, True) for m in members]
    out = _run(ensemble, True)
    means = torch.stack([o.mean for o in outs])
    torch.testing.assert_close(out.mean, means.mean(0))
    variance = torch.stack([o.logvar.exp() for o in outs]).mean(0) + means.var(0, unbiased=False)
    torch.testing.assert_close(out.logvar.exp(), variance)
    assert bool((out.logvar.exp() >= torch.stack([o.logvar.exp() for o in outs]).min(0).values)
                .all())
    torch.testing.assert_close(out.attention.sum(-1), torch.ones_like(out.mean))
    assert ensemble.vocabulary is members[0].vocabulary
    assert ensemble.n_parameters() == 3 * members[0].n_parameters()


def test_ensemble_refuses_members_that_do_not_fit():
    with pytest.raises(SpecfmInputError, match="at least two"):
        EnsembleNetwork([tiny_network(seed=0)])
    with pytest.raises(SpecfmInputError, match="differs from member 0"):
        EnsembleNetwork([tiny_network(seed=0), tiny_network(seed=0, d_model=32)])
    with pytest.raises(SpecfmInputError, match="SpecFMNetwork"):
        EnsembleNetwork([tiny_network(seed=0), torch.nn.Linear(2, 2)])


@pytest.mark.parametrize("name", ["folder", "ens.zip"])
def test_ensemble_round_trip_is_bit_identical(tmp_path, name):
    ensemble = EnsembleNetwork([tiny_network(seed=s) for s in (4, 5)]).eval()
    ref = _run(ensemble, True)
    path = save_model(ensemble, tmp_path / name, provenance={"steps": 3})
    config = read_model_config(path)
    assert config["format_version"] == 2 and config["ensemble"] == {"n_members": 2}
    again = load_model(path)
    assert isinstance(again, EnsembleNetwork) and again.n_members == 2
    out = _run(again, True)
    for a, b in ((ref.mean, out.mean), (ref.logvar, out.logvar),
                 (ref.attention, out.attention)):
        assert torch.equal(a, b)
    # a single network keeps format version 1, so older specfm still reads it
    single = save_model(tiny_network(seed=4), tmp_path / "single")
    assert read_model_config(single)["format_version"] == 1


def test_an_ensemble_file_cut_to_one_member_is_refused(tmp_path):
    path = save_model(EnsembleNetwork([tiny_network(seed=s) for s in (4, 5)]), tmp_path / "e")
    config = json.loads((path / "config.json").read_text())
    config["ensemble"]["n_members"] = 3
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match="do not fit the architecture"):
        load_model(path)
