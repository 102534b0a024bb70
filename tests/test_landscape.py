"""core.landscape: grids and many points agree with core.evaluate at every cell."""

from __future__ import annotations

import importlib
import itertools
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import (
    Cancelled,
    DataError,
    Dataset,
    Landscape,
    coarse_grid,
    engine,
    evaluate,
    evaluate_points,
    landscape,
    landscape_progressive,
    warm_up,
)
from tests.datasets import ragged
from tests.numeric import assert_close

# core.landscape is the function (re-exported by core); the module is here:
L = importlib.import_module("core.landscape")
RTOL = 1e-12
BACKENDS = ["numba", "numpy"]


# -- helpers ---------------------------------------------------------------------------


def reference(ds: Dataset, alphas, betas) -> dict:
    """evaluate at every cell, plus the scales two correct float64 results can differ by.

    s is a sum of non-negative terms: compared relative to itself. L = ½ r² with
    r = s − y inherits an error δs as r·δs, so its scale is L + |r|·s. ∂L/∂θ = r·∂s/∂θ
    sums terms of both signs: its scale is |r|·Σ_i p_i Σ_j F_ij |Z_ij| + s·|∂s/∂θ|.
    """
    shape = (len(betas), len(alphas))
    out = {k: np.empty(shape) for k in ("s", "loss", "ga", "gb", "loss_scale")}
    out["g_scale"] = np.empty((*shape, 2))
    Z = np.abs(np.stack(ds.filled()))
    for k, beta in enumerate(betas):
        for l, alpha in enumerate(alphas):
            ev = evaluate(ds, alpha, beta, hessian=False, parts=True)
            F = np.nan_to_num(ev.parts.F)
            r = abs(ev.s - ds.y)
            out["s"][k, l], out["loss"][k, l] = ev.s, ev.loss
            out["ga"][k, l], out["gb"][k, l] = ev.grad
            out["loss_scale"][k, l] = ev.loss + r * ev.s
            terms = (F * Z).sum(axis=2) @ ev.parts.p
            out["g_scale"][k, l] = r * terms + ev.s * np.abs(ev.grad_s)
    return out


def assert_matches(grid: Landscape, ds: Dataset, *, rtol: float = RTOL) -> None:
    ref = reference(ds, grid.alphas, grid.betas)
    assert grid.s.shape == grid.loss.shape == (grid.betas.size, grid.alphas.size)
    assert_close("s", grid.s, ref["s"], rtol=rtol)
    assert_close("loss", grid.loss, ref["loss"], rtol=rtol, scale=ref["loss_scale"])
    if grid.grad_alpha is not None:
        assert_close(
            "dL/dalpha", grid.grad_alpha, ref["ga"], rtol=rtol, scale=ref["g_scale"][..., 0]
        )
        assert_close("dL/dbeta", grid.grad_beta, ref["gb"], rtol=rtol, scale=ref["g_scale"][..., 1])


@pytest.fixture(scope="module", autouse=True)
def _numba_loaded():
    warm_up()  # compile or load once, outside the timings pytest shows per test


# -- grids equal evaluate -------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("gradient", [False, True])
def test_grid_matches_evaluate_ragged_nonuniform(rng, backend, gradient):
    I, D = ragged(rng, 80, 7)
    ds = Dataset(I, D, 23.5)
    alphas = np.sort(rng.uniform(-4, 4, 13))  # non-uniform spacing
    betas = np.array([-6.0, -1.0, -0.9, 0.0, 0.05, 2.0, 7.5])
    grid = landscape(ds, alphas, betas, gradient=gradient, backend=backend)
    assert grid.backend == backend
    assert (grid.grad_alpha is None) == (not gradient)
    assert_matches(grid, ds)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (2, 5)])
def test_small_and_degenerate_grids(rng, backend, shape):
    """1×1, 1×G and G×1 grids (the kernel swaps α and β for the taller ones)."""
    I, D = ragged(rng, 40, 5)
    ds = Dataset(I, D, 9.0)
    Gb, Ga = shape
    grid = landscape(
        ds, np.linspace(-2, 3, Ga), np.linspace(-1, 1.5, Gb), gradient=True, backend=backend
    )
    assert grid.shape == shape
    assert_matches(grid, ds)


