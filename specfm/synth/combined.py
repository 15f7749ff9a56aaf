"""Several emulators on one wavelength grid, each used where it is valid.

The optical Payne networks, for example, come as three files for three Teff ranges
(3500-4200, 4000-5000 and 4900-6000 K); `CombinedEmulator` joins them into one emulator
that sends each star to the member whose valid range holds it (the one where the star is
furthest from the range's edges, when several do).
"""

import numpy as np

from ..exceptions import SpecfmInputError
from .emulators import Emulator
from .labels import ExtrapolationError, Label, check_range, labels_to_array

__all__ = ["CombinedEmulator"]


class CombinedEmulator(Emulator):
    """Join emulators with the same labels and wavelength grid but different label ranges.

    Parameters
    ----------
    emulators : sequence of `~specfm.synth.Emulator`
        Members, with identical label names and fine wavelength grids.
    name : str, optional
        Name recorded in the metadata (default: the members' names joined by ``+``).

    Raises
    ------
    SpecfmInputError
        If the members' labels or wavelength grids differ.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from astropy.table import QTable
    >>> from specfm.synth import GridEmulator
    >>> def member(lo, hi, value):
    ...     labels = QTable({"teff": [lo, hi] * u.K})
    ...     return GridEmulator([5000.0, 5001.0] * u.AA, np.full((2, 2), value), labels,
    ...                         "vacuum", name=f"{lo:.0f}")
    >>> both = CombinedEmulator([member(3500, 4200, 0.5), member(4000, 5000, 0.7)])
    >>> both({"teff": [3600.0, 4900.0] * u.K}).flux[:, 0].round(3)
    <Quantity [0.5, 0.7]>

    """

    def __init__(self, emulators, name=None):
        members = list(emulators)
        if not members:
            raise SpecfmInputError("Give at least one emulator to combine.")
        first = members[0]
        for other in members[1:]:
            if other.label_names != first.label_names:
                raise SpecfmInputError(
                    f"Emulators to combine need the same labels: {first.label_names} vs "
                    f"{other.label_names}."
                )
            if other._wave.shape != first._wave.shape or not np.allclose(
                    other._wave, first._wave, rtol=0, atol=1e-6):
                raise SpecfmInputError("Emulators to combine need the same wavelength grid.")
        lo = np.min([[lab.minimum for lab in m.labels] for m in members], axis=0)
        hi = np.max([[lab.maximum for lab in m.labels] for m in members], axis=0)
        labels = tuple(Label(lab.name, lab.unit, float(a), float(b), lab.description)
                       for lab, a, b in zip(first.labels, lo, hi, strict=True))
        training = [m._training for m in members if m._training is not None]
        resolutions = [m.native_resolution for m in members]
        native = None if any(r is None for r in resolutions) else float(min(resolutions))
        super().__init__(name or "+".join(m.name for m in members), labels, first._wave,
                         medium="vacuum",
                         training_labels=np.concatenate(training) if training else None,
                         native_resolution=native,
                         reference="; ".join(sorted({m.reference for m in members})))
        self.medium = first.medium
        self.members = members
        self.has_continuum = all(m.has_continuum for m in members)

    def sample_labels(self, n, seed=None, jitter=0.05):
        """Draw labels from the members' priors, in proportion to their training sets.

        Each draw comes from one member's prior (clipped to that member's range), so every
        star is valid for at least one member.

        Parameters
        ----------
        n : int
            Number of stars.
        seed : int or numpy.random.Generator, optional
            Random seed or generator.
        jitter : float
            Jitter as a fraction of each label's range.

        Returns
        -------
        `~astropy.table.QTable`
            One Quantity column per label, in random member order.

        """
        from astropy.table import vstack

        rng = np.random.default_rng(seed)
        sizes = np.array([1 if m._training is None else len(m._training)
                          for m in self.members], dtype=float)
        counts = rng.multinomial(int(n), sizes / sizes.sum())
        parts = [m.sample_labels(c, seed=rng, jitter=jitter)
                 for m, c in zip(self.members, counts, strict=True) if c]
        table = vstack(parts, metadata_conflicts="silent")[rng.permutation(int(n))]
        table.meta = {"emulator": self.name}
        return table

    def _margins(self, array):
        """Smallest distance to a range edge, in units of the range, per (star, member)."""
        out = np.empty((len(array), len(self.members)))
        for k, m in enumerate(self.members):
            lo = np.array([lab.minimum for lab in m.labels])
            hi = np.array([lab.maximum for lab in m.labels])
            span = np.where(hi > lo, hi - lo, 1.0)
            out[:, k] = np.min(np.minimum(array - lo, hi - array) / span, axis=1)
        return out

    def prepare(self, labels, extrapolate="raise"):
        """Convert labels and check that each star lies inside at least one member's range.

        Parameters
        ----------
        labels : table, dict or array-like
            Labels.
        extrapolate : {"raise", "flag"}
            Raise, or flag stars outside every member (rendered by the nearest member).

        Returns
        -------
        array, extrapolated : numpy.ndarray
            As `~specfm.synth.Emulator.prepare`.

        Raises
        ------
        specfm.synth.ExtrapolationError
            A star outside every member's range, with ``extrapolate="raise"``.

        """
        array = labels_to_array(labels, self.labels)
        check_range(array, self.labels, "flag")  # validates ``extrapolate`` values too
        outside = self._margins(array).max(axis=1) < 0
        if outside.any() and extrapolate == "raise":
            i = int(np.argmax(outside))
            raise ExtrapolationError(
                f"{int(outside.sum())} stars lie outside the valid range of every member of "
                f"{self.name!r} (first: star {i}, labels {array[i].tolist()}); pass "
                'extrapolate="flag" to render them with the nearest member.'
            )
        if extrapolate not in ("raise", "flag"):
            check_range(array, self.labels, extrapolate)
        return array, outside

    def _groups(self, array):
        choice = np.argmax(self._margins(array), axis=1)
        return [(k, np.nonzero(choice == k)[0]) for k in range(len(self.members))]

    def _forward(self, array, pixels):
        out = None
        for k, idx in self._groups(array):
            if idx.size == 0:
                continue
            flux = self.members[k]._forward(array[idx], pixels)
            if out is None:
                out = np.empty((len(array), flux.shape[1]), dtype=flux.dtype)
            out[idx] = flux
        return out

    def log10_continuum(self, array, wavelength):
        """Log10 continuum from each star's member (see `Emulator.log10_continuum`).

        Parameters
        ----------
        array : numpy.ndarray
            Labels ``(n, n_labels)``.
        wavelength : numpy.ndarray
            Vacuum wavelengths in Angstrom.

        Returns
        -------
        numpy.ndarray
            Shape ``(n, len(wavelength))``.

        """
        array = np.atleast_2d(array)
        out = np.empty((len(array), np.size(wavelength)))
        for k, idx in self._groups(array):
            if idx.size:
                out[idx] = self.members[k].log10_continuum(array[idx], wavelength)
        return out
