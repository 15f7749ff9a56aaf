"""The adapter: spectra (plus optional non-spectral inputs) to a padded `TokenBatch`."""

import dataclasses
import numbers
import warnings

import astropy.units as u
import numpy as np
import torch

from ..exceptions import CoverageError, CoverageWarning, EmptySpectrumError, SpecfmInputError
from .batch import SpectrumReport, TokenBatch
from .extra_inputs import extra_tokens
from .extract import extract_groups
from .noise import degrade_to_snr, der_snr_noise, median_snr
from .normalisation import Normalisation, get_normalisation
from .sampling import CAP_MODES, cap_tokens
from .vocabulary import DEFAULT_VOCABULARY, TokenKind, Vocabulary

__all__ = ["Tokenizer", "TokenizerConfig", "coverage_ranges", "in_coverage", "tokenize"]

_ON_ERROR = ("raise", "mask")


def coverage_ranges(coverage):
    """Normalise a wavelength coverage to a list of ``(low, high)`` vacuum-Angstrom pairs.

    Parameters
    ----------
    coverage : None, Quantity pair, sequence of Quantity pairs, `~specutils.SpectralRegion`
        The ranges. Plain numbers are taken as Angstrom. Spectral units other than length
        (Hz, cm-1) are converted through `astropy.units.spectral`.

    Returns
    -------
    list of tuple of float or None

    Examples
    --------
    >>> import astropy.units as u
    >>> from specfm.tokens import coverage_ranges
    >>> coverage_ranges((1.51, 1.70) * u.um)
    [(15100.0, 17000.0)]

    """
    if coverage is None:
        return None
    if hasattr(coverage, "subregions"):  # SpectralRegion
        pairs = list(coverage.subregions)
    else:
        arr = coverage
        if isinstance(arr, u.Quantity) and arr.ndim == 1:
            pairs = [arr]
        elif isinstance(arr, list | tuple) and len(arr) == 2 and np.ndim(arr[0]) == 0:
            pairs = [arr]
        else:
            pairs = list(arr)
    out = []
    for pair in pairs:
        if len(pair) != 2:
            raise SpecfmInputError(f"Each coverage range needs a low and a high end, got {pair!r}.")
        ends = []
        for end in pair:
            q = end if isinstance(end, u.Quantity) else u.Quantity(end, u.AA)
            ends.append(float(q.to_value(u.AA, equivalencies=u.spectral())))
        lo, hi = sorted(ends)
        out.append((lo, hi))
    return sorted(out)


def in_coverage(wavelength, coverage):
    """Return True where a wavelength lies inside a coverage.

    Parameters
    ----------
    wavelength : numpy.ndarray
        Vacuum Angstrom, any shape.
    coverage : None or anything `coverage_ranges` takes
        The ranges; None covers every wavelength.

    Returns
    -------
    numpy.ndarray of bool
        Same shape as ``wavelength``; the ends of each range are inside.

    Examples
    --------
    >>> import numpy as np
    >>> from specfm.tokens import in_coverage
    >>> in_coverage(np.array([3000.0, 5000.0, 16000.0]), [(3300, 10300), (15100, 17000)])
    array([False,  True,  True])

    """
    wavelength = np.asarray(wavelength)
    ranges = coverage_ranges(coverage)
    if ranges is None:
        return np.ones(wavelength.shape, bool)
    inside = np.zeros(wavelength.shape, bool)
    for lo, hi in ranges:
        inside |= (wavelength >= lo) & (wavelength <= hi)
    return inside


