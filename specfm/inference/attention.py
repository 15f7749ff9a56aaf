"""Which wavelengths a prediction rests on: ``Model.attention`` -> `~astropy.table.QTable`.

The network's attention of each requested label on each input token (the head-averaged
query-to-latent weights times the attention rollout of the latents, see
`specfm.model.SpecFMNetwork.forward`) sums to one over a row's tokens. A spectrum that the
model's token cap splits into several rows (chunks) gets the mean over its rows, the same
equal-weight mixture that combines the predictions; each pixel belongs to one chunk, so the
weights of a spectrum's pixels still sum to one, less the share that went to non-spectral
inputs (colours, known labels), which is reported in ``meta``.
"""

import dataclasses

import astropy.units as u
import numpy as np
import torch
from astropy.table import QTable, vstack

from ..model import Query
from ..tokens import Tokenizer, TokenKind

__all__ = ["attention"]  # a method of specfm.inference.Model (self is the model)


def attention(self, spectra, label=None, inputs=None, medium="vacuum",
              radial_velocity=None, redshift=None, seed=0):
    """Return, per input pixel, how much each requested label attends to it.

    Parameters
    ----------
    spectra : Spectrum, Spectrum1D, SpectrumList, SpectrumCollection or list
        As for `~specfm.inference.Model.predict`.
    label : str or list of str, optional
        Label(s) whose attention to return (default: every label of the model).
    inputs : dict or `~astropy.table.Table`, optional
        Non-spectral inputs, as for `~specfm.inference.Model.predict`.
    medium, radial_velocity, redshift
        As for `~specfm.inference.Model.predict`.
    seed : int
        Seed of the random chunks when a spectrum has more pixels than the model's
        token cap.

    Returns
    -------
    `~astropy.table.QTable`
        One row per pixel that the model read, sorted by spectrum then wavelength:
        ``spectrum_index``, ``wavelength`` (rest-frame vacuum, Angstrom), ``flux`` (as
        the model saw it, normalised) and one column per label with its attention
        weight (dimensionless; per spectrum they sum to one minus the share on the
        non-spectral inputs). ``meta`` holds the model name and sha256, the labels,
        and ``input_share``: ``{label: [share per spectrum]}`` of attention on
        colours and known labels.

    Examples
    --------
    >>> import specfm
    >>> from specfm.data import read_example
    >>> model = specfm.load_pretrained("specfm-base")
    >>> weights = model.attention(read_example("apStar-dr17-2M19485057+5005279.fits"),
    ...                           label="fe_h")
    >>> weights.colnames
    ['spectrum_index', 'wavelength', 'flux', 'fe_h']
    >>> round(float(weights["fe_h"].sum()), 6)
    1.0

    """
    names = self.resolve_labels(label, inputs)
    config = self.inference_config("model")
    config = dataclasses.replace(config, seed=int(seed))
    tokens = Tokenizer(config)(spectra, inputs=inputs, medium=medium,
                               radial_velocity=radial_velocity, redshift=redshift,
                               on_error="mask")
    weights = _attention_weights(self, tokens, Query(labels=names))
    return _attention_table(tokens, weights, names, self)


def _attention_weights(self, tokens, query, batch_rows=32):
    """``(rows, queries, tokens)`` attention, in rows of at most ``batch_rows``."""
    device = next(self.network.parameters()).device
    out = torch.zeros(tokens.n_rows, len(query), tokens.n_tokens, dtype=torch.float64)
    with torch.inference_mode():
        for start in range(0, tokens.n_rows, batch_rows):
            rows = torch.arange(start, min(start + batch_rows, tokens.n_rows))
            part = tokens.select(rows).to(device)
            if not bool(part.valid.any()):
                continue
            queries = query.build(len(rows), self.vocabulary, device=device)
            result = self.network(part, queries, return_attention=True)
            out[rows] = result.attention.double().cpu()
    return out


def _attention_table(tokens, weights, names, model):
    """Build the per-pixel table of ``Model.attention``."""
    index = tokens.spectrum_index.numpy()
    is_flux = (tokens.kind == TokenKind.FLUX).numpy() & tokens.valid.numpy()
    is_input = (tokens.kind != TokenKind.FLUX).numpy() & tokens.valid.numpy()
    w = weights.numpy()
    parts, share = [], {n: [] for n in names}
    for s, report in enumerate(tokens.reports):
        rows = np.nonzero(index == s)[0]
        n_rows = max(len(rows), 1)
        waves, flux, cols = [], [], {n: [] for n in names}
        input_share = np.zeros(len(names))
        for r in rows:
            pix = is_flux[r]
            waves.append(tokens.wavelength[r].numpy()[pix])
            flux.append(tokens.value[r].numpy()[pix])
            for q, n in enumerate(names):
                cols[n].append(w[r, q][pix] / n_rows)
            input_share += w[r][:, is_input[r]].sum(1) / n_rows
        wave = np.concatenate(waves) if waves else np.zeros(0)
        order = np.argsort(wave, kind="stable")
        table = QTable({
            "spectrum_index": np.full(wave.size, report.index, dtype=np.int64),
            "wavelength": wave[order].astype(float) * u.AA,
            "flux": (np.concatenate(flux)[order] if flux else np.zeros(0)).astype(float),
        })
        for q, n in enumerate(names):
            values = np.concatenate(cols[n])[order] if cols[n] else np.zeros(0)
            table[n] = values.astype(float) * u.dimensionless_unscaled
            share[n].append(float(input_share[q]))
        parts.append(table)
    out = vstack(parts, metadata_conflicts="silent") if len(parts) > 1 else parts[0]
    out.meta.update({
        "model": model.name,
        "model_sha256": model.sha256,
        "labels": list(names),
        "input_share": share,
        "description": "attention of each label on each pixel (rollout through the "
                       "latents); per spectrum the weights sum to 1 - input_share",
    })
    return out
