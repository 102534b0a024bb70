"""core.model against a high-precision oracle, finite differences, and invariants."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from core import DataError, Dataset, evaluate
from tests.datasets import dense, rare, saturated_small, scattered
from tests.numeric import assert_close, central_diff
from tests.oracle import oracle

RTOL = 1e-12


def _scales(ds: Dataset, ev) -> dict:
    """Sums of absolute values of the terms of each quantity: the bound float64 can meet."""
    parts = evaluate(ds, ev.alpha, ev.beta, parts=True).parts
    F = np.nan_to_num(parts.F)
    dF = F * (1 - F)
    Z = [np.nan_to_num(ds.I), np.nan_to_num(ds.D)]
    absa = np.stack([(F * np.abs(z)).sum(1) for z in Z], axis=1)
    gs = parts.p @ absa
    hs = np.empty((2, 2))
    for k in range(2):
        for m in range(2):
            hs[k, m] = parts.p @ ((dF * np.abs(Z[k] * Z[m])).sum(1) + absa[:, k] * absa[:, m])
    r = abs(ev.s - ds.y)
    return {
        "grad_s": gs,
        "grad": r * gs,
        "hessian_s": hs,
        "hessian": np.outer(gs, gs) + r * hs,
    }


def _cases():
    rng = np.random.default_rng(7)
    yield "ragged normal", *scattered(rng, 6, 4), 2.5, 0.7, -0.4
    yield "dense, y outside [0, N]", *dense(rng, 5, 3), 7.0, 1.3, 0.9
    # Rare events: every σ ≈ 1e-15; the naive 1 - prod(...) loses everything here.
    yield "rare events", *rare(rng, 4, 3), 0.0, -20.0, -14.5
    yield "s ~ 1e-17", np.array([[1.0]]), np.array([[0.5]]), 0.0, -39.0, 0.0
    # Saturated: every σ is 0 or 1 to working precision.
    yield "saturated", *saturated_small(), 1.0, 45.0, 3.0


CASES = list(_cases())


BACKENDS = ["numpy", "numba"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, I, D, y, alpha, beta", CASES, ids=[c[0] for c in CASES])
def test_matches_high_precision_oracle(name, I, D, y, alpha, beta, backend):
    ds = Dataset(I, D, y)
    ev = evaluate(ds, alpha, beta, backend=backend)
    want = oracle(I, D, y, alpha, beta)
    scale = _scales(ds, ev)
    assert_close("s", ev.s, want["s"], rtol=RTOL)
    assert_close("loss", ev.loss, want["loss"], rtol=RTOL)
    for key in ("grad_s", "grad", "hessian_s", "hessian"):
        # mpmath's numerical derivatives carry ~1e-30 absolute error: far below the bound.
        assert_close(key, getattr(ev, key), want[key], rtol=RTOL, scale=scale[key])


def test_rare_events_keep_relative_accuracy_where_naive_product_fails():
    I, D = np.array([[1.0]]), np.array([[0.5]])
    ev = evaluate(Dataset(I, D, 0.0), -39.0, 0.0)
    naive = 1.0 - np.prod(1.0 - 1.0 / (1.0 + np.exp(39.0)))
    assert naive == 0.0  # what `1 - prod(...)` returns
    exact = 1.0 / (1.0 + np.exp(39.0))  # one event: s = σ(x)
    assert ev.s > 0
    assert_close("s", ev.s, exact, rtol=1e-14)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("alpha, beta", [(0.3, -0.2), (-2.0, 4.0), (6.0, 6.0)])
def test_gradient_and_hessian_match_central_differences(rng, alpha, beta, backend):
    I, D = scattered(rng, 40, 5)
    ds = Dataset(I, D, 11.0)
    x0 = np.array([alpha, beta])
    ev = evaluate(ds, *x0, backend=backend)
    h = 1e-5
    num_grad = central_diff(lambda x: evaluate(ds, *x, backend=backend).loss, x0, h)
    num_hess = central_diff(lambda x: evaluate(ds, *x, backend=backend).grad, x0, h)
    scale = _scales(ds, ev)
    # Central differences are accurate to O(h²) ≈ 1e-10 relative to the local scale.
    assert_close("grad vs central differences", ev.grad, num_grad, rtol=1e-7, scale=scale["grad"])
    assert_close(
        "hessian vs central differences of grad",
        ev.hessian,
        num_hess,
        rtol=1e-7,
        scale=scale["hessian"],
    )
    np.testing.assert_array_equal(ev.hessian, ev.hessian.T)


def test_gradient_is_the_trace_form(rng):
    I, D = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    ds = Dataset(I, D, 3.0)
    ev = evaluate(ds, 0.4, -0.8, parts=True)
    P = np.diag(ev.parts.p)
    F = ev.parts.F
    r = ev.s - ds.y
    want = r * np.array([np.trace(P @ F @ I.T), np.trace(P @ F @ D.T)])
    assert_close("grad", ev.grad, want, rtol=1e-13, scale=np.abs(r) * np.abs(P @ F).sum())


def test_parts_are_the_derivation_intermediates(rng):
    I, D = scattered(rng, 5, 4)
    ds = Dataset(I, D, 1.0)
    ev = evaluate(ds, 1.5, -0.5, parts=True)
    X = 1.5 * I - 0.5 * D
    absent = np.isnan(I)
    np.testing.assert_array_equal(np.isnan(ev.parts.X), absent)
    np.testing.assert_allclose(ev.parts.X, X, rtol=1e-15)
    np.testing.assert_allclose(ev.parts.F, 1 / (1 + np.exp(-X)), rtol=1e-14)
    np.testing.assert_allclose(ev.parts.G, np.log(1 - 1 / (1 + np.exp(-X))), rtol=1e-12)
    np.testing.assert_allclose(ev.parts.p, np.exp(np.nansum(ev.parts.G, axis=1)), rtol=1e-14)
    assert ev.parts.p[0] == 1.0  # the empty row
    assert evaluate(ds, 1.5, -0.5).parts is None


def test_large_data_takes_the_kernel_and_agrees_with_numpy(rng):
    I, D = scattered(rng, 20_000, 8)
    ds = Dataset(I, D, 3000.0)
    for alpha, beta in [(0.7, -1.1), (-30.0, 2.0), (400.0, -3.0)]:
        fast = evaluate(ds, alpha, beta, backend="numba")
        slow = evaluate(ds, alpha, beta, backend="numpy")
        scale = _scales(ds, slow)
        assert_close("s", fast.s, slow.s, rtol=1e-13)
        for key in ("grad", "hessian"):
            assert_close(key, getattr(fast, key), getattr(slow, key), rtol=1e-12, scale=scale[key])
    with pytest.raises(DataError, match='backend must be "auto", "numba" or "numpy"'):
        evaluate(ds, 0.0, 0.0, backend="gpu")


def test_hessian_can_be_skipped():
    ds = Dataset([[1.0, 2.0]], [[0.5, -1.0]], 0.5)
    full, fast = evaluate(ds, 0.1, 0.2), evaluate(ds, 0.1, 0.2, hessian=False)
    assert (fast.s, fast.loss) == (full.s, full.loss)
    np.testing.assert_array_equal(fast.grad, full.grad)
    assert np.isnan(fast.hessian).all()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("scale", [1.0, 1e3, 1e4, 1e6])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_finite_for_extreme_parameters(rng, scale, sign, backend):
    I, D = scattered(rng, 30, 6)
    ds = Dataset(I, D, 4.0)
    for alpha, beta in [(sign * scale, 0.0), (0.0, sign * scale), (sign * scale, -sign * scale)]:
        ev = evaluate(ds, alpha, beta, backend=backend)
        values = [ev.s, ev.loss, *ev.grad, *ev.hessian.ravel()]
        assert np.all(np.isfinite(values)), (alpha, beta, values)
        assert 0.0 <= ev.s <= ds.n_nonempty


def test_saturated_limits_are_exact():
    I = np.array([[1.0, 2.0], [1.0, np.nan], [np.nan, np.nan]])
    ds = Dataset(I, I.copy(), 1.0)
    assert evaluate(ds, 1e6, 0.0).s == 2.0  # every present event certain
    assert evaluate(ds, -1e6, 0.0).s == 0.0
    assert evaluate(ds, 1e6, 0.0).loss == 0.5


# --- invariants ------------------------------------------------------------------------

finite = st.floats(-5, 5, allow_nan=False, width=64)
params = st.floats(-30, 30, allow_nan=False)


@st.composite
def datasets(draw, max_n=8, max_e=5):
    n = draw(st.integers(1, max_n))
    e = draw(st.integers(1, max_e))
    I = draw(hnp.arrays(np.float64, (n, e), elements=finite))
    D = draw(hnp.arrays(np.float64, (n, e), elements=finite))
    absent = draw(hnp.arrays(np.bool_, (n, e)))
    I[absent] = np.nan
    D[absent] = np.nan
    y = draw(st.floats(-2, n + 2))
    return I, D, y


@given(datasets(), params, params)
def test_s_bounded_and_loss_nonnegative(data, alpha, beta):
    I, D, y = data
    ds = Dataset(I, D, y)
    ev = evaluate(ds, alpha, beta)
    assert 0.0 <= ev.s <= ds.n_nonempty
    assert ev.loss >= 0.0
    assert np.all(np.isfinite(ev.grad)) and np.all(np.isfinite(ev.hessian))
    at_zero = evaluate(ds.with_y(ev.s), alpha, beta)
    assert at_zero.loss == 0.0
    np.testing.assert_array_equal(at_zero.grad, 0.0)


@given(datasets(), params, params)
def test_swapping_I_alpha_with_D_beta(data, alpha, beta):
    I, D, y = data
    ev = evaluate(Dataset(I, D, y), alpha, beta)
    sw = evaluate(Dataset(D, I, y), beta, alpha)
    assert_close("s", sw.s, ev.s, rtol=1e-13)
    scale = np.abs(ev.grad).max() + 1e-300
    assert_close("grad", sw.grad, ev.grad[::-1], rtol=1e-12, scale=scale)
    assert_close(
        "hessian",
        sw.hessian,
        ev.hessian[::-1, ::-1],
        rtol=1e-12,
        scale=np.abs(ev.hessian).max() + 1e-300,
    )


@given(datasets(), params, params, st.randoms(use_true_random=False), st.integers(1, 3))
def test_row_order_empty_rows_and_nan_padding_do_not_matter(data, alpha, beta, random, pad):
    I, D, y = data
    ev = evaluate(Dataset(I, D, y), alpha, beta)
    order = list(range(I.shape[0]))
    random.shuffle(order)
    n, e = I.shape
    # rows shuffled, an all-absent row appended, `pad` all-absent columns added
    I2 = np.full((n + 1, e + pad), np.nan)
    D2 = np.full((n + 1, e + pad), np.nan)
    I2[:n, :e], D2[:n, :e] = I[order], D[order]
    ds2 = Dataset(I2, D2, y)
    ev2 = evaluate(ds2, alpha, beta)
    assert_close("s", ev2.s, ev.s, rtol=1e-13)
    assert_close("grad", ev2.grad, ev.grad, rtol=1e-12, scale=np.abs(ev.grad).max() + 1e-300)
    assert_close(
        "hessian", ev2.hessian, ev.hessian, rtol=1e-12, scale=np.abs(ev.hessian).max() + 1e-300
    )
    assert ds2.n_nonempty == Dataset(I, D, y).n_nonempty


def test_importing_core_pulls_in_no_ui_or_pandas():
    code = (
        "import sys, core; "
        "bad = [m for m in ('streamlit', 'plotly', 'pandas') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, f"import core imported {out.stdout.strip()} {out.stderr}"


def test_evaluate_while_a_warm_up_thread_loads_numba():
    """The dashboard warms numba up in a thread while pages call evaluate: no half-made module."""
    code = (
        "import threading, core\n"
        "t = threading.Thread(target=core.warm_up); t.start()\n"
        "ds = core.generate(N=30000, E=4, seed=1)\n"
        "for _ in range(5): core.evaluate(ds, 0.1, 0.2)\n"
        "t.join(); print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