@dataclasses.dataclass
class TokenizerConfig:
    """Everything that decides how spectra become tokens; part of a model's configuration.

    Parameters
    ----------
    normalisation : str or dict
        Recipe name (``"continuum"``, ``"median"``, ``"none"``) or ``{"name", "options"}``.
    coverage : list of (float, float) or None
        Vacuum-Angstrom ranges the model knows; pixels outside are masked.
    max_tokens : int or None
        Cap on flux tokens per row.
    cap_mode : {"subsample", "chunk"}
        What to do when a spectrum has more valid pixels than ``max_tokens``.
    seed : int
        Seed of the sub-sampling or chunking (reproducible per spectrum).
    min_error : float
        Floor on normalised uncertainties (zero or tiny errors are raised to it).
    max_error : float
        Pixels whose normalised uncertainty exceeds this carry no information and are
        masked.
    max_snr : float or None
        A spectrum whose median S/N (`median_snr`) exceeds this is read as if observed at
        this S/N: its uncertainties are scaled up and Gaussian noise of the difference is
        added to its flux before normalisation (`degrade_to_snr`; reproducible, seeded
        per spectrum like the token cap), because a network reads spectra cleaner than
        those it was trained on worse, not better. Set it to the top of the training
        S/N range. None (default): spectra are read as they come. Applies when spectra
        are tokenised (`Tokenizer.__call__`); `Tokenizer.normalise_pixels` returns the
        pixels as given.
    vocabulary : Vocabulary
        Names, units and scalings of non-spectral tokens.

    """

    normalisation: str | dict = "continuum"
    coverage: list | None = None
    max_tokens: int | None = None
    cap_mode: str = "subsample"
    seed: int = 0
    min_error: float = 1e-3
    max_error: float = 10.0
    max_snr: float | None = None
    vocabulary: Vocabulary = DEFAULT_VOCABULARY

    def __post_init__(self):
        recipe = get_normalisation(self.normalisation)
        self.normalisation = recipe.to_dict()
        self.coverage = coverage_ranges(self.coverage)
        if self.cap_mode not in CAP_MODES:
            raise ValueError(f"cap_mode must be one of {CAP_MODES}, not {self.cap_mode!r}.")
        if self.max_tokens is not None and int(self.max_tokens) < 1:
            raise ValueError("max_tokens must be a positive integer or None.")
        if not 0 < self.min_error < self.max_error:
            raise ValueError("Need 0 < min_error < max_error.")
        if self.max_snr is not None:
            if (isinstance(self.max_snr, bool) or not isinstance(self.max_snr, numbers.Real)
                    or not 0 < self.max_snr < np.inf):
                raise ValueError(f"max_snr must be a positive number or None, not "
                                 f"{self.max_snr!r}.")
            self.max_snr = float(self.max_snr)

    def to_dict(self):
        """Return a JSON-serialisable dict."""
        out = dataclasses.asdict(self)
        out["vocabulary"] = self.vocabulary.to_list()
        out["coverage"] = None if self.coverage is None else [list(p) for p in self.coverage]
        return out

    @classmethod
    def from_dict(cls, data):
        """Build from the output of `to_dict`."""
        data = dict(data)
        if "vocabulary" in data:
            data["vocabulary"] = Vocabulary.from_list(data["vocabulary"])
        return cls(**data)


