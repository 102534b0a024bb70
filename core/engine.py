"""The engine: the model's sums over rows, which add across row blocks.

For a block of rows and points θ_k = (α_k, β_k), with a_i = Σ_j F_ij (I_ij, D_ij) and
c_i = Σ_j F_ij (1 − F_ij) z_ij z_ijᵀ (z = (I, D)):

    s_k   = Σ_i (1 − p_i)                      1 − p_i = −expm1(log p_i), never 1 − Π(…)
    ∇s_k  = Σ_i p_i a_i                        = (Tr(P F Iᵀ), Tr(P F Dᵀ))
    ∇²s_k = Σ_i p_i (c_i − a_i a_iᵀ)

These are :class:`Sums`. Sums of two row blocks add (``+``), so rows can be split across
threads, processes or machines and still give the same totals; :func:`totals` then forms
L = ½(s − y)², ∇L = (s − y)∇s and ∇²L = ∇s∇sᵀ + (s − y)∇²s, in this one place.

Two backends compute Sums, each with one formula in which nothing overflows:
``"numba"`` (core/_kernels.py: exp(−|x|) per event, Q = Π(1 + e) − 1, no log; no (n, E)
temporaries, vectorised over rows, rows shared out to threads) and
``"numpy"`` (log space: softplus, σ, expm1; vectorised over points and rows in bounded
blocks: the tests' twin and oracle, and the only one that also
returns the intermediates X, F, G for teaching).
Grids have a faster numba kernel of their own (core/landscape.py); it falls back to the
same row formula where its recurrence cannot be used.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .errors import DataError
from .validation import check_backend

__all__ = ["Sums", "Totals", "logistic_parts", "point_sums", "row_parts", "totals"]


@dataclass(frozen=True, eq=False)
class Sums:
    """Additive sums at K points: s (K,), grad_s (K, 2), hessian_s (K, 2, 2) or None."""

    s: np.ndarray
    grad_s: np.ndarray
    hessian_s: np.ndarray | None = None

    def __add__(self, other: Sums) -> Sums:
        hess = None
        if self.hessian_s is not None and other.hessian_s is not None:
            hess = self.hessian_s + other.hessian_s
        return Sums(self.s + other.s, self.grad_s + other.grad_s, hess)

    @classmethod
    def zeros(cls, K: int, hessian: bool) -> Sums:
        return cls(np.zeros(K), np.zeros((K, 2)), np.zeros((K, 2, 2)) if hessian else None)


@dataclass(frozen=True, eq=False)
class Totals:
    """The loss from total Sums: s, loss (K,); grad, grad_s (K, 2); hessian, hessian_s
    (K, 2, 2) or None."""

    s: np.ndarray
    loss: np.ndarray
    grad: np.ndarray
    grad_s: np.ndarray
    hessian: np.ndarray | None
    hessian_s: np.ndarray | None


def totals(sums: Sums, y: float) -> Totals:
    """L, ∇L and ∇²L at every point from the sums over all rows."""
    r = sums.s - y
    grad_s, hess_s = sums.grad_s, sums.hessian_s
    hess = None
    if hess_s is not None:
        hess = grad_s[:, :, None] * grad_s[:, None, :] + r[:, None, None] * hess_s
    return Totals(sums.s, 0.5 * r * r, r[:, None] * grad_s, grad_s, hess, hess_s)


# -- numpy: the twin --------------------------------------------------------------------


def logistic_parts(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """softplus(X), σ(X) and σ(X)·(1 − σ(X)), stable for any X including ±inf.

    With e = exp(−|x|) ∈ [0, 1] nothing overflows:
    softplus(x) = max(x, 0) + log1p(e),  σ(x) = (1 or e)/(1 + e),  σ(1 − σ) = e/(1 + e)².
    """
    e = np.exp(-np.abs(X))
    one_plus = 1.0 + e
    softplus = np.maximum(X, 0.0) + np.log1p(e)
    sigma = np.where(X >= 0, 1.0, e) / one_plus
    dsigma = e / (one_plus * one_plus)
    return softplus, sigma, dsigma


def _rows_numpy(I: np.ndarray, D: np.ndarray, alphas, betas, hessian: bool, keep: bool):
    """Per point and row: log p (K, n), a (K, n, 2), c (K, n, 2, 2) or None, and when
    ``keep`` the (K, n, E) intermediates X, softplus, F (absent events: X = −inf, where
    softplus, σ and σ(1 − σ) are exactly 0)."""
    present = ~np.isnan(I)
    I0 = np.where(present, I, 0.0)
    D0 = np.where(present, D, 0.0)
    X = alphas[:, None, None] * I0  # (K, n, E)
    X += betas[:, None, None] * D0
    np.copyto(X, -np.inf, where=~present)
    softplus, F, dF = logistic_parts(X)
    logp = -softplus.sum(axis=2)
    a = np.stack([np.einsum("kij,ij->ki", F, I0), np.einsum("kij,ij->ki", F, D0)], axis=2)
    c = None
    if hessian:
        wI = dF * I0
        c_ii = np.einsum("kij,ij->ki", wI, I0)
        c_id = np.einsum("kij,ij->ki", wI, D0)
        c_dd = np.einsum("kij,ij->ki", dF * D0, D0)
        c = np.stack([c_ii, c_id, c_id, c_dd], axis=2).reshape(*c_ii.shape, 2, 2)
    return logp, a, c, ((X, softplus, F) if keep else None)


def _reduce(logp: np.ndarray, a: np.ndarray, c: np.ndarray | None) -> Sums:
    """Sums over rows (axis 1) of the per-row terms of :func:`_rows_numpy`."""
    p = np.exp(logp)
    s = (-np.expm1(logp)).sum(axis=1)
    grad_s = np.einsum("ki,kim->km", p, a)
    if c is None:
        return Sums(s, grad_s)
    c = c - a[:, :, :, None] * a[:, :, None, :]
    return Sums(s, grad_s, np.einsum("ki,kilm->klm", p, c))


# Elements in one (points, rows, events) block of the numpy path: 2**20 float64 is
# 8 MB per temporary, about 60 MB at the peak of a block with the Hessian.
_BLOCK = 1 << 20


def _sums_numpy(I, D, alphas, betas, hessian: bool, tick) -> Sums:
    N, E = I.shape
    K = alphas.size
    rows = max(1, min(N, _BLOCK // max(E, 1)))
    kb = max(1, min(K, _BLOCK // (rows * E)))
    total = Sums.zeros(K, hessian)
    n_blocks, done = -(-K // kb) * -(-N // rows), 0
    for k0 in range(0, K, kb):
        ks = slice(k0, k0 + kb)
        for r0 in range(0, N, rows):
            rs = slice(r0, r0 + rows)
            logp, a, c, _ = _rows_numpy(I[rs], D[rs], alphas[ks], betas[ks], hessian, False)
            part = _reduce(logp, a, c)
            total.s[ks] += part.s
            total.grad_s[ks] += part.grad_s
            if hessian:
                total.hessian_s[ks] += part.hessian_s
            done += 1
            if tick is not None:
                tick(done / n_blocks)
    return total


def row_parts(I: np.ndarray, D: np.ndarray, alpha: float, beta: float, hessian: bool):
    """Sums at one point plus the per-row and per-event intermediates, for teaching.

    Returns (Sums with K = 1, dict of X, F, G (N, E) with NaN where absent, and
    logp, p, q (N,), a (N, 2)). The numpy formula of :func:`point_sums`, unsummed.
    """
    logp, a, c, (X, softplus, F) = _rows_numpy(
        I, D, np.array([alpha]), np.array([beta]), hessian, True
    )
    absent = np.isnan(I)
    parts = {
        "X": np.where(absent, np.nan, X[0]),
        "F": np.where(absent, np.nan, F[0]),
        "G": np.where(absent, np.nan, -softplus[0]),
        "logp": logp[0],
        "p": np.exp(logp[0]),
        "q": -np.expm1(logp[0]),
        "a": a[0],
    }
    return _reduce(logp, a, c), parts


# -- numba, threads, and the choice between backends --------------------------------------

# Every import of a numba kernel module goes through this lock: numba imported by two
# threads at once (a warm-up thread and a page) can hand one of them a half-made module.
NUMBA_IMPORT_LOCK = threading.RLock()
# Set once the numba kernels have run in this process (by warm_up or any call): from
# then on "auto" uses them. (Not a look at sys.modules: a warm-up thread may be half-way
# through importing core._kernels.)
numba_ready = threading.Event()


def kernels():
    """The module core._kernels, or None where numba cannot be imported."""
    name = f"{__package__}._kernels"
    with NUMBA_IMPORT_LOCK:
        try:
            return importlib.import_module(name)
        except ImportError:  # pragma: no cover - numba is a dependency
            return None
        except RuntimeError as exc:  # "cannot cache function ...: no locator available"
            if "cannot cache" not in str(exc):
                raise
        # A read-only install with no writable home (a container, a shared server):
        # numba finds nowhere to keep compiled kernels. Give it a private directory.
        sys.modules.pop(name, None)
        _private_numba_cache()
        try:
            return importlib.import_module(name)
        except (ImportError, RuntimeError):  # nowhere writable at all: numpy it is
            sys.modules.pop(name, None)
            return None


def _private_numba_cache() -> None:
    import numba

    path = os.path.join(tempfile.gettempdir(), f"losslens-numba-{os.getuid()}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = path
    numba.config.CACHE_DIR = path


# Below _TINY point·cell evaluations numpy is as fast as the kernel and needs no numba;
# below _SMALL (~0.2 s in numpy) "auto" keeps to numpy until numba has been loaded, so
# a first page does not wait seconds for numba to compile.
_TINY = 50_000
_SMALL = 3_000_000


def choose(backend: str, work: float):
    """(backend name, kernels module or None) for a job of ``work`` point·event updates.

    "auto" on a job worth the kernels while they are not loaded yet starts loading them
    in a background thread (once) and, for a small job, answers with numpy meanwhile.
    """
    check_backend(backend)
    if backend == "numpy":
        return "numpy", None
    if backend == "auto" and work >= _TINY and not numba_ready.is_set():
        warm_up_in_background()
    if backend == "auto" and (work < _TINY or (work <= _SMALL and not numba_ready.is_set())):
        return "numpy", None
    K = kernels()
    if K is None:
        if backend == "numba":
            raise DataError('backend="numba" needs numba, which cannot be imported here.')
        return "numpy", None
    return "numba", K


_WARMING: list[threading.Thread] = []


def warm_up_in_background() -> threading.Thread:
    """Load (the first time after an install, compile) the numba kernels in a thread,
    once per process; the thread. Small jobs use numpy until it is done."""
    with NUMBA_IMPORT_LOCK:
        if _WARMING:
            return _WARMING[0]
        from .landscape import warm_up  # landscape imports this module

        thread = threading.Thread(target=warm_up, name="losslens-warm-up", daemon=True)
        _WARMING.append(thread)
    thread.start()
    return thread


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def pool() -> ThreadPoolExecutor:
    """The process' worker threads for the numba kernels (they release the GIL)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            workers = max(1, kernels().THREADS)
            _POOL = ThreadPoolExecutor(workers, thread_name_prefix="losslens-engine")
        return _POOL


