"""The engine's contract: sums over rows add across row blocks, for points and grids, on
both backends, and the totals form L, ∇L, ∇²L as evaluate reports them."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import Dataset, evaluate, grid_sums
from core.engine import Sums, point_sums, totals
from tests.datasets import ragged, rare
from tests.numeric import assert_close

BACKENDS = ["numba", "numpy"]


@pytest.mark.parametrize("backend", BACKENDS)
@given(cut=st.integers(1, 59), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=15, deadline=None)
def test_point_sums_add_across_any_cut_of_the_rows(backend, cut, seed):
    rng = np.random.default_rng(seed)
    I, D = ragged(rng, 60, 5)
    alphas, betas = rng.normal(size=4) * 3, rng.normal(size=4) * 3
    whole = point_sums(I, D, alphas, betas, hessian=True, backend=backend)
    parts = point_sums(I[:cut], D[:cut], alphas, betas, hessian=True, backend=backend) + (
        point_sums(I[cut:], D[cut:], alphas, betas, hessian=True, backend=backend)
    )
    assert_close("s", parts.s, whole.s, rtol=1e-13)
    assert_close("grad_s", parts.grad_s, whole.grad_s, rtol=1e-12, scale=np.abs(whole.grad_s).max())
    scale = np.abs(whole.hessian_s).max()
    assert_close("hessian_s", parts.hessian_s, whole.hessian_s, rtol=1e-12, scale=scale)


@pytest.mark.parametrize("backend", BACKENDS)
def test_grid_sums_add_across_row_blocks_and_equal_point_sums(rng, backend):
    I, D = ragged(rng, 90, 6)
    alphas, betas = np.linspace(-3, 3, 9), np.linspace(-2, 2, 7)
    _, whole = grid_sums(I, D, alphas, betas, gradient=True, backend=backend)
    blocks = [grid_sums(I[r], D[r], alphas, betas, gradient=True, backend=backend)[1]
              for r in (slice(0, 31), slice(31, 32), slice(32, 90))]  # fmt: skip
    added = sum(blocks[1:], blocks[0])
    assert_close("s", added.s, whole.s, rtol=1e-13)
    assert_close("grad_s", added.grad_s, whole.grad_s, rtol=1e-12, scale=np.abs(whole.grad_s).max())
    cells = point_sums(I, D, np.tile(alphas, 7), np.repeat(betas, 9), backend="numpy")
    assert_close("s vs points", whole.s, cells.s, rtol=1e-13)
    assert_close("grad vs points", whole.grad_s, cells.grad_s, rtol=1e-12,
                 scale=np.abs(cells.grad_s).max())  # fmt: skip


def test_backends_agree_on_rare_events(rng):
    I, D = rare(rng, 50, 4)
    a, b = np.array([-38.0, -30.0]), np.array([-1.0, 0.5])
    fast = point_sums(I, D, a, b, hessian=True, backend="numba")
    slow = point_sums(I, D, a, b, hessian=True, backend="numpy")
    assert (fast.s > 0).all() and (fast.s < 1e-6).all()
    assert_close("s", fast.s, slow.s, rtol=1e-13)
    assert_close("grad_s", fast.grad_s, slow.grad_s, rtol=1e-12)


def test_totals_form_what_evaluate_reports(rng):
    I, D = ragged(rng, 40, 5)
    ds = Dataset(I, D, 17.0)
    sums = point_sums(I, D, np.array([0.4]), np.array([-0.7]), hessian=True)
    t = totals(sums, ds.y)
    ev = evaluate(ds, 0.4, -0.7)
    assert t.s[0] == ev.s and t.loss[0] == ev.loss
    np.testing.assert_array_equal(t.grad[0], ev.grad)
    np.testing.assert_array_equal(t.hessian[0], ev.hessian)
    r = ev.s - ds.y
    np.testing.assert_allclose(ev.hessian, np.outer(ev.grad_s, ev.grad_s) + r * ev.hessian_s)


def test_sums_without_hessian_add_without_one():
    a = Sums(np.ones(2), np.ones((2, 2)))
    b = Sums(np.ones(2), np.ones((2, 2)), np.ones((2, 2, 2)))
    assert (a + b).hessian_s is None and ((a + a).s == 2).all()


def test_a_job_worth_the_kernels_loads_them_in_the_background():
    """A notebook's first evaluate answers at once (numpy) and starts loading numba, so
    later calls take the kernels; the answer is the same either way."""
    code = """
