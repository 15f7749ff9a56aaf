"""The rendering engine: fine emulator spectrum -> noiseless instrument pixels.

For one (instrument, emulator) pair, a `RenderPlan` is made once and reused:

1. the instrument's pixels are split into contiguous segments (chips, bands);
2. per segment, a uniform grid in ``u`` (see `specfm.synth.lsf`) is laid over the pixels
   plus a margin for the LSF wings and radial velocities, with steps of at most 1/5 of the
   FWHM (never finer than the emulator's own sampling);
3. each star's fine spectrum is Doppler-shifted and integrated over the ``u`` bins
   (carrying ``f dlambda/du``: flux over wavelength is conserved), optionally dimmed by
   extinction, convolved with a fixed Gaussian of FWHM 1 in ``u``, and integrated over
   each detector pixel.

Low-resolution instruments therefore cost little: the fine spectrum is binned down to a
handful of samples per resolution element before convolving.
"""

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..exceptions import SpecfmInputError
from ..wavelengths import SPEED_OF_LIGHT_KMS, doppler_factor
from .extinction import extinction_curve, transmission
from .lsf import FWHM_PER_SIGMA, bin_edges, cumulative_integral

__all__ = ["MAX_RADIAL_VELOCITY_KMS", "RenderPlan"]

MAX_RADIAL_VELOCITY_KMS = 1000.0
"""Largest |radial velocity| a plan leaves room for (km/s)."""

_OVERSAMPLE = 5.0
_WING_FWHM = 4.0


def _segments(wave):
    """Split sorted pixel centres into contiguous runs (break where a step jumps 10x)."""
    step = np.diff(wave)
    local = np.minimum(np.r_[step[0], step[:-1]], np.r_[step[1:], step[-1]])
    breaks = np.nonzero(step > 10.0 * local)[0] + 1
    return np.split(np.arange(wave.size), breaks)


def _hole_steps(wave):
    """Return which steps of a fine grid are holes, and the local step to use there.

    A hole is a step over 5 times both neighbouring steps (e.g. between detectors).
    """
    step = np.diff(wave)
    if step.size < 3:
        return np.zeros(step.size, dtype=bool), step
    local = np.minimum(np.r_[step[1], step[:-1]], np.r_[step[1:], step[-2]])
    hole = step > 5.0 * local
    return hole, np.where(hole, local, step)


def _fine_gaps(wave):
    """Intervals where the fine grid has holes."""
    big = np.nonzero(_hole_steps(wave)[0])[0]
    return np.stack([wave[big], wave[big + 1]], axis=1) if big.size else np.zeros((0, 2))


