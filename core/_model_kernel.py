"""numba kernel for :func:`core.evaluate` (private; the numpy path in core/model.py is its twin).

One pass over the data: for each row i, with x = α I_ij + β D_ij over present events,

    log p_i = −Σ_j softplus(x),   a_i = Σ_j F_ij (I_ij, D_ij),
    c_i = Σ_j F_ij (1 − F_ij) (I_ij², I_ij D_ij, D_ij²)

with the same stable formulas as ``core.model.logistic_parts`` (e = exp(−|x|)).
The (N,)-sized rest (p, 1 − p, the sums over rows) stays in numpy, shared with
the numpy path, so both give the same answer to rounding.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["row_sums"]


@njit(cache=True, parallel=True, fastmath=False)
def row_sums(
    I0: np.ndarray,
    D0: np.ndarray,
    present: np.ndarray,
    all_present: bool,
    alpha: float,
    beta: float,
    hessian: bool,
    logp: np.ndarray,
    a: np.ndarray,
    c: np.ndarray,
) -> None:
    """Fill logp (N,), a (N, 2) and, when ``hessian``, c (N, 3) for one (α, β)."""
    N, E = I0.shape
    for i in prange(N):
        lp = 0.0
        a1 = 0.0
        a2 = 0.0
        c11 = 0.0
        c12 = 0.0
        c22 = 0.0
        for j in range(E):
            if not all_present and not present[i, j]:
                continue
            zi = I0[i, j]
            zd = D0[i, j]
            x = alpha * zi + beta * zd
            e = math.exp(-abs(x))
            one_plus = 1.0 + e
            lp -= max(x, 0.0) + math.log1p(e)
            F = (1.0 if x >= 0 else e) / one_plus
            a1 += F * zi
            a2 += F * zd
            if hessian:
                dF = e / (one_plus * one_plus)
                c11 += dF * zi * zi
                c12 += dF * zi * zd
                c22 += dF * zd * zd
        logp[i] = lp
        a[i, 0] = a1
        a[i, 1] = a2
        if hessian:
            c[i, 0] = c11
            c[i, 1] = c12
            c[i, 2] = c22


def warm_up() -> None:
    """Load (or compile) the kernel on a tiny problem."""
    one = np.ones((1, 1))
    row_sums(
        one,
        one,
        np.ones((1, 1), dtype=np.bool_),
        True,
        0.5,
        0.5,
        True,
        np.empty(1),
        np.empty((1, 2)),
        np.empty((1, 3)),
    )
