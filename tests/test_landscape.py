"""core.landscape: grids and many points agree with core.evaluate at every cell."""

from __future__ import annotations

import numpy as np
import pytest

from core import DataError, Dataset, evaluate, evaluate_points

# -- helpers ---------------------------------------------------------------------------


def ragged(rng: np.random.Generator, N: int, E: int, *, scale: float = 1.0) -> tuple:
    """I, D (N, E) with NaN tails of random length (some rows empty)."""
    I = rng.normal(size=(N, E)) * scale
    D = rng.normal(size=(N, E)) * scale
    lengths = rng.integers(0, E + 1, size=N)
    absent = np.arange(E)[None, :] >= lengths[:, None]
    I[absent] = np.nan
    D[absent] = np.nan
    return I, D


def assert_close(name: str, got, want, *, rtol: float, scale=None) -> None:
    """|got - want| <= rtol * (|want| or a given scale), reporting both side by side."""
    got, want = np.asarray(got, float), np.asarray(want, float)
    ref = np.abs(want) if scale is None else np.asarray(scale, float)
    err = np.abs(got - want)
    bad = ~(err <= rtol * ref)
    if bad.any():
        idx = np.argwhere(bad)[:5]
        rows = "\n".join(
            f"  at {tuple(int(v) for v in i)}: got {got[tuple(i)]!r}  "
            f"evaluate {want[tuple(i)]!r}  rel {err[tuple(i)] / max(ref[tuple(i)], 1e-300):.3g}"
            for i in idx
        )
        raise AssertionError(f"{name}: {int(bad.sum())} of {bad.size} differ beyond {rtol}\n{rows}")


def grad_scale(ds: Dataset, alpha: float, beta: float) -> np.ndarray:
    """|s - y| · Σ_i p_i Σ_j F_ij |Z_ij|: the size of the terms summed into ∂L/∂θ.

    The gradient is a sum of terms of both signs; two correct summation orders
    differ by eps times this, not by eps times the (possibly cancelled) result.
    """
    ev = evaluate(ds, alpha, beta, parts=True)
    P = ev.parts
    F = np.nan_to_num(P.F)
    terms = np.stack([F * np.abs(ds._I0), F * np.abs(ds._D0)]).sum(axis=2) @ P.p
    return abs(ev.s - ds.y) * terms + 1e-300


# -- evaluate_points -------------------------------------------------------------------


@pytest.mark.parametrize("hessian", [False, True])
def test_evaluate_points_matches_evaluate(rng, hessian):
    I, D = ragged(rng, 200, 6)
    ds = Dataset(I, D, 37.0)
    alphas = rng.normal(size=40) * 3
    betas = rng.normal(size=40) * 3
    alphas[:3] = [400.0, -400.0, 0.0]  # saturated σ and the origin
    pts = evaluate_points(ds, alphas, betas, hessian=hessian)
    assert pts.s.shape == pts.loss.shape == (40,)
    assert pts.grad.shape == (40, 2)
    assert (pts.hessian is not None) == hessian
    for k in range(40):
        ev = evaluate(ds, alphas[k], betas[k])
        assert_close(f"s[{k}]", pts.s[k], ev.s, rtol=1e-12)
        assert_close(f"loss[{k}]", pts.loss[k], ev.loss, rtol=1e-12)
        assert_close(
            f"grad[{k}]", pts.grad[k], ev.grad, rtol=1e-12, scale=grad_scale(ds, *pts_at(pts, k))
        )
        if hessian:
            assert pts.hessian.shape == (40, 2, 2)
            hscale = np.abs(ev.hessian).max() + np.abs(ev.grad_s).max() ** 2
            assert_close(f"hessian[{k}]", pts.hessian[k], ev.hessian, rtol=1e-10, scale=hscale)


def pts_at(pts, k: int) -> tuple[float, float]:
    return float(pts.alphas[k]), float(pts.betas[k])


def test_evaluate_points_chunks_over_rows(rng, monkeypatch):
    """Blocks smaller than the data give the same sums (forces many row and point blocks)."""
    import core.landscape as L

    I, D = ragged(rng, 101, 5)
    ds = Dataset(I, D, 10.0)
    alphas, betas = rng.normal(size=9), rng.normal(size=9)
    whole = evaluate_points(ds, alphas, betas, hessian=True)
    monkeypatch.setattr(L, "_BLOCK", 7)
    parts = evaluate_points(ds, alphas, betas, hessian=True)
    assert_close("s", parts.s, whole.s, rtol=1e-13)
    assert_close("grad", parts.grad, whole.grad, rtol=1e-12, scale=np.abs(whole.grad).max())


def test_evaluate_points_rare_events(rng):
    """s ~ 1e-17: the naive 1 - prod would give 0; we keep full relative accuracy."""
    I = rng.uniform(1, 2, size=(50, 4))
    D = rng.uniform(1, 2, size=(50, 4))
    ds = Dataset(I, D, 0.0)
    pts = evaluate_points(ds, [-30.0, -28.0], [-10.0, -9.0])
    for k in range(2):
        ev = evaluate(ds, pts.alphas[k], pts.betas[k])
        assert ev.s < 1e-15
        assert_close("s", pts.s[k], ev.s, rtol=1e-12)
        assert_close("grad", pts.grad[k], ev.grad, rtol=1e-12)


def test_evaluate_points_does_not_freeze_the_callers_array(rng):
    ds = Dataset(rng.normal(size=(5, 2)), rng.normal(size=(5, 2)), 1.0)
    a = np.array([0.1, 0.2])
    evaluate_points(ds, a, a)
    a[0] = 3.0  # still writable


@pytest.mark.parametrize(
    ("alphas", "betas", "match"),
    [
        ([1.0, 2.0], [1.0], r"same length K.*got 2 alphas and 1 betas"),
        ([[1.0, 2.0]], [[1.0, 2.0]], r"alphas must be a 1-D.*shape \(1, 2\)"),
        (1.0, 1.0, r"alphas must be a 1-D.*got 0-D.*np.atleast_1d"),
        ([], [], r"alphas is empty"),
        ([1.0, np.nan], [1.0, 2.0], r"alphas must hold finite.*alphas\[1\] is nan"),
        ([1.0, 2.0], [np.inf, 2.0], r"betas must hold finite.*betas\[0\] is inf"),
        (["a"], [1.0], r"alphas must be a 1-D array of finite real numbers.*not numeric"),
    ],
)
def test_evaluate_points_rejects_bad_input(rng, alphas, betas, match):
    ds = Dataset(rng.normal(size=(5, 2)), rng.normal(size=(5, 2)), 1.0)
    with pytest.raises(DataError, match=match):
        evaluate_points(ds, alphas, betas)