class _Segment:
    def __init__(self, lsf, emulator, edges):
        self.edges = edges  # instrument pixel edges (vacuum A), len n+1
        self.fwhm_pix = edges / lsf.resolution_at(edges)
        self.lsf = lsf
        fwhm_lo = edges[0] / lsf.resolution_at(edges[0])
        fwhm_hi = edges[-1] / lsf.resolution_at(edges[-1])
        vmax = MAX_RADIAL_VELOCITY_KMS / SPEED_OF_LIGHT_KMS
        lo = edges[0] * (1 - vmax) - _WING_FWHM * fwhm_lo
        hi = edges[-1] * (1 + vmax) + _WING_FWHM * fwhm_hi
        self.ref = np.geomspace(lo, hi, 8192)
        self.fine = emulator.pixel_slice(lo, hi)
        fine_wave = emulator._wave[self.fine]
        self.empty = fine_wave.size < 2  # no emulator pixels here: all masked
        self.direct = False
        if self.empty:
            return
        # the reference grid for u(lambda) must span the fine pixels too
        self.ref = np.geomspace(min(lo, fine_wave[0]) * 0.999, max(hi, fine_wave[-1]) * 1.001,
                                8192)
        native_du = np.diff(lsf.u_of(fine_wave, self.ref))
        du = max(1.0 / _OVERSAMPLE, float(native_du.min()) if native_du.size else 0.0)
        self.log_ref = np.log(self.ref)
        self.u_ref = lsf.u_of(self.ref, self.ref)
        self.u0, u_hi = np.interp(np.log([lo, hi]), self.log_ref, self.u_ref)
        n_u = max(int(np.ceil((u_hi - self.u0) / du)), 8)
        self.du = (u_hi - self.u0) / n_u
        # nodes of the uniform u grid (relative to u0) and their wavelengths
        self.nodes = self.du * np.arange(n_u + 1)
        self.lam_nodes = np.exp(np.interp(self.nodes + self.u0, self.u_ref, self.log_ref))
        # instrument pixel edges on the node grid: index and fraction
        u_pix = np.interp(np.log(edges), self.log_ref, self.u_ref) - self.u0
        j = np.clip(np.floor(u_pix / self.du).astype(int), 0, n_u - 1)
        self.pix_j, self.pix_t = j, u_pix / self.du - j
        # linear assignment and linear reconstruction each add a triangle kernel of
        # variance du**2 / 6; take them out of the Gaussian where possible
        var = (1.0 / FWHM_PER_SIGMA) ** 2 - self.du**2 / 3.0
        self.sigma_px = np.sqrt(max(var, (0.1 * self.du) ** 2)) / self.du
        self._setup_fine(fine_wave)

    def _setup_fine(self, fine_wave):
        """Group fine pixels into super-pixels no wider than 1/10 of the FWHM."""
        step = np.diff(fine_wave)
        med = float(np.median(step))
        hole, s = _hole_steps(fine_wave)  # holes must not inflate the weights
        weight = np.zeros(fine_wave.size)
        weight[:-1] += 0.5 * s
        weight[1:] += 0.5 * s
        fwhm_min = float(np.min(fine_wave / self.lsf.resolution_at(fine_wave)))
        k = max(1, int(fwhm_min / 10.0 / med))
        holes = np.nonzero(hole)[0] + 1  # groups never straddle a hole in the grid
        self.starts = np.unique(np.r_[np.arange(0, fine_wave.size, k), holes])
        ends = np.r_[self.starts[1:], fine_wave.size] - 1
        counts = ends - self.starts + 1
        self.weight = weight
        group_weight = np.add.reduceat(weight, self.starts)
        centre = np.add.reduceat(weight * fine_wave, self.starts) / group_weight
        self.offset = fine_wave - np.repeat(centre, counts)
        # each group spans its pixels' quadrature intervals; holes become empty groups
        half = np.r_[0.0, 0.5 * s, 0.0]  # half-steps left of pixel i: half[i]; right: half[i+1]
        left = fine_wave[self.starts] - half[self.starts]
        right = fine_wave[ends] + half[ends + 1]
        is_hole = left[1:] - right[:-1] > 1e-6 * np.minimum(right[:-1] - left[:-1], med)
        self.real = np.arange(self.starts.size) + np.r_[0, np.cumsum(is_hole)]
        self.n_groups = self.starts.size + int(is_hole.sum())
        bounds = np.empty(self.n_groups + 1)
        bounds[self.real] = left
        bounds[self.real + 1] = right
        self.centre = 0.5 * (bounds[1:] + bounds[:-1])
        self.centre[self.real] = centre
        self.u_bounds = np.interp(np.log(bounds), self.log_ref, self.u_ref) - self.u0
        self.r_bounds = self.lsf.resolution_at(bounds)
        self.u_centre = np.interp(np.log(self.centre), self.log_ref, self.u_ref) - self.u0
        self.r_centre = self.lsf.resolution_at(self.centre)
        self.u_mid = 0.5 * (self.u_bounds[1:] + self.u_bounds[:-1])
        self.r_mid = 0.5 * (self.r_bounds[1:] + self.r_bounds[:-1])
        self.r_nodes = self.lsf.resolution_at(self.lam_nodes)

    def assign(self, mass, moment, doppler):
        """Spread super-pixel flux onto the u nodes with linear (cloud-in-cell) weights.

        ``mass`` is the integral of flux over each super-pixel and ``moment`` the integral
        of flux times (wavelength - centre), both ``(n, n_super)`` in the rest frame.
        Flux is integrated exactly over each interval between nodes (taken uniform within
        a super-pixel) and split between the two nodes so as to keep its first moment in
        u: total flux and line positions are conserved, even for lines narrower than a
        node spacing. Returns the density per unit u at the nodes, ``(n, n_nodes)``.
        """
        if self.n_groups != mass.shape[1]:  # put empty groups into the holes
            full = np.zeros((len(mass), self.n_groups))
            full_moment = np.zeros_like(full)
            full[:, self.real] = mass
            full_moment[:, self.real] = moment
            mass, moment = full, full_moment
        n, n_sp = mass.shape
        log_d = np.log(doppler)[:, None]
        rows = np.arange(n)[:, None]
        # super-pixel holding each node, for each star's Doppler shift
        target = self.nodes[None, :] - self.r_nodes[None, :] * log_d
        g = np.clip(np.searchsorted(self.u_bounds, target) - 1, 0, n_sp - 1)
        lo = self.u_bounds[g] + self.r_bounds[g] * log_d
        hi = self.u_bounds[g + 1] + self.r_bounds[g + 1] * log_d
        t = np.clip((self.nodes[None, :] - lo) / (hi - lo), 0.0, 1.0)
        x = lo + t * (hi - lo)
        first = mass * (self.u_centre + self.r_centre * log_d) + self.r_centre * moment / (
            self.centre)
        mid = self.u_mid + self.r_mid * log_d
        extra = first - mass * mid  # first moment beyond that of a uniform super-pixel
        c0 = np.zeros((n, n_sp + 1))
        c1 = np.zeros((n, n_sp + 1))
        np.cumsum(mass, axis=1, out=c0[:, 1:])
        np.cumsum(first, axis=1, out=c1[:, 1:])
        m = mass[rows, g]
        cum0 = c0[rows, g] + m * t
        cum1 = c1[rows, g] + m * t * 0.5 * (x + lo) + extra[rows, g] * t
        a = np.diff(cum0, axis=1)
        b = np.diff(cum1, axis=1)
        j = np.arange(self.nodes.size - 1)[None, :]
        density = np.zeros((n, self.nodes.size))
        density[:, :-1] += (j + 1) * a - b / self.du
        density[:, 1:] += b / self.du - j * a
        return density * doppler[:, None] / self.du

    def integrate_pixels(self, density, edges):
        """Average over each instrument pixel of a density sampled at the nodes."""
        d = density
        cum = np.zeros_like(d)
        np.cumsum(0.5 * (d[:, 1:] + d[:, :-1]) * self.du, axis=1, out=cum[:, 1:])
        j, t = self.pix_j, self.pix_t
        at = cum[:, j] + self.du * (d[:, j] * t + 0.5 * (d[:, j + 1] - d[:, j]) * t**2)
        return np.diff(at, axis=1) / np.diff(edges)