import numpy as np, core, core.engine as engine
rng = np.random.default_rng(0)
ds = core.Dataset(rng.normal(size=(5000, 20)), rng.normal(size=(5000, 20)), 2000.0)
first = core.evaluate(ds, 0.3, -0.2)
assert not engine.numba_ready.is_set() and len(engine._WARMING) == 1
engine._WARMING[0].join(120)
assert engine.numba_ready.is_set()
later = core.evaluate(ds, 0.3, -0.2)
assert abs(later.s - first.s) <= 1e-13 * first.s, (later.s, first.s)
print("ok")
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-2000:]


def test_the_kernels_exp_is_within_one_ulp_of_numpys_over_its_whole_range():
    """The points kernel's own exp(−|x|) (arithmetic, vectorisable: numba has no SVML here),
    densely over [0, 746]: outputs from 1 down through the subnormals to 0, and the
    special inputs (NaN marks an absent event: 0)."""
    from numba import njit

    from core import _kernels

    @njit
    def exp_neg_abs(x, out):
        for m in range(x.size):
            out[m] = _kernels.exp_neg_abs(x[m])

    tiny = np.finfo(float).tiny
    special = [0.0, -0.0, 5e-324, 1e-300, 708.39, 708.4, 745.13, 745.14, 1e308, np.inf]
    x = np.concatenate([np.linspace(0.0, 746.0, 2_000_001), special])
    x = np.concatenate([x, -x])
    got = np.empty_like(x)
    exp_neg_abs(x, got)
    want = np.exp(-np.abs(x))
    ulps = np.abs(got - want) / np.spacing(want)
    assert ulps.max() <= 1.0, f"{ulps.max()} ulp at x = {x[ulps.argmax()]!r}"
    assert ((0 < want) & (want < tiny)).sum() > 100_000  # the subnormal outputs were covered
    got_nan = np.empty(2)
    exp_neg_abs(np.array([np.nan, -np.nan]), got_nan)
    assert (got_nan == 0.0).all()


def test_the_kernels_exp_polynomial_truncates_below_a_twentieth_of_an_ulp():
    """exp(r) = 1 + r + r²·P(r) for |r| <= ln2/2 (a little more: r is rounded) with P of
    degree 9, minimax, not Taylor: the degree is enough only if this holds (with the double
    coefficients as the kernel has them). Taylor's degree 11 truncates at 78·2⁻⁵³."""
    import mpmath as mp

    from core import _kernels

    c = [getattr(_kernels, f"_C{k}") for k in range(2, 12)]
    with mp.workdps(40):
        h = mp.log(2) / 2 * (1 + mp.mpf(2) ** -40)
        worst = mp.mpf(0)
        for m in range(-2000, 2001):
            r = h * m / 2000
            p = 1 + r + r**2 * mp.fsum(mp.mpf(v) * r**k for k, v in enumerate(c))
            worst = max(worst, abs(p / mp.exp(r) - 1))
    assert worst < 0.05 * 2.0**-53, float(worst / 2.0**-53)


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 60, reason="needs an 80-bit long double")
def test_the_kernels_exp_is_within_one_ulp_of_the_exact_value():
    """Against exp in long double (11 more bits), not numpy's rounded exp: <= 1 ulp of the
    exact value, densely over [0, 746] (0.98 measured; the Horner/Taylor-13 version had
    1.16)."""
    from numba import njit

    from core import _kernels

    @njit
    def exp_neg_abs(x, out):
        for m in range(x.size):
            out[m] = _kernels.exp_neg_abs(x[m])

    x = np.linspace(0.0, 746.0, 2_000_001)
    got = np.empty_like(x)
    exp_neg_abs(x, got)
    exact = np.exp(-x.astype(np.longdouble))
    ulps = (np.abs(got - exact) / np.spacing(exact.astype(float))).astype(float)
    assert ulps.max() <= 1.0, f"{ulps.max()} ulp at x = {x[ulps.argmax()]!r}"


def test_the_kernels_expm1_is_within_two_ulp_on_its_range():
    """1 − p_i for rows with Σ max(x, 0) < ln 2 takes expm1 from the kernels' polynomial."""
    from numba import njit

    from core import _kernels

    @njit
    def expm1_small(x, out):
        for m in range(x.size):
            out[m] = _kernels._expm1_small(x[m])

    x = -np.concatenate([np.linspace(0.0, np.log(2.0), 1_000_001), [5e-324, 1e-300, 1e-20]])
    got = np.empty_like(x)
    expm1_small(x, got)
    want = np.expm1(x)
    ulps = np.abs(got - want) / np.spacing(np.abs(want))
    assert ulps.max() <= 2.0, f"{ulps.max()} ulp at x = {x[ulps.argmax()]!r}"
