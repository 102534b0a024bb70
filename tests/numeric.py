"""Comparison helpers whose failures show analytic and reference values side by side
(autograd's ``check_grads`` is the model)."""

from __future__ import annotations

import numpy as np


def assert_close(name: str, got, want, *, rtol: float, scale=None) -> None:
    """|got − want| <= rtol · scale elementwise, scale defaulting to |want|.

    Pass ``scale`` (the sum of absolute values of the terms) where the exact value is
    the small difference of large terms: no algorithm in float64 beats that bound.
    """
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    scale = np.abs(want) if scale is None else np.asarray(scale, dtype=float)
    err = np.abs(got - want)
    bad = ~(err <= rtol * np.maximum(scale, np.finfo(float).tiny))
    if np.any(bad):
        rel = err / np.where(scale > 0, scale, 1.0)
        lines = [f"{name}: relative error above {rtol:g}"]
        lines.append(f"  {'index':>8}  {'analytic':>24}  {'reference':>24}  {'rel. error':>10}")
        for idx in zip(*np.nonzero(np.atleast_1d(bad))):
            g, w = np.atleast_1d(got)[idx], np.atleast_1d(want)[idx]
            r = np.atleast_1d(rel)[idx]
            pos = str(tuple(int(k) for k in idx))
            lines.append(f"  {pos:>8}  {g:>24.17g}  {w:>24.17g}  {r:>10.2e}")
        raise AssertionError("\n".join(lines))


def central_diff(f, x: np.ndarray, h: float) -> np.ndarray:
    """Central differences of a scalar or vector function f at x (2,)."""
    cols = []
    for k in range(len(x)):
        e = np.zeros_like(x)
        e[k] = h
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(cols, axis=-1)