@pytest.mark.parametrize("backend", BACKENDS)
def test_overflow_region(rng, backend):
    """|α| up to 400 with |I|, |D| up to ~10: exp(αI) and the row products overflow
    for most cells, which must go through log space and still match evaluate."""
    I, D = ragged(rng, 30, 6, scale=3.0)
    ds = Dataset(I, D, 11.0)
    alphas = np.array([-400.0, -250.0, -0.5, 0.0, 0.7, 120.0, 233.0, 400.0])
    betas = np.array([-300.0, -3.0, 0.0, 2.0, 180.0, 390.0])
    assert_matches(landscape(ds, alphas, betas, gradient=True, backend=backend), ds)


@pytest.mark.parametrize("backend", BACKENDS)
def test_products_overflow_with_every_factor_in_range(backend):
    """αI = βD = 350: each exp is finite, their product and Q are not."""
    I = np.array([[1.0, 1.0, np.nan], [1.0, -1.0, 0.5], [-1.0, -1.0, -1.0]])
    ds = Dataset(I, I.copy(), 1.0)
    alphas = np.array([-350.0, 0.0, 350.0])
    assert_matches(landscape(ds, alphas, alphas, gradient=True, backend=backend), ds)


@pytest.mark.parametrize("backend", BACKENDS)
def test_rare_events_keep_relative_accuracy(rng, backend):
    """s ~ 1e-17: the naive 1 − Π(1 − σ) is 0 here; the grid must keep every digit."""
    I = rng.uniform(1.0, 2.0, size=(20, 3))
    D = rng.uniform(1.0, 2.0, size=(20, 3))
    I[::4, 2] = D[::4, 2] = np.nan
    ds = Dataset(I, D, 0.0)
    alphas = np.array([-36.0, -33.0, -31.5])
    betas = np.array([-9.0, -8.0])
    grid = landscape(ds, alphas, betas, gradient=True, backend=backend)
    assert grid.s.max() < 1e-15
    assert grid.s.min() > 0
    assert_matches(grid, ds)


def test_backends_agree_on_a_larger_grid(rng):
    I, D = ragged(rng, 300, 12)
    ds = Dataset(I, D, 100.0)
    alphas, betas = np.linspace(-3, 3, 37), np.linspace(-5, 2, 29)
    fast = landscape(ds, alphas, betas, gradient=True, backend="numba")
    slow = landscape(ds, alphas, betas, gradient=True, backend="numpy")
    assert_close("s", fast.s, slow.s, rtol=RTOL)
    scale = np.abs(slow.grad_alpha).max() + np.abs(slow.grad_beta).max()
    assert_close("dL/dalpha", fast.grad_alpha, slow.grad_alpha, rtol=RTOL, scale=scale)
    assert_close("dL/dbeta", fast.grad_beta, slow.grad_beta, rtol=RTOL, scale=scale)


def test_many_row_blocks_and_column_chunks(rng, monkeypatch):
    """Small chunks (many work items over several threads) give the same grid."""
    I, D = ragged(rng, 203, 5)
    ds = Dataset(I, D, 50.0)
    alphas, betas = np.linspace(-2, 2, 23), np.linspace(-2, 2, 6)
    whole = landscape(ds, alphas, betas, gradient=True, backend="numba")
    monkeypatch.setattr(L, "_TABLE", 64)
    monkeypatch.setattr(L, "_WORK", 1)
    parts = landscape(ds, alphas, betas, gradient=True, backend="numba")
    assert_close("s", parts.s, whole.s, rtol=1e-13)
    assert_matches(parts, ds)


finite = st.floats(-6, 6, allow_nan=False)


