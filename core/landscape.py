"""Exact loss landscapes on a grid, and the model at many points at once.

    grid = landscape(ds, alphas, betas)       # grid.loss[k, l] is L at (alphas[l], betas[k])
    pts = evaluate_points(ds, alphas, betas)  # pts.loss[k] is L at (alphas[k], betas[k])

Both agree with :func:`core.evaluate` to ~1e-12 relative at every cell (s to ~1e-15;
L = ½(s − y)² and ∇L to that times their conditioning where s ≈ y). Cells where
1 − p_i falls below ~1e-290 for every row are as exact as subnormal numbers allow,
for evaluate too.

Two backends compute the grid:

* ``"numba"`` (core/_kernels.py) factors exp(αI + βD) = exp(αI)·exp(βD) so the
  loop over cells needs no exp or log, and redoes with the row formula of the points
  kernel the rows and cells where exp would overflow. 20-90x faster than a naive
  numpy loop over cells (bench/landscape.py), on all cores.
* ``"numpy"`` is the log-space formula of ``evaluate`` itself, vectorised over
  cells (``evaluate_points`` is the same code): slow, simple, the tests' oracle.

Both work in chunks of data rows and α columns, so extra memory stays bounded
(~10 MB plus the output grids for numba, ~60 MB for numpy) and ``progress`` and
``cancel`` are looked at every few milliseconds. Call :func:`warm_up` early (in a
background thread) so the first grid does not wait for numba to load.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import wait
from dataclasses import dataclass

import numpy as np

from . import engine
from .model import Dataset, evaluate
from .validation import check_axis, check_count, check_dataset, check_points

__all__ = [
    "Cancelled",
    "Landscape",
    "Points",
    "coarse_grid",
    "evaluate_points",
    "grid_sums",
    "landscape",
    "landscape_progressive",
    "warm_up",
]

# -- many points at once -------------------------------------------


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


def evaluate_points(ds: Dataset, alphas: object, betas: object, *, hessian: bool = False) -> Points:
    """s, L, ∇L (and the Hessian) at K arbitrary points, exactly like :func:`core.evaluate`.

    alphas, betas : array-like (K,), finite, any order
    Returns :class:`Points` with s, loss (K,), grad (K, 2) and, when ``hessian=True``,
    hessian (K, 2, 2). The numba backend shares rows out to threads; numpy works in
    chunks of points and rows (<= ~60 MB extra).
    """
    if getattr(ds, "is_partitioned", False):  # on a Dask cluster: core/partitioned.py
        return ds.evaluate_points(alphas, betas, hessian=hessian)
    check_dataset(ds)
    alphas, betas = check_points(alphas, betas)
    t = engine.totals(engine.point_sums(ds.I, ds.D, alphas, betas, hessian=hessian), ds.y)
    for arr in (alphas, betas):
        arr.flags.writeable = False
    return Points(
        alphas=alphas,
        betas=betas,
        y=ds.y,
        s=t.s,
        loss=t.loss,
        grad=t.grad,
        grad_s=t.grad_s,
        hessian=t.hessian,
        hessian_s=t.hessian_s,
    )


# -- grids -------------------------------------------------------------------------------


class Cancelled(Exception):
    """Raised by :func:`landscape` when its ``cancel`` flag is set; nothing is returned."""


@dataclass(frozen=True, eq=False)
class Landscape:
    """s and L on a grid; row k is β = betas[k], column l is α = alphas[l].

    alphas : ndarray (Ga,); betas : ndarray (Gb,); y : the observed count
    s, loss : ndarray (Gb, Ga)
    grad_alpha, grad_beta : ndarray (Gb, Ga) = ∂L/∂α, ∂L/∂β, or None unless asked for
    backend : "numba" or "numpy", whichever computed it
    """

    alphas: np.ndarray
    betas: np.ndarray
    y: float
    s: np.ndarray
    loss: np.ndarray
    grad_alpha: np.ndarray | None = None
    grad_beta: np.ndarray | None = None
    backend: str = "numpy"

    @property
    def shape(self) -> tuple[int, int]:
        """(Gb, Ga)."""
        return self.loss.shape

    def argmin(self) -> tuple[float, float]:
        """(α, β) of the grid cell with the smallest loss."""
        k, l = np.unravel_index(int(np.argmin(self.loss)), self.loss.shape)
        return float(self.alphas[l]), float(self.betas[k])


Progress = Callable[[float], None]
Cancel = threading.Event | Callable[[], bool]


class _Ticker:
    """Looks at ``cancel`` and reports ``progress`` as chunks of work finish.

    Reports strictly increase, come at most once per 1% or 50 ms (a dashboard
    redraw costs more than a chunk), and 1.0 is reported exactly once, by :meth:`finish`.
    """

    def __init__(self, progress: Progress | None, cancel: Cancel | None) -> None:
        self.progress, self.cancel = progress, cancel
        self.last, self.last_time = -1.0, 0.0

    def check(self) -> None:
        c = self.cancel
        if c is not None and (c.is_set() if isinstance(c, threading.Event) else c()):
            done = max(self.last, 0.0)
            raise Cancelled(f"landscape cancelled with {done:.0%} of the grid done")

    def step(self, fraction: float) -> None:
        now = time.perf_counter()
        if self.progress is not None and self.last < fraction < 1.0:
            if fraction >= self.last + 0.01 or now - self.last_time >= 0.05:
                self.last, self.last_time = fraction, now
                self.progress(fraction)
        self.check()

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(1.0)


# Numba kernel chunks: the exp(βD) and exp(αI) tables of one work item hold at
# most _TABLE values each (1 MB: both fit in L2), and one item does about _WORK
# cell·event updates (a few ms), so progress and cancel are looked at often.
_TABLE = 1 << 17
_WORK = 1 << 24
_MAX_ROWS = 1024  # rows per block: keeps the plain running sums over rows short
_SIMD_MIN = {False: 24, True: 40}  # β values from which the kernel's inner loop is SIMD


@dataclass(frozen=True)
class _Plan:
    """How a grid is cut into work items: (block of ``rows`` rows, ``cols`` α columns)."""

    rows: int
    cols: int
    items: list
    workers: int


def _plan(K, N: int, E: int, Ga: int, Gb: int, gradient: bool) -> _Plan:
    workers = max(1, K.THREADS)
    rows = max(1, min(N, _MAX_ROWS, _TABLE // (E * Gb)))
    n_row_blocks = -(-N // rows)
    cols = _WORK // (rows * E * Gb)  # a few ms per item
    if n_row_blocks < 4 * workers:  # few rows: split the columns too, for all workers
        cols = min(cols, -(-Ga * n_row_blocks // (4 * workers)))
    cols = min(cols, _TABLE // (rows * E))  # the exp(αI) table stays small too
    cols = max(K.LANES, cols // K.LANES * K.LANES)
    items = [(r0, l0) for r0 in range(0, N, rows) for l0 in range(0, Ga, cols)]
    # Bounded memory: each worker sums into its own grids (no locks, no races); they
    # take at most 64 MB together, unless one worker's grids alone are larger.
    per_worker = (3 if gradient else 1) * Gb * Ga
    workers = max(1, min(workers, len(items), (1 << 23) // per_worker))
    return _Plan(rows, cols, items, workers)


def _worker(K, I, D, alphas, betas, gradient: bool, plan: _Plan, state: dict, lock):
    """The loop one thread runs: take the next item, fill the exp tables, run the kernel."""
    N, E = I.shape
    Ga, Gb = alphas.size, betas.size
    zmax_I, zmax_D = np.empty(N), np.empty(N)  # max_j |I_ij|, max_j |D_ij| (present events)
    K.row_absmax(I, zmax_I)
    K.row_absmax(D, zmax_D)
    rows, cols, items = plan.rows, plan.cols, plan.items

    def exp_table(Z: np.ndarray, theta: np.ndarray, out: np.ndarray) -> None:
        """out (n, E, G) = exp(θ_g Z_ij), clipped at exp(SAFE) (such cells: the row formula)."""
        K.exponents(Z, theta, out)
        np.exp(out, out=out)  # numpy's SIMD exp (7x numba's scalar one); releases the GIL

    def work(acc: np.ndarray) -> None:
        B = np.empty((rows, E, Gb))
        A = np.empty(rows * E * cols)
        dummy = np.zeros((1, 1))
        s, gs_a, gs_b = (acc[0], acc[1], acc[2]) if gradient else (acc[0], dummy, dummy)
        table_of = -1
        while True:
            with lock:
                k = state["next"]
                state["next"] += 1
                if state["stop"] or k >= len(items):
                    return
            r0, l0 = items[k]
            r1, l1 = min(N, r0 + rows), min(Ga, l0 + cols)
            rs = slice(r0, r1)
            n = r1 - r0
            Bv, Av = B[:n], A[: n * E * (l1 - l0)].reshape(n, E, l1 - l0)  # C-contiguous
            with np.errstate(under="ignore"):
                if table_of != r0:
                    exp_table(D[rs], betas, Bv)
                    table_of = r0
                exp_table(I[rs], alphas[l0:l1], Av)
            K.grid_block(
                I[rs], D[rs], zmax_I[rs], zmax_D[rs],
                alphas, l0, l1, Av, betas, Bv, gradient, s, gs_a, gs_b,
            )  # fmt: skip
            with lock:
                state["done"] += (r1 - r0) * (l1 - l0)
                lock.notify()

    return work


def _grid_numba(K, I, D, alphas, betas, gradient: bool, ticker: _Ticker):
    """s, ∇s on the grid with the numba kernel; returns (s, gs_alpha, gs_beta) (Gb, Ga).

    Work items are (block of rows, range of α columns). Each worker thread takes
    items from a shared counter and adds into its own accumulators (summed at the
    end), so there are no races and no barriers. The calling thread only waits,
    reports progress and looks at ``cancel`` (Streamlit wants callbacks there).
    """
    # The kernel vectorises over β (SIMD wants a long loop there) and carries
    # LANES columns of α: make β the longer axis by swapping roles (I <-> D,
    # α <-> β) when needed. Threads share out rows, so any shape keeps them busy.
    swap = betas.size < alphas.size
    if swap:
        I, D, alphas, betas = D, I, betas, alphas
    Gb_out = betas.size
    # LLVM runs the vectorised loop only from about _SIMD_MIN[gradient] β values on;
    # a shorter β axis is padded up to that (repeating its last value) when that
    # costs at most twice the work, which the vectorised loop more than repays.
    simd = _SIMD_MIN[gradient]
    if simd // 2 <= betas.size < simd:
        betas = np.concatenate([betas, np.full(simd - betas.size, betas[-1])])
    N, E = I.shape
    plan = _plan(K, N, E, alphas.size, betas.size, gradient)
    accs = [np.zeros((3 if gradient else 1, betas.size, alphas.size)) for _ in range(plan.workers)]
    lock = threading.Condition()
    state = {"next": 0, "done": 0, "stop": False}
    work = _worker(K, I, D, alphas, betas, gradient, plan, state, lock)
    futures = [engine.pool().submit(work, acc) for acc in accs]
    total = N * alphas.size
    try:
        while not all(f.done() for f in futures):
            with lock:
                lock.wait(timeout=0.05)
                done = state["done"]
            ticker.step(done / total)
        for f in futures:
            f.result()  # re-raise a worker's exception here
    finally:
        with lock:
            state["stop"] = True
        wait(futures)
    out = sum(accs[1:], accs[0])[:, :Gb_out]
    s, gs_a, gs_b = (out[0], out[1], out[2]) if gradient else (out[0], None, None)
    if swap:
        s, gs_a, gs_b = s.T, (None if gs_b is None else gs_b.T), (None if gs_a is None else gs_a.T)
    return s, gs_a, gs_b


def grid_sums(
    I: np.ndarray,
    D: np.ndarray,
    alphas: np.ndarray,
    betas: np.ndarray,
    *,
    gradient: bool = False,
    backend: str = "auto",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> tuple[str, engine.Sums]:
    """The engine's :class:`~core.engine.Sums` of rows I, D (n, E; NaN absent) at every cell
    of the grid: cell (k, l) = (alphas[l], betas[k]) is point k·Ga + l (K = Gb·Ga).

    Inputs are trusted (validated axes, increasing). Sums of row blocks add, like the
    engine's. Returns (backend used, Sums without the Hessian; grad_s zero unless
    ``gradient``). ``progress`` is not finished here (see :func:`landscape`).
    """
    name, K = engine.choose(backend, float(alphas.size) * betas.size * I.size)
    ticker = _Ticker(progress, cancel)
    ticker.check()
    Ga, Gb = alphas.size, betas.size
    if K is None:
        a, b = np.tile(alphas, Gb), np.repeat(betas, Ga)
        return name, engine.point_sums(I, D, a, b, backend="numpy", tick=ticker.step)
    s, gs_a, gs_b = _grid_numba(K, I, D, alphas, betas, gradient, ticker)
    engine.numba_ready.set()
    grad_s = np.zeros((Gb * Ga, 2))
    if gradient:
        grad_s[:, 0], grad_s[:, 1] = gs_a.ravel(), gs_b.ravel()
    return name, engine.Sums(np.ascontiguousarray(s).ravel(), grad_s)


def landscape(
    ds: Dataset,
    alphas: object,
    betas: object,
    *,
    gradient: bool = False,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    backend: str = "auto",
) -> Landscape:
    """s and L (and ∇L) at every cell of the grid alphas × betas, exact like evaluate.

    alphas : array-like (Ga,), betas : array-like (Gb,): finite, strictly increasing,
        any spacing, at least one value each.
    gradient : also return ∂L/∂α and ∂L/∂β on the grid (for arrows, streamlines).
    progress : called with the fraction done, monotone, ending with exactly 1.0.
    cancel : a threading.Event or a function returning True to stop; the computation
        then raises :class:`Cancelled` (within milliseconds) and returns nothing.
    backend : "numba" (fast), "numpy" (log space, slow, the oracle) or "auto"
        (numba; numpy for small grids until numba has been loaded, see :func:`warm_up`).

    Returns :class:`Landscape` with s, loss (and grad_alpha, grad_beta) of shape (Gb, Ga):
    loss[k, l] == evaluate(ds, alphas[l], betas[k]).loss to ~1e-12 relative.
    """
    if getattr(ds, "is_partitioned", False):  # on a Dask cluster: core/partitioned.py
        return ds.landscape(alphas, betas, gradient=gradient, progress=progress, cancel=cancel,
                            backend=backend)  # fmt: skip
    check_dataset(ds)
    alphas = check_axis(alphas, "alphas", increasing=True)
    betas = check_axis(betas, "betas", increasing=True)
    name, sums = grid_sums(
        ds.I, ds.D, alphas, betas, gradient=gradient, backend=backend,
        progress=progress, cancel=cancel,
    )  # fmt: skip
    return grid_landscape(sums, ds.y, alphas, betas, gradient, name, progress)


def grid_landscape(
    sums: engine.Sums,
    y: float,
    alphas: np.ndarray,
    betas: np.ndarray,
    gradient: bool,
    name: str,
    progress: Progress | None = None,
) -> Landscape:
    """The read-only :class:`Landscape` of a grid's sums (K = Gb·Ga, β-major) at count y;
    reports progress 1.0 last. In memory and on a cluster alike."""
    t = engine.totals(sums, y)
    shape = (betas.size, alphas.size)
    grad_a = np.ascontiguousarray(t.grad[:, 0]).reshape(shape) if gradient else None
    grad_b = np.ascontiguousarray(t.grad[:, 1]).reshape(shape) if gradient else None
    s, loss = t.s.reshape(shape), t.loss.reshape(shape)
    out = Landscape(alphas, betas, y, s, loss, grad_a, grad_b, name)
    for arr in (alphas, betas, out.s, out.loss, grad_a, grad_b):
        if arr is not None:
            arr.flags.writeable = False
    if progress is not None:
        progress(1.0)
    return out


def coarse_grid(alphas: object, betas: object, size: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """At most ``size`` values of each axis, evenly picked and keeping both ends.

    The picked values are cells of the full grid, so a coarse landscape shows
    exactly the values the full one will have there.
    """
    alphas = check_axis(alphas, "alphas", increasing=True)
    betas = check_axis(betas, "betas", increasing=True)
    size = check_count(size, "size", lo=2)

    def pick(axis: np.ndarray) -> np.ndarray:
        if axis.size <= size:
            return axis
        return axis[np.unique(np.round(np.linspace(0, axis.size - 1, int(size))).astype(int))]

    return pick(alphas), pick(betas)


def landscape_progressive(
    ds: Dataset,
    alphas: object,
    betas: object,
    *,
    size: int = 25,
    gradient: bool = False,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    backend: str = "auto",
) -> Iterator[Landscape]:
    """Yield a coarse Landscape (at most ``size`` × ``size``, see :func:`coarse_grid`)
    first, then the full one; just the full one when the grid is already that small.

    ``progress`` runs once over both (the coarse grid is its first few percent).
    """
    alphas = check_axis(alphas, "alphas", increasing=True)
    betas = check_axis(betas, "betas", increasing=True)
    ca, cb = coarse_grid(alphas, betas, size)
    full = alphas.size * betas.size
    if ca.size * cb.size < full:
        w = ca.size * cb.size / (ca.size * cb.size + full)
        part = None if progress is None else (lambda f: progress(w * f))
        kw = dict(gradient=gradient, cancel=cancel, backend=backend)
        yield landscape(ds, ca, cb, progress=part, **kw)
        rest = (
            None if progress is None else (lambda f: progress(1.0 if f >= 1 else w + (1 - w) * f))
        )
        yield landscape(ds, alphas, betas, progress=rest, **kw)
    else:
        yield landscape(
            ds, alphas, betas, gradient=gradient, progress=progress, cancel=cancel, backend=backend
        )


def warm_up() -> float:
    """Load (or, the first time after an install, compile) the numba kernels of
    :func:`landscape` and of :func:`core.evaluate`.

    Takes ~1 s with numba's on-disk cache, ~4 s without. A dashboard calls it in
    a background thread at start, so the first full landscape does not wait.
    Returns the seconds it took (0.0 when numba is not available).
    """
    t0 = time.perf_counter()
    if engine.kernels() is None:  # pragma: no cover
        return 0.0
    rng = np.random.default_rng(0)
    ds = Dataset(rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), 1.0)
    landscape(ds, [0.0, 1.0], [0.0], gradient=True, backend="numba")
    evaluate(ds, 0.0, 0.0, backend="numba")  # the points kernel, with and without ∇²
    evaluate(ds, 0.0, 0.0, hessian=False, backend="numba")
    return time.perf_counter() - t0
