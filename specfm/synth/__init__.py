"""Synthetic spectra for pre-training: emulators, instruments and corpora."""
