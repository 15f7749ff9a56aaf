"""Preset instruments, with the sources of their numbers.

Each preset is a function returning a new `~specfm.synth.Instrument`; keyword arguments
override any of its settings (e.g. ``boss(normalisation="none")`` for fluxed BOSS
spectra, or ``apogee(snr=50)``). `~specfm.synth.get_instrument` looks one up by name.

=========  ==================  ===========  ======  ================  =============
Name       Range (Angstrom)    Pixels       R       Medium            Product
=========  ==================  ===========  ======  ================  =============
apogee     15100-17000         8575 log     22,500  vacuum            normalised
gaia_xp    3360-10200          343 (20 A)   ~25-70  vacuum (nominal)  / median
gaia_rvs   8460-8700           2401 (0.1)   11,500  vacuum            normalised
galah      4 bands 4713-7887   4 x 4096     28,000  air               normalised
lamost     3700-9000           log 1e-4     1,800   vacuum            normalised
boss       3600-10300          log 1e-4     ~2,000  vacuum            normalised
=========  ==================  ===========  ======  ================  =============
"""

import functools
import importlib.resources

import astropy.units as u
import numpy as np

from ..exceptions import SpecfmInputError
from .instruments import Instrument
from .noise import NoiseModel

__all__ = [
    "APOGEE_ASPCAP_PIXELS",
    "APOGEE_CHIP_PIXELS",
    "PRESETS",
    "apogee",
    "apogee_chips",
    "boss",
    "gaia_rvs",
    "gaia_xp",
    "gaia_xp_noise_shape",
    "galah",
    "get_instrument",
    "lamost",
]

APOGEE_CHIP_PIXELS = ((202, 3320), (3538, 6126), (6295, 8378))
"""Pixel ranges (start, stop) of the three APOGEE detectors on the 8575-pixel apStar grid:
the pixels with data in DR17 apStar files (the two shared files agree to 4 pixels)."""

APOGEE_ASPCAP_PIXELS = ((246, 3274), (3585, 6080), (6344, 8335))
"""The narrower ranges ASPCAP fits (their concatenation is the 7514-pixel "gap-free" grid);
pass ``chips=apogee_chips(APOGEE_ASPCAP_PIXELS)`` to `apogee` to use them."""


def apogee_chips(pixel_ranges=APOGEE_CHIP_PIXELS):
    """Wavelength ranges of APOGEE pixel ranges, for the ``chips`` argument.

    Parameters
    ----------
    pixel_ranges : sequence of (int, int)
        (start, stop) pixel indices on the apStar grid.

    Returns
    -------
    list of tuple of `~astropy.units.Quantity`
        (first, last) pixel wavelength of each range (vacuum).

    """
    wave = 10.0 ** (4.179 + 6e-6 * np.arange(8575))
    return [(wave[a] * u.AA, wave[b - 1] * u.AA) for a, b in pixel_ranges]


def _log_grid(lo, hi, step):
    n = int(np.floor((np.log10(hi) - np.log10(lo)) / step)) + 1
    return 10.0 ** (np.log10(lo) + step * np.arange(n))


def _build(defaults, overrides):
    kw = {**defaults, **overrides}
    name = kw.pop("name")
    wave = kw.pop("wavelength")
    res = kw.pop("resolution")
    return Instrument(name, wave, res, **kw)


def apogee(**overrides):
    """SDSS APOGEE (apStar/aspcapStar pixel grid).

    R ~ 22,500 (Majewski et al. 2017, AJ 154, 94; Wilson et al. 2019, PASP 131, 055001);
    log-linear grid ``log10(lambda) = 4.179 + 6e-6 i``, i = 0..8574, vacuum (Nidever et
    al. 2015, AJ 150, 173); chip gaps outside ``APOGEE_CHIP_PIXELS`` are masked (NaN in
    DR17 apStar files).

    Parameters
    ----------
    **overrides
        Any `~specfm.synth.Instrument` argument.

    Returns
    -------
    specfm.synth.Instrument
        The preset.

    Examples
    --------
    >>> inst = apogee()
    >>> inst.n_pixels, int(inst.pixel_mask.sum())
    (8575, 786)

    """
    wave = 10.0 ** (4.179 + 6e-6 * np.arange(8575))
    chips = apogee_chips(APOGEE_CHIP_PIXELS)
    return _build(dict(name="apogee", wavelength=wave * u.AA, resolution=22500.0,
                       medium="vacuum", normalisation="continuum", chips=chips, snr=100.0,
                       reference="Majewski+2017; Wilson+2019; Nidever+2015 (apStar grid)"),
                  overrides)


