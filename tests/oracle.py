"""A naive, high-precision oracle for the model (micrograd's spirit: obviously right, slow).

Direct loops in mpmath at 50 significant digits, with the product written exactly as the
model reads: s = N − Σ_i Π_j (1 − σ(x_ij)). Derivatives come from mpmath's own numerical
differentiation of L at that precision, so they check the closed forms in `core` rather
than repeat them.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np

mp.mp.dps = 50


def _rows(I: np.ndarray, D: np.ndarray):
    for i in range(I.shape[0]):
        yield [(mp.mpf(float(a)), mp.mpf(float(d))) for a, d in zip(I[i], D[i]) if a == a]


def s_exact(I: np.ndarray, D: np.ndarray, alpha, beta):
    alpha, beta = mp.mpf(alpha), mp.mpf(beta)
    s = mp.mpf(0)
    for row in _rows(I, D):
        p = mp.mpf(1)
        for a, d in row:
            p *= 1 - 1 / (1 + mp.exp(-(alpha * a + beta * d)))
        s += 1 - p
    return s


def loss_exact(I, D, y, alpha, beta):
    return (mp.mpf(y) - s_exact(I, D, alpha, beta)) ** 2 / 2


def oracle(I: np.ndarray, D: np.ndarray, y: float, alpha: float, beta: float) -> dict:
    """s, loss, grad (2,), hessian (2, 2), grad_s, hessian_s, all as float64."""

    def L(a, b):
        return loss_exact(I, D, y, a, b)

    def S(a, b):
        return s_exact(I, D, a, b)

    at = (mp.mpf(alpha), mp.mpf(beta))
    out = {
        "s": float(S(*at)),
        "loss": float(L(*at)),
        "grad": np.array([float(mp.diff(L, at, (1, 0))), float(mp.diff(L, at, (0, 1)))]),
        "grad_s": np.array([float(mp.diff(S, at, (1, 0))), float(mp.diff(S, at, (0, 1)))]),
    }
    for name, f in (("hessian", L), ("hessian_s", S)):
        h_aa = float(mp.diff(f, at, (2, 0)))
        h_ab = float(mp.diff(f, at, (1, 1)))
        h_bb = float(mp.diff(f, at, (0, 2)))
        out[name] = np.array([[h_aa, h_ab], [h_ab, h_bb]])
    return out