# Point·event updates from which a points call is shared out to threads: below it,
# starting threads costs more than it saves (and makes small calls jittery). Measured
# with the vectorised kernel (bench/evaluate.py --threads, quiet, 2 cores): one thread /
# two, mean and p99 in ms: 0.58/0.69 vs 0.71/1.14 at 10^5; 1.11/1.34 vs 0.92/1.60 at
# 2·10^5; 3.07/3.85 vs 2.18/4.22 at 5·10^5.
_THREADED = 1 << 18


def _sums_numba(K, I, D, alphas, betas, hessian: bool) -> Sums:
    N = I.shape[0]
    workers = max(1, K.THREADS)
    n_parts = 1 if alphas.size * I.size < _THREADED else min(workers, N)
    bounds = np.linspace(0, N, n_parts + 1).astype(int)
    outs = [np.zeros((alphas.size, 6)) for _ in range(n_parts)]

    def work(m: int) -> None:
        rs = slice(bounds[m], bounds[m + 1])
        K.points(I[rs], D[rs], alphas, betas, hessian, outs[m])

    if n_parts == 1:
        work(0)
    else:
        for f in [pool().submit(work, m) for m in range(n_parts)]:
            f.result()
    out = outs[0]
    for more in outs[1:]:
        out += more
    hess = out[:, [3, 4, 4, 5]].reshape(-1, 2, 2) if hessian else None
    return Sums(out[:, 0].copy(), out[:, 1:3].copy(), hess)


def point_sums(
    I: np.ndarray,
    D: np.ndarray,
    alphas: np.ndarray,
    betas: np.ndarray,
    *,
    hessian: bool = False,
    backend: str = "auto",
    tick: Callable[[float], None] | None = None,
) -> Sums:
    """The :class:`Sums` of rows I, D (n, E; NaN where absent) at K points alphas, betas (K,).

    Inputs are trusted (validated at the boundary). ``tick(fraction)`` is called as
    blocks finish on the numpy path (progress, cancel).
    """
    _, K = choose(backend, float(alphas.size) * I.size)
    if K is None:
        return _sums_numpy(I, D, alphas, betas, hessian, tick)
    sums = _sums_numba(K, I, D, alphas, betas, hessian)
    numba_ready.set()
    return sums