GAIA_XP_RESOLUTION = (
    np.array([3300.0, 5000.0, 6000.0, 6700.0, 10500.0]) * u.AA,
    np.array([70.0, 35.0, 25.0, 55.0, 45.0]),
)
"""Approximate resolving power of Gaia XP spectra (BP in the blue, RP in the red), from the
BP/RP dispersion (BP ~3 to ~27 nm/pixel over 330-640 nm, RP ~7 to ~15 nm/pixel over
640-1050 nm; Carrasco et al. 2021, A&A 652, A86) with an LSF FWHM of about 1.5 pixels.
The change from BP to RP is spread over 6000-6700 A, where the sampled spectra blend the
two (a step in R would create spurious features). Good to perhaps 30 per cent; the
sampled spectra are smoothed further by their basis functions (De Angeli et al. 2023,
A&A 674, A2)."""


@functools.lru_cache(maxsize=1)
def gaia_xp_noise_shape():
    """Return the per-pixel factor on photon noise of real Gaia XP spectra (343 values).

    Fitted with `~specfm.synth.NoiseModel.fit` to the uncertainties of the training split of
    the Gaia XP / APOGEE table (``benchmarks/xp_noise_shape.py --package-data``; the file
    ``specfm/data/gaia_xp_noise_shape.ecsv``). It is 7-12 below 3900 Angstrom, 2-4.5 above
    10000 Angstrom and 0.5-1 in the middle of BP and RP: at the same median S/N, the blue
    end of a real XP spectrum is about ten times noisier than photon noise alone.

    Returns
    -------
    numpy.ndarray
        Median 1, on the pixels of `gaia_xp`.

    Examples
    --------
    >>> shape = gaia_xp_noise_shape()
    >>> shape.shape, bool(shape[0] > 5 * shape[150])
    ((343,), True)

    """
    from astropy.table import QTable

    path = importlib.resources.files("specfm.data") / "gaia_xp_noise_shape.ecsv"
    with importlib.resources.as_file(path) as local:
        table = QTable.read(local, format="ascii.ecsv")
    shape = np.asarray(table["relative_sigma"], dtype=float)
    shape.setflags(write=False)
    return shape


def gaia_xp(**overrides):
    """Gaia DR3 XP sampled mean spectra as in the shared data (fluxed, divided by median).

    343 pixels from 3360 to 10200 Angstrom in 20 Angstrom steps (Gaia DR3
    ``xp_sampled_mean_spectrum``; Montegriffo et al. 2023, A&A 674, A3); resolving power
    from ``GAIA_XP_RESOLUTION``; interstellar extinction is applied with ``av`` in
    `~specfm.synth.Instrument.render` (G23 curve of ``dust_extinction``); each spectrum is
    divided by its median, as in ``gaia_xp_apogee/train.fits.gz``. At this resolution the
    air/vacuum difference (~2 A) is far below a pixel; wavelengths are taken as vacuum.
    The noise is photon noise times `gaia_xp_noise_shape`, the shape of real XP
    uncertainties (much larger at both ends); pass ``noise=NoiseModel("photon")`` for
    photon noise alone.

    Parameters
    ----------
    **overrides
        Any `~specfm.synth.Instrument` argument.

    Returns
    -------
    specfm.synth.Instrument
        The preset.

    """
    wave = 3360.0 + 20.0 * np.arange(343)
    return _build(dict(name="gaia_xp", wavelength=wave * u.AA, resolution=GAIA_XP_RESOLUTION,
                       medium="vacuum", normalisation="median", snr=100.0,
                       noise=NoiseModel("photon", relative_sigma=gaia_xp_noise_shape()),
                       reference="Carrasco+2021; De Angeli+2023; Montegriffo+2023"), overrides)


def gaia_rvs(**overrides):
    """Gaia RVS spectra (DR3 published format).

    R ~ 11,500, 8460-8700 Angstrom sampled every 0.1 Angstrom (2401 pixels), vacuum,
    continuum-normalised (Cropper et al. 2018, A&A 616, A5; Katz et al. 2023, A&A 674, A5).

    Parameters
    ----------
    **overrides
        Any `~specfm.synth.Instrument` argument.

    Returns
    -------
    specfm.synth.Instrument
        The preset.

    """
    wave = 8460.0 + 0.1 * np.arange(2401)
    return _build(dict(name="gaia_rvs", wavelength=wave * u.AA, resolution=11500.0,
                       medium="vacuum", normalisation="continuum", snr=50.0,
                       reference="Cropper+2018; Katz+2023"), overrides)