class Tokenizer:
    """Turn spectra into the padded token batches that a model reads.

    Parameters
    ----------
    config : TokenizerConfig, optional
        How to tokenise; keyword arguments override or replace it.
    **kwargs
        Fields of `TokenizerConfig`.

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from specutils import Spectrum
    >>> from specfm.tokens import Tokenizer
    >>> wave = np.linspace(5000, 5100, 200) * u.AA
    >>> spec = Spectrum(flux=np.ones(200) * u.dimensionless_unscaled, spectral_axis=wave)
    >>> batch = Tokenizer(normalisation="none")(spec)
    >>> batch.n_rows, int(batch.valid.sum())
    (1, 200)

    """

    def __init__(self, config=None, **kwargs):
        if config is None:
            config = TokenizerConfig(**kwargs)
        elif kwargs:
            config = dataclasses.replace(config, **kwargs)
        self.config = config
        self.normalisation = get_normalisation(config.normalisation)

    def __repr__(self):
        return f"Tokenizer({self.config!r})"

    def __call__(
        self,
        spectra,
        inputs=None,
        medium="vacuum",
        radial_velocity=None,
        redshift=None,
        on_error="raise",
        *,
        row_seeds=None,
    ):
        """Tokenise spectra.

        Parameters
        ----------
        spectra : Spectrum, Spectrum1D, SpectrumList, SpectrumCollection or list
            One spectrum, a 2-D batch sharing a spectral axis, spectra on different grids
            (a list, `~specutils.SpectrumList` or `~specutils.SpectrumCollection`), in any
            spectral unit, ascending or descending. Masks follow specutils (True = bad).
        inputs : dict or Table, optional
            Non-spectral inputs per spectrum (see `extra_tokens`), e.g.
            ``{"bp_rp": [1.1, 0.9] * u.mag, "logg": 2.5 * u.dex(u.cm / u.s**2)}``.
        medium : {"vacuum", "air"}
            Medium of the input wavelengths.
        radial_velocity : Quantity, optional
            Velocity to remove (scalar or one per spectrum).
        redshift : float or array-like, optional
            Redshift to remove (scalar or one per spectrum).
        on_error : {"raise", "mask"}
            For a spectrum with no usable pixel: raise, or keep going with an empty row
            whose report says why (for batch jobs).
        row_seeds : sequence of (int, int), optional
            One ``(seed, index)`` per spectrum for the token cap (`cap_tokens`), instead of
            the configuration's seed and the spectrum's position in this call: lets a
            caller that tokenises a large input batch by batch give every spectrum the
            tokens it would get wherever it sits (``specfm.inference`` does).

        Returns
        -------
        TokenBatch

        Raises
        ------
        SpecfmInputError
            Or a subclass, with a message that says what to change.

        """
        if on_error not in _ON_ERROR:
            raise ValueError(f"on_error must be one of {_ON_ERROR}, not {on_error!r}.")
        groups = extract_groups(spectra, medium, radial_velocity, redshift)
        n_spectra = sum(g.n_rows for g in groups)
        extra = extra_tokens(inputs, n_spectra, self.config.vocabulary)
        if row_seeds is not None and len(row_seeds) != n_spectra:
            raise ValueError(f"row_seeds has {len(row_seeds)} entries for {n_spectra} "
                             "spectra; give one (seed, index) per spectrum.")

        seeds = ([(self.config.seed, i) for i in range(n_spectra)] if row_seeds is None
                 else list(row_seeds))
        rows, reports = [], []
        for group in groups:
            first = len(reports)
            for wave, value, error, valid, report in self._normalise(
                    group, seeds[first:first + group.n_rows]):
                index = len(reports)
                report.index = index
                self._check_usable(report, valid, on_error)
                seed, position = seeds[index]
                kept = cap_tokens(
                    np.nonzero(valid)[0],
                    self.config.max_tokens,
                    self.config.cap_mode,
                    seed,
                    position,
                )
                start = len(rows)
                for pix in kept:
                    rows.append((index, wave[pix], value[pix], error[pix]))
                report.rows = tuple(range(start, len(rows)))
                report.n_tokens = int(sum(len(p) for p in kept))
                reports.append(report)
        self._warn_partial_coverage(reports)
        return self._pack(rows, reports, extra)

    def normalise_pixels(self, spectra, medium="vacuum", radial_velocity=None, redshift=None,
                         exclude=None):
        """Return every pixel of each spectrum as the model sees it, before the token cap.

        Parameters
        ----------
        spectra, medium, radial_velocity, redshift
            As for calling the tokenizer.
        exclude : list of (float, float), optional
            Rest-frame vacuum wavelength ranges (Angstrom) whose pixels are treated as
            masked, also when the flux is normalised (for in-painting them).

        Returns
        -------
        list of tuple
            One ``(wavelength, value, error, valid, report)`` per spectrum: the rest-frame
            vacuum wavelength (Angstrom, ascending), normalised flux and its error, the
            pixels that would become tokens (bool), and the `SpectrumReport`; arrays have
            one entry per input pixel (zero where not ``valid``).

        """
        out = []
        for group in extract_groups(spectra, medium, radial_velocity, redshift):
            if exclude:
                rest = group.wavelength[None, :] / group.doppler[:, None]
                for lo, hi in exclude:
                    group.bad = group.bad | ((rest >= lo) & (rest <= hi))
            for row in self._normalise(group):
                row[-1].index = len(out)
                out.append(row)
        return out

    def _normalise(self, group, seeds=None):
        """Yield per-row (wavelength, value, error, valid, report) of one group.

        ``seeds`` (one ``(seed, index)`` per row) turns on ``max_snr``; without them the
        spectra are read as given.
        """
        cfg = self.config
        n_pix = group.flux.shape[1]
        finite = np.isfinite(group.flux)
        valid = ~group.bad & finite
        error = group.error
        source = "input"
        if error is None:
            noise = der_snr_noise(np.where(valid, group.flux, 0.0), valid)
            error = np.broadcast_to(noise[:, None], group.flux.shape).copy()
            source = "estimated"
        error_ok = np.isfinite(error) & (error >= 0)
        valid &= error_ok
        flux = np.where(valid, group.flux, 0.0)
        if cfg.max_snr is not None and seeds is not None:
            flux, error, snr = degrade_to_snr(flux, error, valid, cfg.max_snr, seeds)
        else:
            snr = median_snr(flux, error, valid)

        rest = group.wavelength[None, :] / group.doppler[:, None]
        inside = in_coverage(rest, cfg.coverage)

        recipe: Normalisation = self.normalisation.choose(group.wavelength)
        value, scaled, norm_valid, scale = recipe.normalise(
            group.wavelength,
            flux,
            np.where(valid, error, 0.0),
            valid,
        )
        too_noisy = norm_valid & (scaled > cfg.max_error)
        floored = norm_valid & ~too_noisy & (scaled < cfg.min_error)
        final = norm_valid & ~too_noisy & inside
        scaled = np.clip(scaled, cfg.min_error, None)

        # what happened to the pixels, counted for all rows at once
        bad = group.bad
        counts = np.stack([
            bad.sum(axis=1),
            (~bad & ~finite).sum(axis=1),
            (~bad & finite & ~error_ok).sum(axis=1) + too_noisy.sum(axis=1),
            (valid & ~norm_valid).sum(axis=1),
            (norm_valid & ~too_noisy & ~inside).sum(axis=1),
            (floored & inside).sum(axis=1),
            final.sum(axis=1),
        ], axis=1).tolist()
        value = np.where(final, value, 0.0)
        scaled = np.where(final, scaled, 0.0)
        for i, (masked, nonfinite, bad_unc, bad_cont, outside, floor, n_valid) in enumerate(
                counts):
            report = SpectrumReport(
                index=-1,
                n_pixels=n_pix,
                n_masked=masked,
                n_nonfinite=nonfinite,
                n_bad_uncertainty=bad_unc,
                n_bad_continuum=bad_cont,
                n_outside_coverage=outside,
                n_floored_uncertainty=floor,
                n_valid=n_valid,
                uncertainty_source=source,
                normalisation=recipe.name,
                scale=float(scale[i]),
                snr=float(snr[i]),
                snr_read=float(min(snr[i], cfg.max_snr)
                               if cfg.max_snr is not None and seeds is not None else snr[i]),
            )
            yield rest[i], value[i], scaled[i], final[i], report

    def _check_usable(self, report, valid, on_error):
        if valid.any():
            return
        if report.n_pixels == 0:
            message = f"Spectrum {report.index} has no pixels."
            exc = EmptySpectrumError
        elif report.n_outside_coverage and report.n_outside_coverage == (
            report.n_pixels
            - report.n_masked
            - report.n_nonfinite
            - report.n_bad_uncertainty
            - report.n_bad_continuum
        ):
            ranges = ", ".join(f"{lo:.0f}-{hi:.0f} AA" for lo, hi in self.config.coverage)
            message = (
                f"Spectrum {report.index} lies entirely outside the coverage ({ranges}, "
                "vacuum, rest frame). Check the spectral unit, the medium (air/vacuum) and "
                "the velocity, or use a model that covers this range."
            )
            exc = CoverageError
        else:
            message = (
                f"Spectrum {report.index} has no usable pixel: of {report.n_pixels}, "
                f"{report.n_masked} are masked, {report.n_nonfinite} have non-finite flux, "
                f"{report.n_bad_uncertainty} have unusable uncertainties and "
                f"{report.n_bad_continuum} could not be normalised. Check the mask and the "
                "uncertainty array."
            )
            exc = EmptySpectrumError
        if on_error == "raise":
            raise exc(message + " (Pass on_error='mask' to carry on without it.)")
        report.error = message

    def _warn_partial_coverage(self, reports):
        partial = [r for r in reports if r.n_outside_coverage and r.n_valid]
        if partial:
            ranges = ", ".join(f"{lo:.0f}-{hi:.0f} AA" for lo, hi in self.config.coverage)
            total = sum(r.n_outside_coverage for r in partial)
            warnings.warn(
                f"{len(partial)} spectra extend beyond the coverage ({ranges}); {total} "
                "pixels outside it were masked (see TokenBatch.reports).",
                CoverageWarning,
                stacklevel=3,
            )

    def pack_rows(self, rows, reports, extra=None):
        """Pad token rows into a `TokenBatch`.

        Parameters
        ----------
        rows : list of tuple
            ``(spectrum_index, wavelength, value, error)`` per row, arrays of equal length.
        reports : list of SpectrumReport
            One per spectrum.
        extra : ExtraTokens, optional
            Non-spectral tokens appended to each row of their spectrum.

        Returns
        -------
        TokenBatch

        """
        return self._pack(rows, reports, extra)

    def _pack(self, rows, reports, extra):
        n_extra = 0 if extra is None else extra.ident.size
        width = max([len(r[1]) for r in rows], default=0) + n_extra
        n_rows = len(rows)
        wavelength = np.zeros((n_rows, width), np.float32)
        value = np.zeros((n_rows, width), np.float32)
        error = np.zeros((n_rows, width), np.float32)
        kind = np.zeros((n_rows, width), np.int64)
        ident = np.full((n_rows, width), -1, np.int64)
        valid = np.zeros((n_rows, width), bool)
        spectrum_index = np.zeros(n_rows, np.int64)
        if n_extra:
            extra_kind = np.array(
                [self.config.vocabulary[int(i)].kind for i in extra.ident], np.int64
            )
        for r, (index, wave, val, err) in enumerate(rows):
            n = len(wave)
            wavelength[r, :n] = wave
            value[r, :n] = val
            error[r, :n] = err
            valid[r, :n] = True
            spectrum_index[r] = index
            if n_extra:
                cols = slice(n, n + n_extra)
                present = extra.present[index]
                kind[r, cols] = np.where(present, extra_kind, TokenKind.FLUX)
                ident[r, cols] = np.where(present, extra.ident, -1)
                value[r, cols] = np.where(present, extra.value[index], 0.0)
                error[r, cols] = np.where(
                    present, np.maximum(extra.error[index], self.config.min_error), 0.0
                )
                valid[r, cols] = present
        if n_extra:
            for report in reports:
                report.n_inputs = int(extra.present[report.index].sum())
        return TokenBatch(
            wavelength=torch.from_numpy(wavelength),
            value=torch.from_numpy(value),
            error=torch.from_numpy(error),
            kind=torch.from_numpy(kind),
            ident=torch.from_numpy(ident),
            valid=torch.from_numpy(valid),
            spectrum_index=torch.from_numpy(spectrum_index),
            vocabulary=self.config.vocabulary,
            reports=reports,
        )


