"""The Cannon (Ness et al. 2015) as the classic peer of specfm-base in the benchmarks.

A quadratic Cannon: each pixel's flux is a second-order polynomial of the scaled labels,
``f = theta . v(x)`` with ``v = (1, x_i, x_i x_j)``, fitted pixel by pixel by weighted
least squares to a labelled training set (weights ``1 / (sigma^2 + s^2)``, with one
intrinsic scatter ``s`` per pixel: the mean squared residual beyond the uncertainties);
the test step fits the labels of each new spectrum by least squares (scipy), starting
from the linear solution.
It reads the same spectra as specfm (flux and uncertainty on the instrument's pixels), so
`synthetic_recovery.py` can put it beside specfm-base and the emulator fit.
"""

import numpy as np
from scipy.optimize import least_squares

__all__ = ["QuadraticCannon"]


class QuadraticCannon:
    """A quadratic-in-labels Cannon on one pixel grid.

    Parameters
    ----------
    labels : numpy.ndarray
        ``(n, k)`` training labels.
    flux, sigma : numpy.ndarray
        ``(n, n_pix)`` training fluxes and uncertainties (``inf`` or non-finite: unused).

    """

    def __init__(self, labels, flux, sigma):
        labels = np.asarray(labels, float)
        self.offset = np.nanmedian(labels, axis=0)
        self.scale = np.nanstd(labels, axis=0)
        x = (labels - self.offset) / self.scale
        self.k = x.shape[1]
        self.pairs = [(i, j) for i in range(self.k) for j in range(i, self.k)]
        design = self._design(x)
        flux, weight = self._weights(flux, sigma)
        self.scatter = np.zeros(flux.shape[1])
        for _ in range(2):  # fit, estimate the intrinsic scatter, fit again
            w = weight / (1.0 + weight * self.scatter**2)
            self.theta = self._solve(design, flux, w)
            resid = flux - design @ self.theta.T
            used = weight > 0
            variance = np.where(used, 1.0 / np.where(used, weight, 1.0), 0.0)
            excess = (np.sum(np.where(used, resid**2 - variance, 0.0), axis=0)
                      / np.maximum(used.sum(axis=0), 1))
            self.scatter = np.sqrt(np.clip(excess, 0.0, None))

    def _design(self, x):
        x = np.atleast_2d(x)
        quad = [x[:, i] * x[:, j] for i, j in self.pairs]
        return np.column_stack([np.ones(len(x)), x, *quad])

    @staticmethod
    def _weights(flux, sigma):
        flux = np.asarray(flux, float)
        sigma = np.asarray(sigma, float)
        good = np.isfinite(flux) & np.isfinite(sigma) & (sigma > 0)
        weight = np.where(good, 1.0 / np.where(good, sigma, 1.0) ** 2, 0.0)
        return np.where(good, flux, 0.0), weight

    @staticmethod
    def _solve(design, flux, weight):
        m = design.shape[1]
        outer = (design[:, :, None] * design[:, None, :]).reshape(len(design), m * m)
        a = (weight.T @ outer).reshape(-1, m, m)  # sum_n w_np v_n v_n^T, per pixel p
        b = (weight * flux).T @ design
        a += 1e-8 * np.eye(m)[None]
        return np.linalg.solve(a, b[..., None])[..., 0]

    def _jacobian(self, x):
        jac = np.zeros((self.theta.shape[1], self.k))
        jac[1:self.k + 1] = np.eye(self.k)
        for row, (i, j) in enumerate(self.pairs, start=self.k + 1):
            jac[row, i] += x[j]
            jac[row, j] += x[i]
        return self.theta @ jac  # (n_pix, k)

    def test(self, flux, sigma):
        """Fit the labels of spectra.

        Parameters
        ----------
        flux, sigma : numpy.ndarray
            ``(n, n_pix)``.

        Returns
        -------
        numpy.ndarray
            ``(n, k)`` labels, in the units of the training labels.

        """
        flux, weight = self._weights(np.atleast_2d(flux), np.atleast_2d(sigma))
        out = np.empty((len(flux), self.k))
        for n, (f, w) in enumerate(zip(flux, weight, strict=True)):
            root = np.sqrt(w / (1.0 + w * self.scatter**2))
            # the linear start: v's linear terms from an unconstrained solve
            lhs = self.theta[:, 1:] * root[:, None]
            v = np.linalg.lstsq(lhs, (f - self.theta[:, 0]) * root, rcond=None)[0]
            start = np.clip(v[:self.k], -5, 5)

            def residual(x, f=f, root=root):
                return (f - self.theta @ self._design(x)[0]) * root

            def jacobian(x, root=root):
                return -self._jacobian(x) * root[:, None]

            fit = least_squares(residual, start, jac=jacobian, method="lm")
            out[n] = fit.x
        return out * self.scale + self.offset