GALAH_BANDS = ((4713.0, 4903.0), (5648.0, 5873.0), (6478.0, 6737.0), (7585.0, 7887.0))
"""The four HERMES bands (air Angstrom; Sheinis et al. 2015, JATIS 1, 035002)."""


def galah(**overrides):
    """GALAH / HERMES: four bands at R ~ 28,000, air wavelengths, 4096 pixels per band.

    Bands ``GALAH_BANDS`` (Sheinis et al. 2015; De Silva et al. 2015, MNRAS 449, 2604);
    normalised spectra on air wavelengths as in GALAH DR3 (Buder et al. 2021, MNRAS 506,
    150).

    Parameters
    ----------
    **overrides
        Any `~specfm.synth.Instrument` argument.

    Returns
    -------
    specfm.synth.Instrument
        The preset.

    """
    wave = np.concatenate([np.linspace(lo, hi, 4096) for lo, hi in GALAH_BANDS])
    return _build(dict(name="galah", wavelength=wave * u.AA, resolution=28000.0,
                       medium="air", normalisation="continuum", snr=80.0,
                       reference="Sheinis+2015; De Silva+2015; Buder+2021"), overrides)


def lamost(**overrides):
    """LAMOST low-resolution survey: R ~ 1,800, 3700-9000 Angstrom, log10 step 1e-4, vacuum.

    Cui et al. 2012 (RAA 12, 1197); Luo et al. 2015 (RAA 15, 1095). Normalised by default;
    pass ``normalisation="none"`` for (relatively) flux-calibrated spectra.

    Parameters
    ----------
    **overrides
        Any `~specfm.synth.Instrument` argument.

    Returns
    -------
    specfm.synth.Instrument
        The preset.

    """
    return _build(dict(name="lamost", wavelength=_log_grid(3700.0, 9000.0, 1e-4) * u.AA,
                       resolution=1800.0, medium="vacuum", normalisation="continuum",
                       snr=50.0, reference="Cui+2012; Luo+2015"), overrides)


BOSS_RESOLUTION = (
    np.array([3700.0, 5999.0, 6001.0, 9000.0]) * u.AA,
    np.array([1560.0, 2270.0, 1850.0, 2650.0]),
)
"""BOSS resolving power: 1560-2270 in the blue arm, 1850-2650 in the red (dichroic at
~6000 A), Smee et al. 2013, AJ 146, 32; held constant beyond the ends."""


def boss(**overrides):
    """SDSS/BOSS optical spectra: 3600-10300 Angstrom, log10 step 1e-4, vacuum.

    Resolving power from ``BOSS_RESOLUTION`` (Smee et al. 2013; Dawson et al. 2013, AJ 145,
    10). Normalised by default; pass ``normalisation="none"`` for fluxed spectra.

    Parameters
    ----------
    **overrides
        Any `~specfm.synth.Instrument` argument.

    Returns
    -------
    specfm.synth.Instrument
        The preset.

    """
    return _build(dict(name="boss", wavelength=_log_grid(3600.0, 10300.0, 1e-4) * u.AA,
                       resolution=BOSS_RESOLUTION, medium="vacuum",
                       normalisation="continuum", snr=30.0,
                       reference="Smee+2013; Dawson+2013"), overrides)


PRESETS = {f.__name__: f for f in (apogee, gaia_xp, gaia_rvs, galah, lamost, boss)}
"""Preset name -> function making the instrument."""


def get_instrument(name, **overrides):
    """Make a preset instrument by name.

    Parameters
    ----------
    name : str
        One of ``PRESETS`` (case-insensitive; ``-`` and spaces read as ``_``).
    **overrides
        Passed to the preset.

    Returns
    -------
    specfm.synth.Instrument
        The instrument.

    Raises
    ------
    SpecfmInputError
        Unknown name.

    Examples
    --------
    >>> get_instrument("Gaia-RVS").name
    'gaia_rvs'

    """
    key = str(name).lower().replace("-", "_").replace(" ", "_")
    if key not in PRESETS:
        raise SpecfmInputError(f"Unknown instrument {name!r}; presets are {sorted(PRESETS)}.")
    return PRESETS[key](**overrides)
