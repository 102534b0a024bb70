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
from dataclasses import dataclass

import numpy as np

from . import engine
from .engine import logistic_parts
from .validation import check_backend, check_pair, check_row_ids, check_scalar, check_y

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
    row_ids : array-like (N,), optional
        The file's own id of each row (long CSV and Parquet files keep them), for
        previews and messages; None numbers rows 0..N-1.

    Attributes
    ----------
    I, D : ndarray (N, E), float64, read-only, NaN where absent
    y : float
    N, E : int
    present : ndarray (N, E) bool, True where an event exists (made when first asked for)

    I and D are not copied when they come as C-ordered float64 arrays (at N = 10⁷,
    E = 20 the two matrices are 3.2 GB): the data set holds read-only views of them, so
    change neither afterwards, or pass ``copy=True``. Anything else is converted once.
    """

    __slots__ = (
        "D",
        "E",
        "I",
        "N",
        "_fingerprint",
        "_present",
        "name",
        "row_ids",
        "truth",
        "y",
    )

    def __init__(
        self,
        I: object,
        D: object,
        y: float,
        *,
        name: str = "",
        truth: tuple[float, float] | None = None,
        copy: bool = False,
        row_ids: object = None,
    ) -> None:
        I, D = check_pair(I, D)
        self.y = check_y(y)
        self.I, self.D = (I.copy(), D.copy()) if copy else (I.view(), D.view())
        for a in (self.I, self.D):
            a.flags.writeable = False
        self.N, self.E = (int(k) for k in I.shape)
        self.name = name
        self.truth = None if truth is None else (float(truth[0]), float(truth[1]))
        self._fingerprint: str | None = None
        self._present: np.ndarray | None = None
        self.row_ids = None if row_ids is None else check_row_ids(row_ids, self.N)

    @property
    def present(self) -> np.ndarray:
        """(N, E) bool, read-only: True where an event exists."""
        if self._present is None:
            present = ~np.isnan(self.I)
            present.flags.writeable = False
            self._present = present
        return self._present

    @property
    def n_nonempty(self) -> int:
        """Rows with at least one present event: the largest value s can approach."""
        return int(self.present.any(axis=1).sum())

    @property
    def all_present(self) -> bool:
        return bool(self.present.all())

    def filled(self) -> tuple[np.ndarray, np.ndarray]:
        """(I0, D0) (N, E): new arrays of I and D with 0.0 where an event is absent.

        For teaching code and checks that want whole matrices; the engine never needs
        them (it skips NaN events).
        """
        present = self.present
        return np.where(present, self.I, 0.0), np.where(present, self.D, 0.0)

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
            h.update(self.I.data)  # C-contiguous: hashed in place, no copy
            h.update(self.D.data)
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<Dataset{label} N={self.N} E={self.E} y={self.y:g}>"

    def __reduce__(self):  # pickling (st.cache_data hashes and copies arguments)
        return (_rebuild, (self.I, self.D, self.y, self.name, self.truth, self.row_ids))


def _rebuild(I, D, y, name, truth, row_ids=None):
    return Dataset(I, D, y, name=name, truth=truth, row_ids=row_ids)


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
    ``backend``: "numpy", "numba" (one pass, no (N, E) temporaries) or "auto" (see
    :func:`core.engine.choose`; always numpy when ``parts`` is asked for).
    All of it is :mod:`core.engine`'s sums at one point.
    """
    if getattr(ds, "is_partitioned", False):  # on a Dask cluster: core/partitioned.py
        return ds.evaluate(alpha, beta, hessian=hessian, parts=parts, backend=backend)
    check_backend(backend)
    alpha, beta = check_scalar(alpha, "alpha"), check_scalar(beta, "beta")
    extra = None
    if parts:
        sums, extra = engine.row_parts(ds.I, ds.D, alpha, beta, hessian)
        extra = Parts(**extra)
    else:
        a, b = np.array([alpha]), np.array([beta])
        sums = engine.point_sums(ds.I, ds.D, a, b, hessian=hessian, backend=backend)
    t = engine.totals(sums, ds.y)
    nan = np.full((2, 2), np.nan)
    return Evaluation(
        alpha=alpha,
        beta=beta,
        y=ds.y,
        s=float(t.s[0]),
        loss=float(t.loss[0]),
        grad=t.grad[0],
        hessian=nan if t.hessian is None else t.hessian[0],
        grad_s=t.grad_s[0],
        hessian_s=nan if t.hessian_s is None else t.hessian_s[0],
        parts=extra,
    )