@given(
    data=st.data(),
    N=st.integers(1, 6),
    E=st.integers(1, 4),
    y=st.floats(0, 6),
)
def test_hypothesis_kernel_equals_evaluate(data, N, E, y):
    I = np.array(data.draw(st.lists(finite, min_size=N * E, max_size=N * E))).reshape(N, E)
    D = np.array(data.draw(st.lists(finite, min_size=N * E, max_size=N * E))).reshape(N, E)
    absent = np.array(data.draw(st.lists(st.booleans(), min_size=N * E, max_size=N * E)))
    I[absent.reshape(N, E)] = np.nan
    D[absent.reshape(N, E)] = np.nan
    axis = st.lists(st.floats(-200, 200, allow_nan=False), min_size=1, max_size=4, unique=True)
    alphas = np.sort(data.draw(axis))
    betas = np.sort(data.draw(axis))
    ds = Dataset(I, D, y)
    assert_matches(landscape(ds, alphas, betas, gradient=True, backend="numba"), ds)


def test_auto_backend_and_result_is_read_only(rng):
    ds = Dataset(*ragged(rng, 10, 3), 2.0)
    grid = landscape(ds, [0.0, 1.0], [0.5])
    assert grid.backend in ("numba", "numpy")
    with pytest.raises(ValueError, match="read-only"):
        grid.loss[0, 0] = 1.0
    a, b = grid.argmin()
    k, l = np.unravel_index(np.argmin(grid.loss), grid.shape)
    assert (a, b) == (grid.alphas[l], grid.betas[k])


def test_concurrent_grids_from_two_threads(rng, monkeypatch):
    """Two sessions computing at once share the worker pool and get their own answers."""
    monkeypatch.setattr(L, "_WORK", 1)  # many small work items, interleaved
    sets = [Dataset(*ragged(rng, 150, 4), y) for y in (5.0, 40.0)]
    alphas, betas = np.linspace(-2, 2, 17), np.linspace(-1, 3, 9)
    out: dict[int, Landscape] = {}

    def run(k: int) -> None:
        out[k] = landscape(sets[k], alphas, betas, gradient=True, backend="numba")

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, ds in enumerate(sets):
        want = landscape(ds, alphas, betas, backend="numpy")
        assert_close(f"s of set {k}", out[k].s, want.s, rtol=RTOL)


def test_auto_uses_numpy_for_small_grids_until_numba_has_run(rng, monkeypatch):
    monkeypatch.setattr(engine, "numba_ready", threading.Event())  # as in a fresh process
    ds = Dataset(*ragged(rng, 3000, 10), 2.0)  # 60,000 cell·events: above the tiny jobs
    assert landscape(ds, [0.0, 1.0], [0.5]).backend == "numpy"
    assert warm_up() >= 0.0
    assert landscape(ds, [0.0, 1.0], [0.5]).backend == "numba"


def test_grids_while_warm_up_imports_numba_in_a_thread():
    """A dashboard warms up in a thread and draws small grids meanwhile; the grids
    must not see core._kernels half-imported (a bug once)."""
    code = """
import threading
import numpy as np
import core
ds = core.Dataset(np.ones((3000, 10)), np.ones((3000, 10)), 1.0)  # above tiny jobs
t = threading.Thread(target=core.warm_up)
t.start()
n = 0
while t.is_alive() or n < 5:
    core.landscape(ds, [0.0, 1.0], [0.0, 2.0])
    n += 1
t.join()
print("ok", n, core.landscape(ds, [0.0, 1.0], [0.0]).backend)
"""
    root = Path(__file__).resolve().parents[1]
    res = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("ok") and res.stdout.split()[-1] == "numba", res.stdout


# -- memory ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_memory_stays_bounded(backend):
    """A Gb×Ga×N×E array here would take 8·8·60,000·8·8 B = 246 MB; we stay far below."""
    rng = np.random.default_rng(1)
    ds = Dataset(rng.normal(size=(60_000, 8)), rng.normal(size=(60_000, 8)), 10.0)
    alphas = betas = np.linspace(-1, 1, 8)
    tracemalloc.start()
    try:
        landscape(ds, alphas, betas, gradient=True, backend=backend)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    limit = {"numba": 20e6, "numpy": 80e6}[backend]  # measured: 6 MB and 54 MB
    assert peak < limit, f"peak {peak / 1e6:.1f} MB"


