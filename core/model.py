"""The noisy-OR count model: s, L, the gradient and the exact Hessian.

    X = α·I + β·D                       (N, E); absent events (NaN) drop out
    F = σ(X)                            probability that event j of row i succeeds
    log p_i = Σ_j log(1 − F_ij) = −Σ_j softplus(X_ij)
    s = Σ_i (1 − p_i)                   expected number of rows with a success
    L = ½ (y − s)²

Everything is done in log space: 1 − p_i is ``-expm1(log p_i)``, never
``1 - prod(...)``, so s keeps full relative accuracy when events are rare
(s ≈ 1e-17, where the naive product rounds to 0) and when σ saturates.
"""

from __future__ import annotations

import hashlib
import importlib
import threading
from dataclasses import dataclass

import numpy as np

from .validation import check_pair, check_y

__all__ = ["Dataset", "Evaluation", "Parts", "evaluate", "logistic_parts"]


class Dataset:
    """Validated data of the model.

    Parameters
    ----------
    I, D : array-like (N, E)
        Real numbers; NaN marks an absent event (ragged rows) and must sit at
        the same positions in both.
    y : float
        The observed count. Values outside [0, number of non-empty rows] are
        allowed: the loss then has no zero, which is worth seeing.
    name : str, optional
        A label for display.
    truth : (alpha, beta), optional
        The parameters the data were generated from, when known.

    Attributes
    ----------
    I, D : ndarray (N, E), float64, read-only, NaN where absent
    y : float
    N, E : int
    present : ndarray (N, E) bool, True where an event exists
    """

    __slots__ = ("D", "E", "I", "N", "_D0", "_I0", "_fingerprint", "name", "present", "truth", "y")

    def __init__(
        self,
        I: object,
        D: object,
        y: float,
        *,
        name: str = "",
        truth: tuple[float, float] | None = None,
    ) -> None:
        I, D = check_pair(I, D)
        self.y = check_y(y)
        present = ~np.isnan(I)
        # Absent cells become 0 in the working copies; `evaluate` drops them by
        # sending X to -inf there, where softplus, σ and σ(1-σ) are all exactly 0.
        I0 = np.where(present, I, 0.0)
        D0 = np.where(present, D, 0.0)
        for a in (I, D, present, I0, D0):
            a.flags.writeable = False
        self.I, self.D, self.present = I, D, present
        self._I0, self._D0 = I0, D0
        self.N, self.E = (int(k) for k in I.shape)
        self.name = name
        self.truth = None if truth is None else (float(truth[0]), float(truth[1]))
        self._fingerprint: str | None = None

    @property
    def n_nonempty(self) -> int:
        """Rows with at least one present event: the largest value s can approach."""
        return int(self.present.any(axis=1).sum())

    def filled(self) -> tuple[np.ndarray, np.ndarray]:
        """(I0, D0) (N, E): I and D with 0.0 where an event is absent, read-only.

        For teaching code and checks that want whole matrices; the engine itself never
        needs them (it skips NaN events).
        """
        return self._I0, self._D0

    @property
    def all_present(self) -> bool:
        return bool(self.present.all())

    def with_y(self, y: float) -> Dataset:
        """The same matrices with another observed count (no copy of I and D)."""
        new = object.__new__(Dataset)
        for slot in Dataset.__slots__:
            object.__setattr__(new, slot, getattr(self, slot))
        new.y = check_y(y)
        new._fingerprint = None
        return new

    @property
    def fingerprint(self) -> str:
        """A content hash of (I, D, y): a cheap cache key for dashboards."""
        if self._fingerprint is None:
            h = hashlib.blake2b(digest_size=16)
            h.update(repr((self.I.shape, self.y)).encode())
            h.update(self.I.tobytes())
            h.update(self.D.tobytes())
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<Dataset{label} N={self.N} E={self.E} y={self.y:g}>"

    def __reduce__(self):  # pickling (st.cache_data hashes and copies arguments)
        return (_rebuild, (self.I, self.D, self.y, self.name, self.truth))


def _rebuild(I, D, y, name, truth):
    return Dataset(I, D, y, name=name, truth=truth)


@dataclass(frozen=True)
class Parts:
    """Intermediate quantities of the derivation, for teaching.

    X, F, G : ndarray (N, E) with NaN where the event is absent; G = log(1 − F)
    logp, p, q : ndarray (N,); q = 1 − p
    a : ndarray (N, 2); a[i, k] = Σ_j F_ij Z_k,ij with Z_1 = I, Z_2 = D
    """

    X: np.ndarray
    F: np.ndarray
    G: np.ndarray
    logp: np.ndarray
    p: np.ndarray
    q: np.ndarray
    a: np.ndarray


@dataclass(frozen=True)
class Evaluation:
    """The model at one (α, β).

    s, loss : float
    grad : ndarray (2,) = (∂L/∂α, ∂L/∂β)
    hessian : ndarray (2, 2), the exact Hessian of L
    grad_s : ndarray (2,) = ∇s;  hessian_s : ndarray (2, 2) = ∇²s
    parts : :class:`Parts` when asked for with ``parts=True``, else None
    """

    alpha: float
    beta: float
    y: float
    s: float
    loss: float
    grad: np.ndarray
    hessian: np.ndarray
    grad_s: np.ndarray
    hessian_s: np.ndarray
    parts: Parts | None = None


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