def tokenize(
    spectra,
    inputs=None,
    *,
    normalisation="continuum",
    coverage=None,
    max_tokens=None,
    cap_mode="subsample",
    seed=0,
    vocabulary=None,
    medium="vacuum",
    radial_velocity=None,
    redshift=None,
    on_error="raise",
):
    """Turn spectra into a padded batch of wavelength-aware tokens.

    A shortcut for ``Tokenizer(...)(spectra, ...)``; see `Tokenizer` and
    `TokenizerConfig` for the parameters.

    Returns
    -------
    TokenBatch

    Examples
    --------
    >>> import numpy as np, astropy.units as u
    >>> from specutils import Spectrum
    >>> import specfm
    >>> wave = np.linspace(1.51, 1.70, 3000) * u.um
    >>> flux = (1 - 0.3 * np.exp(-0.5 * ((wave - 1.6 * u.um) / (0.2 * u.nm)) ** 2)) * u.Jy
    >>> batch = specfm.tokenize(Spectrum(flux=flux, spectral_axis=wave))
    >>> batch.n_rows, batch.reports[0].n_valid
    (1, 3000)
    >>> round(float(batch.wavelength[0, 0]), 1)  # vacuum Angstrom
    15100.0

    """
    config = TokenizerConfig(
        normalisation=normalisation,
        coverage=coverage,
        max_tokens=max_tokens,
        cap_mode=cap_mode,
        seed=seed,
        vocabulary=vocabulary or DEFAULT_VOCABULARY,
    )
    return Tokenizer(config)(
        spectra,
        inputs=inputs,
        medium=medium,
        radial_velocity=radial_velocity,
        redshift=redshift,
        on_error=on_error,
    )