# -- progress and cancel --------------------------------------------------------------


def _many_chunks(monkeypatch):
    monkeypatch.setattr(L, "_TABLE", 64)
    monkeypatch.setattr(L, "_WORK", 1)
    monkeypatch.setattr(engine, "_BLOCK", 256)


@pytest.mark.parametrize("backend", BACKENDS)
def test_progress_is_monotone_and_ends_at_one(rng, monkeypatch, backend):
    _many_chunks(monkeypatch)
    ds = Dataset(*ragged(rng, 500, 4), 20.0)
    seen: list[float] = []
    landscape(
        ds, np.linspace(-1, 1, 12), np.linspace(-1, 1, 10), progress=seen.append, backend=backend
    )
    assert len(seen) >= 2
    assert all(0.0 <= f <= 1.0 for f in seen)
    assert all(a < b for a, b in itertools.pairwise(seen)), seen
    assert seen[-1] == 1.0
    assert seen.count(1.0) == 1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["event", "callable"])
def test_cancel_from_the_progress_callback(rng, monkeypatch, backend, kind):
    _many_chunks(monkeypatch)
    ds = Dataset(*ragged(rng, 3000, 4), 20.0)
    event = threading.Event()
    cancel = event if kind == "event" else event.is_set
    seen: list[float] = []

    def progress(f: float) -> None:
        seen.append(f)
        event.set()  # cancel after the first report

    alphas, betas = np.linspace(-1, 1, 40), np.linspace(-1, 1, 30)
    with pytest.raises(Cancelled, match="cancelled"):
        landscape(ds, alphas, betas, progress=progress, cancel=cancel, backend=backend)
    assert seen, "progress was never reported"
    assert max(seen) < 1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_cancel_before_start_does_no_work(rng, backend):
    ds = Dataset(*ragged(rng, 10, 3), 2.0)
    event = threading.Event()
    event.set()
    seen: list[float] = []
    with pytest.raises(Cancelled):
        landscape(ds, [0.0, 1.0], [0.0, 1.0], cancel=event, progress=seen.append, backend=backend)
    assert seen == []


def test_numba_worker_stops_leave_pool_usable(rng, monkeypatch):
    """After a cancel the shared thread pool still computes the next grid."""
    _many_chunks(monkeypatch)
    ds = Dataset(*ragged(rng, 2000, 4), 20.0)
    with pytest.raises(Cancelled):
        landscape(ds, np.linspace(-1, 1, 30), [0.0, 1.0], cancel=lambda: True, backend="numba")
    monkeypatch.undo()
    small = Dataset(*ragged(rng, 30, 3), 5.0)
    assert_matches(landscape(small, [0.0, 1.0], [0.0, 2.0], backend="numba"), small)


# -- coarse to fine -------------------------------------------------------------------


def test_coarse_grid_picks_cells_of_the_full_grid():
    alphas = np.linspace(-3, 3, 101)
    betas = np.geomspace(0.01, 10, 60)
    ca, cb = coarse_grid(alphas, betas, size=25)
    assert ca.size == 25
    assert cb.size == 25
    assert ca[0] == alphas[0]
    assert ca[-1] == alphas[-1]
    assert cb[0] == betas[0]
    assert cb[-1] == betas[-1]
    assert np.isin(ca, alphas).all()
    assert np.isin(cb, betas).all()
    small = np.array([0.0, 1.0, 2.0])
    assert np.array_equal(coarse_grid(small, small)[0], small)
    with pytest.raises(DataError, match="size must be a whole number >= 2"):
        coarse_grid(alphas, betas, size=1)


