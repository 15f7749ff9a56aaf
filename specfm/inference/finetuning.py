"""Fine-tune a model on your own stars from a notebook: ``Model.finetune``.

SpectraFM's use case: a pre-trained model, a few dozen to a few hundred stars with trusted
labels, and a new instrument or wavelength range. The training is
`specfm.training.finetune_spectra`; ``Model.finetune`` calls it with the model's network and
tokenizer settings, records the provenance and wraps the result as a new
`~specfm.inference.Model` to predict with or save (``Model.save``).
"""

import numpy as np

__all__ = ["finetune"]  # a method of specfm.inference.Model (self is the model)


def finetune(self, spectra, labels, inputs=None, epochs=30, batch_size=16,
             learning_rate=3e-4, validation_fraction=0.1, freeze=(), objective=None,
             seed=0, progress=None, name=None):
    """Fine-tune a copy of this model on a small set of stars with known labels.

    Parameters
    ----------
    spectra : Spectrum, Spectrum1D, SpectrumList, SpectrumCollection or list
        The stars' spectra (anything `~specfm.inference.Model.predict` takes).
    labels : `~astropy.table.Table` or dict
        One row per spectrum: labels the model knows (``teff``, ``logg``, ``fe_h``,
        ...) as Quantities, optional ``<label>_err`` columns; masked or NaN values
        are simply not trained on.
    inputs : dict or `~astropy.table.Table`, optional
        Non-spectral inputs per star (colours), given to the model as at prediction.
    epochs, batch_size, learning_rate : int, int, float
        Training settings (`~specfm.training.TrainerConfig`).
    validation_fraction : float
        Stars held out for early stopping (0: none, train for all ``epochs``).
    freeze : tuple of str
        Parts of the network to keep fixed (e.g. ``("encoder",)``; see
        `specfm.training.freeze`).
    objective : `~specfm.training.ObjectiveConfig`, optional
        The training objective (default: the full spectrum as context, labels asked,
        a few flux pixels asked back; inputs kept as context).
    seed : int
        Seed of the split, the initial order and every random draw.
    progress : bool, optional
        Show a progress bar (default: when there are more than a few hundred steps).
    name : str, optional
        Name of the new model (default: ``"<this name>-finetuned"``).

    Returns
    -------
    `~specfm.inference.Model`
        The fine-tuned copy (this model is unchanged); ``model.training_history``
        holds the per-epoch losses. An ensemble model is fine-tuned member by member
        (seeds ``seed``, ``seed + 1``, ...; one validation split) and stays an
        ensemble; its history records carry a ``member`` index.

    Raises
    ------
    SpecfmInputError
        If the spectra cannot be read or the labels do not match them.

    """
    from ..training import finetune_spectra

    done = finetune_spectra(
        self.network, self.tokenizer_config, spectra, labels, inputs=inputs, epochs=epochs,
        batch_size=batch_size, learning_rate=learning_rate,
        validation_fraction=validation_fraction, freeze=freeze, objective=objective,
        seed=seed, progress=progress)
    values, network = done.label_values, done.network
    provenance = dict(network.metadata.get("provenance", {}))
    provenance.update({
        "description": f"{self.name} fine-tuned on {done.n_spectra} stars",
        "outputs": [n for n in self.labels if n in values] + [
            n for n in values if n not in self.labels],
        "label_ranges": {n: [float(np.nanmin(v)), float(np.nanmax(v))]
                         for n, v in values.items() if np.isfinite(v).any()},
        "parent_sha256": self.sha256,
    })
    network.metadata = dict(network.metadata, provenance=provenance)
    model = type(self)(network, name=name or f"{self.name}-finetuned")
    model.training_history = done.history
    return model