class RenderPlan:
    """Precomputed geometry for rendering one emulator with one instrument.

    Parameters
    ----------
    instrument : specfm.synth.Instrument
        Target instrument.
    emulator : specfm.synth.Emulator
        Source of fine spectra.
    extinction_model : str
        Curve from `dust_extinction` used when ``av`` is given (fluxed instruments).

    Raises
    ------
    SpecfmInputError
        If the emulator's native resolution is clearly below the instrument's, or the
        emulator does not overlap the instrument at all.

    """

    def __init__(self, instrument, emulator, extinction_model="G23"):
        self.instrument = instrument
        self.emulator = emulator
        wave = instrument._wave
        lsf = instrument.lsf
        native = emulator.native_resolution
        if native is not None:
            r_max = float(lsf.resolution_at(wave).max())
            if r_max > 1.5 * native:
                raise SpecfmInputError(
                    f"Emulator {emulator.name!r} has resolving power ~{native:g}, far below "
                    f"{instrument.name}'s R={r_max:g}; it cannot make such spectra. Use an "
                    "emulator with higher native resolution (e.g. the Cannon models)."
                )
        fine = emulator._wave
        if wave[-1] < fine[0] or wave[0] > fine[-1]:
            raise SpecfmInputError(
                f"Emulator {emulator.name!r} ({fine[0]:.0f}-{fine[-1]:.0f} A) does not overlap "
                f"{instrument.name} ({wave[0]:.0f}-{wave[-1]:.0f} A)."
            )
        self.lsf = lsf.combined_with(native)
        self.segments = []
        for idx in _segments(wave):
            edges = bin_edges(wave[idx]) if idx.size > 1 else wave[idx] + [-0.5, 0.5]
            seg = _Segment(self.lsf, emulator, edges)
            # the emulator is already at (or above) the instrument's resolution: rebin only
            seg.direct = native is not None and bool(
                np.all(lsf.resolution_at(edges) >= 0.98 * native))
            self.segments.append((idx, seg))
        self.fine_lo, self.fine_hi = fine[0], fine[-1]
        self.fine_gaps = _fine_gaps(fine)
        self.extinction_model = extinction_model
        self._curves = {}

    def coverage(self, doppler):
        """Boolean ``(n, n_pixels)``: pixels whose LSF window lies on the emulator's grid.

        Parameters
        ----------
        doppler : numpy.ndarray
            ``1 + z`` per star.

        Returns
        -------
        numpy.ndarray
            True where the pixel can be computed.

        """
        n_pix = self.instrument._wave.size
        good = np.zeros((len(doppler), n_pix), dtype=bool)
        for idx, seg in self.segments:
            w = 3.0 * seg.fwhm_pix
            lo = (seg.edges[:-1] - w[:-1])[None, :] / doppler[:, None]
            hi = (seg.edges[1:] + w[1:])[None, :] / doppler[:, None]
            ok = (lo >= self.fine_lo) & (hi <= self.fine_hi)
            for g0, g1 in self.fine_gaps:
                ok &= (hi <= g0) | (lo >= g1)
            good[:, idx] = ok
        return good

    def render(self, array, radial_velocity, av=None, fluxed=False):
        """Noiseless instrument flux for internal label arrays.

        Parameters
        ----------
        array : numpy.ndarray
            Labels ``(n, n_labels)`` (already checked).
        radial_velocity : numpy.ndarray
            Radial velocity per star, km/s.
        av : numpy.ndarray, optional
            A(V) per star (magnitudes); applied only when ``fluxed``.
        fluxed : bool
            Multiply by the emulator's continuum model.

        Returns
        -------
        flux : numpy.ndarray
            Shape ``(n, n_pixels)`` float64 (zero at uncovered pixels).
        good : numpy.ndarray
            Coverage mask from `coverage` (True = computed).

        """
        n = len(array)
        rv = np.broadcast_to(np.asarray(radial_velocity, dtype=float), (n,))
        if np.any(np.abs(rv) > MAX_RADIAL_VELOCITY_KMS):
            raise SpecfmInputError(
                f"|radial velocity| must be <= {MAX_RADIAL_VELOCITY_KMS:g} km/s for rendering."
            )
        doppler = np.array([doppler_factor(v) for v in rv])
        out = np.zeros((n, self.instrument._wave.size))
        for idx, seg in self.segments:
            if seg.empty:
                continue
            fine_wave = self.emulator._wave[seg.fine]
            if seg.direct:
                flux = self.emulator.normalised_flux(array, seg.fine).astype(float)
                if fluxed:
                    flux = flux * self._continuum(array, fine_wave)
                cum = cumulative_integral(fine_wave, flux)
                for i in range(n):
                    at = np.interp(seg.edges / doppler[i], fine_wave, cum[i])
                    out[i, idx] = doppler[i] * np.diff(at) / np.diff(seg.edges)
                continue
            mass, moment = self.emulator.binned_moments(array, seg.fine, seg.starts,
                                                        seg.weight, seg.offset)
            if fluxed:
                continuum = self._continuum(array, seg.centre)
                mass, moment = mass * continuum, moment * continuum
            density = seg.assign(mass, moment, doppler)
            if fluxed and av is not None:
                density *= transmission(self._curve(seg), av)
            density = gaussian_filter1d(density, seg.sigma_px, axis=-1, mode="nearest",
                                        truncate=5.0)
            out[:, idx] = seg.integrate_pixels(density, seg.edges)
        good = self.coverage(doppler)
        out[~good] = 0.0
        return out, good

    def _continuum(self, array, wavelength):
        return np.exp(np.log(10.0) * self.emulator.log10_continuum(array, wavelength))

    def _curve(self, seg):
        key = id(seg)
        if key not in self._curves:
            self._curves[key] = extinction_curve(seg.lam_nodes, model=self.extinction_model)
        return self._curves[key]