def test_progressive_yields_coarse_then_full(rng):
    ds = Dataset(*ragged(rng, 50, 4), 10.0)
    alphas, betas = np.linspace(-2, 2, 40), np.linspace(-1, 3, 31)
    seen: list[float] = []
    coarse, full = list(landscape_progressive(ds, alphas, betas, size=10, progress=seen.append))
    assert coarse.shape == (10, 10)
    assert full.shape == (31, 40)
    # the coarse cells are exactly the full grid's values there
    cols = np.searchsorted(alphas, coarse.alphas)
    rows = np.searchsorted(betas, coarse.betas)
    assert_close("coarse s", coarse.s, full.s[np.ix_(rows, cols)], rtol=1e-14)
    assert all(a <= b for a, b in itertools.pairwise(seen))
    assert seen[-1] == 1.0
    assert seen.count(1.0) == 1
    # a grid already small comes once
    assert len(list(landscape_progressive(ds, alphas[:5], betas[:5], size=10))) == 1


# -- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alphas", "betas", "match"),
    [
        ([0.0, 1.0, 1.0], [0.0], r"alphas must be strictly increasing; alphas\[1\] = 1.0 is "),
        ([0.0], [2.0, 1.0], r"betas must be strictly increasing.*np.unique\(betas\)"),
        ([[0.0, 1.0]], [0.0], r"alphas must be a 1-D .*got 2-D with shape \(1, 2\)"),
        (0.5, [0.0], r"alphas must be a 1-D .*got 0-D.*np.atleast_1d"),
        ([], [0.0], r"alphas is empty; need at least one value"),
        ([0.0, np.inf], [0.0], r"alphas must hold finite numbers; alphas\[1\] is inf"),
        ([0.0], [np.nan], r"betas must hold finite numbers; betas\[0\] is nan"),
        ([0.0], "abc", r"betas must be a 1-D array of finite real numbers.*not numeric"),
    ],
)
def test_bad_axes_raise_data_error(rng, alphas, betas, match):
    ds = Dataset(*ragged(rng, 5, 2), 1.0)
    with pytest.raises(DataError, match=match):
        landscape(ds, alphas, betas)


def test_bad_backend_and_dataset(rng):
    ds = Dataset(*ragged(rng, 5, 2), 1.0)
    with pytest.raises(DataError, match=r'backend must be "auto", "numba" or "numpy"; got .cuda.'):
        landscape(ds, [0.0], [0.0], backend="cuda")
    with pytest.raises(
        DataError, match=r"ds must be a core.Dataset; got ndarray.*Dataset\(I, D, y\)"
    ):
        landscape(np.ones((3, 2)), [0.0], [0.0])


# -- evaluate_points ------------------------------------------------------------------


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
        ref = reference(ds, [alphas[k]], [betas[k]])
        ev = evaluate(ds, alphas[k], betas[k])
        assert_close(f"s[{k}]", pts.s[k], ev.s, rtol=RTOL)
        assert_close(f"loss[{k}]", pts.loss[k], ev.loss, rtol=RTOL, scale=ref["loss_scale"][0, 0])
        assert_close(f"grad[{k}]", pts.grad[k], ev.grad, rtol=RTOL, scale=ref["g_scale"][0, 0])
        if hessian:
            assert pts.hessian.shape == (40, 2, 2)
            hscale = np.abs(ev.hessian).max() + np.abs(ev.grad_s).max() ** 2
            assert_close(f"hessian[{k}]", pts.hessian[k], ev.hessian, rtol=1e-10, scale=hscale)


def test_evaluate_points_chunks_over_rows(rng, monkeypatch):
    """Blocks smaller than the data give the same sums (forces many row and point blocks)."""
    I, D = ragged(rng, 101, 5)
    ds = Dataset(I, D, 10.0)
    alphas, betas = rng.normal(size=9), rng.normal(size=9)
    whole = evaluate_points(ds, alphas, betas, hessian=True)
    monkeypatch.setattr(engine, "_BLOCK", 7)
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
        assert_close("s", pts.s[k], ev.s, rtol=RTOL)
        assert_close("grad", pts.grad[k], ev.grad, rtol=RTOL)


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