# Below this many cells the numpy path is as fast as the kernel and needs no numba.
_KERNEL_MIN = 50_000


# Every import of a numba kernel module goes through this lock: numba imported by two
# threads at once (a warm-up thread and a page) can hand one of them a half-made module.
NUMBA_IMPORT_LOCK = threading.RLock()


def numba_module(name: str):
    """The kernel module core.<name>, or None where numba cannot be imported."""
    try:
        with NUMBA_IMPORT_LOCK:
            return importlib.import_module(f"{__package__}.{name}")
    except ImportError:  # pragma: no cover - numba is a dependency
        return None


def _kernel():
    return numba_module("_model_kernel")


def evaluate(
    ds: Dataset,
    alpha: float,
    beta: float,
    *,
    hessian: bool = True,
    parts: bool = False,
    backend: str = "auto",
) -> Evaluation:
    """s, L, ∇L and the exact Hessian of L at (α, β).

    The gradient is the matrix-calculus form ∂L/∂α = (s − y)·Tr(P F Iᵀ) with
    P = Diag(p), computed as Σ_i p_i Σ_j F_ij I_ij without forming P.
    The Hessian is ∇s∇sᵀ + (s − y)∇²s with, for Z₁ = I, Z₂ = D and
    a_ik = Σ_j F_ij Z_k,ij,
        ∂²s/∂θ_k∂θ_l = Σ_i p_i [Σ_j F_ij(1 − F_ij) Z_k,ij Z_l,ij − a_ik a_il].
    ``hessian=False`` skips it (``hessian`` and ``hessian_s`` are then NaN).
    ``parts=True`` also returns the intermediates X, F, G, p (see :class:`Parts`).
    ``backend``: "numpy", "numba" (one pass, no (N, E) temporaries; ~8× faster on
    large data) or "auto" (numba from 50,000 cells, unless ``parts`` is asked for).
    """
    if backend not in ("auto", "numpy", "numba"):
        raise ValueError(f'backend must be "auto", "numpy" or "numba"; got {backend!r}.')
    alpha, beta = float(alpha), float(beta)
    use_kernel = backend == "numba" or (
        backend == "auto" and not parts and ds.N * ds.E >= _KERNEL_MIN
    )
    K = _kernel() if use_kernel else None
    if use_kernel and K is None and backend == "numba":  # pragma: no cover
        raise ValueError('backend="numba" needs numba, which cannot be imported here.')
    extra = None
    if K is not None and not parts:
        logp = np.empty(ds.N)
        a = np.empty((ds.N, 2))
        c3 = np.empty((ds.N, 3)) if hessian else np.empty((0, 3))
        K.row_sums(ds._I0, ds._D0, ds.present, ds.all_present, alpha, beta, hessian, logp, a, c3)
    else:
        logp, a, c3, extra = _row_sums_numpy(ds, alpha, beta, hessian, parts)

    p = np.exp(logp)
    q = -np.expm1(logp)
    s = float(q.sum())
    r = s - ds.y
    loss = 0.5 * r * r
    grad_s = p @ a  # (Tr(P F Iᵀ), Tr(P F Dᵀ))
    grad = r * grad_s

    if hessian:
        c = c3[:, [0, 1, 1, 2]].reshape(-1, 2, 2)
        c -= a[:, :, None] * a[:, None, :]
        hessian_s = np.einsum("i,ikl->kl", p, c)
        hess = np.outer(grad_s, grad_s) + r * hessian_s
    else:
        hessian_s = np.full((2, 2), np.nan)
        hess = np.full((2, 2), np.nan)

    if extra is not None:
        extra = Parts(logp=logp, p=p, q=q, a=a, **extra)
    return Evaluation(
        alpha=alpha,
        beta=beta,
        y=ds.y,
        s=s,
        loss=float(loss),
        grad=grad,
        hessian=hess,
        grad_s=grad_s,
        hessian_s=hessian_s,
        parts=extra,
    )


def _row_sums_numpy(ds: Dataset, alpha: float, beta: float, hessian: bool, parts: bool):
    """log p (N,), a (N, 2), c (N, 3) = Σ_j F(1 − F)(I², I·D, D²), and the (N, E)
    intermediates X, F, G when ``parts`` (NaN where absent)."""
    I0, D0 = ds._I0, ds._D0
    X = alpha * I0
    X += beta * D0
    if not ds.all_present:
        np.copyto(X, -np.inf, where=~ds.present)
    softplus, F, dF = logistic_parts(X)
    logp = -softplus.sum(axis=1)
    a = np.empty((ds.N, 2))
    a[:, 0] = np.einsum("ij,ij->i", F, I0)
    a[:, 1] = np.einsum("ij,ij->i", F, D0)
    c3 = np.empty((ds.N, 3))
    if hessian:
        wI = dF * I0
        c3[:, 0] = np.einsum("ij,ij->i", wI, I0)
        c3[:, 1] = np.einsum("ij,ij->i", wI, D0)
        c3[:, 2] = np.einsum("ij,ij->i", dF * D0, D0)
    extra = None
    if parts:
        absent = ~ds.present
        extra = {
            "X": np.where(absent, np.nan, X),
            "F": np.where(absent, np.nan, F),
            "G": np.where(absent, np.nan, -softplus),
        }
    return logp, a, c3, extra
