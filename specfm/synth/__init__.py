"""Synthetic spectra for pre-training: emulators, instruments and corpora.

Turn stellar label vectors into spectra as a given instrument would record them:

* emulators map labels to a continuum-normalised spectrum on a fine wavelength grid:
  `CannonEmulator`, `PayneEmulator`, `PixelwisePayneEmulator` (the shipped formats) and
  `GridEmulator` (interpolation in a user's own grid of synthetic spectra), and
  `CombinedEmulator` to join emulators valid over different label ranges;
* an `Instrument` (pixel grid with chip gaps, Gaussian LSF of resolving power R, air or
  vacuum, normalised or fluxed, noise model) renders them as `specutils.Spectrum`
  batches; presets: `get_instrument` / ``PRESETS``;
* `write_corpus` and `iter_corpus` build reproducible pre-training corpora.

``specfm.synth`` never imports ``specfm.model`` or ``specfm.training``.
"""

from .cannon import CannonEmulator
from .combined import CombinedEmulator
from .corpus import CorpusConfig, iter_corpus, read_shard, write_corpus
from .emulators import Emulator
from .fitting import SpectrumFit, fit_spectrum
from .grid import GridEmulator
from .instruments import Instrument, fit_flux_correction
from .labels import ExtrapolationError, Label, LabelError
from .lsf import GaussianLSF
from .noise import NoiseModel
from .payne import PayneEmulator, PixelwisePayneEmulator
from .presets import PRESETS, get_instrument

__all__ = [
    "PRESETS",
    "CannonEmulator",
    "CombinedEmulator",
    "CorpusConfig",
    "Emulator",
    "ExtrapolationError",
    "GaussianLSF",
    "GridEmulator",
    "Instrument",
    "Label",
    "LabelError",
    "NoiseModel",
    "PayneEmulator",
    "PixelwisePayneEmulator",
    "SpectrumFit",
    "fit_flux_correction",
    "fit_spectrum",
    "get_instrument",
    "iter_corpus",
    "read_shard",
    "write_corpus",
]
