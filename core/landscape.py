"""Exact loss landscapes on a grid, and the model at many points at once.

    grid = landscape(ds, alphas, betas)       # grid.loss[k, l] is L at (alphas[l], betas[k])
    pts = evaluate_points(ds, alphas, betas)  # pts.loss[k] is L at (alphas[k], betas[k])

Both agree with :func:`core.evaluate` to ~1e-12 relative. ``evaluate_points``
and the ``"numpy"`` grid backend are the same log-space formula as ``evaluate``,
vectorised over points and chunked over data rows so memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import DataError
from .model import Dataset, logistic_parts

__all__ = ["Points", "evaluate_points"]

# Elements in one (points, rows, events) block of the numpy path: 2**20 float64 is
# 8 MB per temporary, about 60 MB at the peak of a block with the Hessian.
_BLOCK = 1 << 20


def _check_params(value: object, name: str, *, increasing: bool) -> np.ndarray:
    """``value`` as a finite 1-D float64 array of length >= 1, or raise DataError."""
    try:
        arr = np.array(value, dtype=np.float64)  # a copy: frozen below
    except (ValueError, TypeError):
        raise DataError(
            f"{name} must be a 1-D array of finite real numbers; got {value!r:.80} of type "
            f"{type(value).__name__}, which is not numeric. Pass e.g. np.linspace(-3, 3, 101)."
        ) from None
    if arr.ndim != 1:
        hint = f" Use np.atleast_1d({name})." if arr.ndim == 0 else f" Use {name}.ravel()."
        raise DataError(
            f"{name} must be a 1-D array of parameter values; got {arr.ndim}-D with shape "
            f"{arr.shape}.{hint}"
        )
    if arr.size < 1:
        raise DataError(f"{name} is empty; need at least one value.")
    bad = ~np.isfinite(arr)
    if bad.any():
        k = int(np.argmax(bad))
        raise DataError(
            f"{name} must hold finite numbers; {name}[{k}] is {arr[k]} ({int(bad.sum())} "
            f"non-finite value(s)). Drop or replace them."
        )
    if increasing and arr.size > 1:
        steps = np.diff(arr)
        if not (steps > 0).all():
            k = int(np.argmax(steps <= 0))
            raise DataError(
                f"{name} must be strictly increasing; {name}[{k}] = {arr[k]} is followed by "
                f"{name}[{k + 1}] = {arr[k + 1]}. Sort it and drop repeats "
                f"(np.unique({name}))."
            )
    return arr


# -- many points at once (numpy, log space) -------------------------------------------


@dataclass(frozen=True)
class Points:
    """The model at K points (alphas[k], betas[k]), as :func:`core.evaluate` gives it.

    alphas, betas, s, loss : ndarray (K,)
    grad, grad_s : ndarray (K, 2) = (∂/∂α, ∂/∂β) of L and of s
    hessian, hessian_s : ndarray (K, 2, 2), or None unless asked for
    """

    alphas: np.ndarray
    betas: np.ndarray
    y: float
    s: np.ndarray
    loss: np.ndarray
    grad: np.ndarray
    grad_s: np.ndarray
    hessian: np.ndarray | None = None
    hessian_s: np.ndarray | None = None


def _logspace_sums(
    I0: np.ndarray,
    D0: np.ndarray,
    present: np.ndarray | None,
    alphas: np.ndarray,
    betas: np.ndarray,
    hessian: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Σ_i q_i, Σ_i p_i a_i and Σ_i p_i c_i over one block of rows, for each point.

    I0, D0 : (n, E) zero-filled; present : (n, E) bool or None when all present
    alphas, betas : (K,)
    Returns s (K,), grad_s (K, 2) and hessian_s (K, 2, 2) or None, the same
    formulas as :func:`core.evaluate` (see there), vectorised over the K points.
    """
    X = alphas[:, None, None] * I0  # (K, n, E)
    X += betas[:, None, None] * D0
    if present is not None:
        np.copyto(X, -np.inf, where=~present)
    softplus, F, dF = logistic_parts(X)
    del X
    logp = -softplus.sum(axis=2)  # (K, n)
    del softplus
    p = np.exp(logp)
    s = (-np.expm1(logp)).sum(axis=1)
    a = np.stack([np.einsum("kij,ij->ki", F, I0), np.einsum("kij,ij->ki", F, D0)], axis=2)
    grad_s = np.einsum("ki,kim->km", p, a)
    if not hessian:
        return s, grad_s, None
    wI = dF * I0
    h_ii = np.einsum("kij,ij->ki", wI, I0)
    h_id = np.einsum("kij,ij->ki", wI, D0)
    del wI
    h_dd = np.einsum("kij,ij->ki", dF * D0, D0)
    c = np.stack([h_ii, h_id, h_id, h_dd], axis=2).reshape(*h_ii.shape, 2, 2)
    c -= a[:, :, :, None] * a[:, :, None, :]
    hessian_s = np.einsum("ki,kilm->klm", p, c)
    return s, grad_s, hessian_s


def _row_blocks(N: int, E: int, K: int) -> tuple[int, int]:
    """(points per block, rows per block) so that one block holds <= _BLOCK elements."""
    rows = max(1, min(N, _BLOCK // max(E, 1)))
    points = max(1, min(K, _BLOCK // (rows * E)))
    return points, rows


def _points_sums(ds: Dataset, alphas: np.ndarray, betas: np.ndarray, hessian: bool, tick=None):
    """s (K,), grad_s (K, 2), hessian_s (K, 2, 2) | None summed over all rows of ``ds``.

    ``tick(done_fraction)`` is called after every block (progress and cancel).
    """
    K = alphas.size
    N, E = ds.N, ds.E
    present = None if ds.all_present else ds.present
    kb, nb = _row_blocks(N, E, K)
    s = np.zeros(K)
    grad_s = np.zeros((K, 2))
    hess_s = np.zeros((K, 2, 2)) if hessian else None
    n_blocks = -(-K // kb) * -(-N // nb)
    done = 0
    for k0 in range(0, K, kb):
        ks = slice(k0, k0 + kb)
        for r0 in range(0, N, nb):
            rs = slice(r0, r0 + nb)
            part = _logspace_sums(
                ds._I0[rs],
                ds._D0[rs],
                None if present is None else present[rs],
                alphas[ks],
                betas[ks],
                hessian,
            )
            s[ks] += part[0]
            grad_s[ks] += part[1]
            if hessian:
                hess_s[ks] += part[2]
            done += 1
            if tick is not None:
                tick(done / n_blocks)
    return s, grad_s, hess_s


def evaluate_points(ds: Dataset, alphas: object, betas: object, *, hessian: bool = False) -> Points:
    """s, L, ∇L (and the Hessian) at K arbitrary points, exactly like :func:`core.evaluate`.

    alphas, betas : array-like (K,), finite, any order
    Returns :class:`Points` with s, loss (K,), grad (K, 2) and, when ``hessian=True``,
    hessian (K, 2, 2). Work is chunked over points and data rows (<= ~60 MB extra).
    """
    alphas = _check_params(alphas, "alphas", increasing=False)
    betas = _check_params(betas, "betas", increasing=False)
    if alphas.shape != betas.shape:
        raise DataError(
            f"alphas and betas must have the same length K (one point each); got "
            f"{alphas.size} alphas and {betas.size} betas. For every pair of a grid use "
            "landscape(ds, alphas, betas) instead."
        )
    s, grad_s, hess_s = _points_sums(ds, alphas, betas, hessian)
    r = s - ds.y
    loss = 0.5 * r * r
    grad = r[:, None] * grad_s
    hess = None
    if hessian:
        hess = grad_s[:, :, None] * grad_s[:, None, :] + r[:, None, None] * hess_s
    for arr in (alphas, betas):
        arr.flags.writeable = False
    return Points(
        alphas=alphas,
        betas=betas,
        y=ds.y,
        s=s,
        loss=loss,
        grad=grad,
        grad_s=grad_s,
        hessian=hess,
        hessian_s=hess_s,
    )
