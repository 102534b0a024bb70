"""What the optimizers walk on: a :class:`Point` (loss, gradient, Hessian at some params)
and an :class:`Objective` (a function of the params that returns Points).

    objective = dataset_objective(ds)         # L = ½(y − s)² of a core.Dataset
    point = objective(params, hessian=False)  # params (2,) or (K, 2)

:func:`quadratic_objective` is a test bed with a known minimum; :func:`as_objective`
lets every public function take a Dataset or an Objective.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .errors import DataError
from .landscape import evaluate_points
from .model import Dataset, evaluate
from .validation import MAX_PARAM

__all__ = ["Objective", "Point", "as_objective", "dataset_objective", "quadratic_objective"]


# -- frozen values holding arrays ------------------------------------------------------


class Frozen:
    """Base of frozen dataclasses holding arrays (Point, the optimizer states, Run): arrays
    are copied read-only on creation, and equality and hashing go by value (dataclass'
    own would choke on arrays)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value = np.array(value)  # a private copy, so freezing it freezes nobody else's
                value.flags.writeable = False
                object.__setattr__(self, f.name, value)

    def _key(self) -> tuple:
        out: list[Any] = [type(self).__name__]
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                out.append((value.shape, value.tobytes()))
            else:
                out.append(value)
        return tuple(out)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


# -- points and objectives ---------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Point(Frozen):
    """An objective at one point (params (2,)) or at K points (params (K, 2)).

    params : (..., 2) = (α, β)
    loss : (...)
    grad : (..., 2) = ∇L
    hessian : (..., 2, 2), NaN unless asked for
    s : (...), the expected count; NaN for objectives without one
    """

    params: np.ndarray
    loss: np.ndarray
    grad: np.ndarray
    hessian: np.ndarray
    s: np.ndarray


@dataclass(frozen=True, eq=False)
class Objective:
    """A loss the optimizers can walk on.

    fun(params (..., 2), hessian: bool) -> :class:`Point`
    curvature(params (2,)) -> float : the curvature scale that sets default step sizes
        (‖∇s‖², the Gauss–Newton curvature, for the count model)
    unit : (2,) a natural length per parameter (adaptive methods step in these units)
    curvature_bound : an upper bound of curvature(params) over all params (sup ‖∇s‖²)
    y : the observed count (NaN without one)
    key : identifies the data (Dataset.fingerprint), so a run is not continued on other data
    """

    fun: Callable[[np.ndarray, bool], Point]
    curvature: Callable[[np.ndarray], float]
    unit: tuple[float, float] = (1.0, 1.0)
    y: float = math.nan
    curvature_bound: float = math.nan
    key: str = ""
    name: str = ""

    def __call__(self, params: np.ndarray, hessian: bool = False) -> Point:
        return self.fun(np.asarray(params, dtype=np.float64), hessian)


class StepMemo:
    """An objective that remembers every row it evaluated (for one optimizer step).

    A line search evaluates its trial points; the step's new point is the accepted trial,
    bit for bit, so the evaluation there is a look-up instead of a second pass over the
    data. ``memo.objective`` is the wrapped :class:`Objective`; rows asked with the
    Hessian reuse only rows evaluated with it.
    """

    def __init__(self, objective: Objective) -> None:
        self._inner = objective
        self._rows: dict[bytes, tuple[bool, float, np.ndarray, np.ndarray, float]] = {}
        self.objective = dataclasses.replace(objective, fun=self._fun)

    def _fun(self, params: np.ndarray, hessian: bool) -> Point:
        shape = params.shape[:-1]
        flat = params.reshape(-1, 2)
        keys = [row.tobytes() for row in flat]
        miss = [k for k, key in enumerate(keys) if not self._has(key, hessian)]
        if miss:
            # one point stays one point (core.evaluate), many go out as one batch
            pt = self._inner(params if params.ndim == 1 else flat[miss], hessian)
            loss, grad = np.reshape(pt.loss, -1), np.reshape(pt.grad, (-1, 2))
            hess, s = np.reshape(pt.hessian, (-1, 2, 2)), np.reshape(pt.s, -1)
            for m, k in enumerate(miss):
                self._rows[keys[k]] = (hessian, loss[m], grad[m], hess[m], s[m])
        rows = [self._rows[key] for key in keys]
        return Point(
            params,
            np.array([r[1] for r in rows]).reshape(shape),
            np.array([r[2] for r in rows]).reshape(*shape, 2),
            np.array([r[3] for r in rows]).reshape(*shape, 2, 2),
            np.array([r[4] for r in rows]).reshape(shape),
        )

    def _has(self, key: bytes, hessian: bool) -> bool:
        row = self._rows.get(key)
        return row is not None and (row[0] or not hessian)


def dataset_objective(ds: Dataset) -> Objective:
    """L = ½(y − s)² of the data set as an :class:`Objective`.

    One point goes through :func:`core.evaluate`, K points through
    :func:`core.evaluate_points` (the same formula, vectorised). ``ds`` may be a
    :class:`core.partitioned.PartitionedDataset`: then each call is one pass over the cluster.
    unit = 1/rms(I), 1/rms(D) over present events: α moving by one unit moves
    α·I by about 1, the scale on which σ changes.
    """

    def fun(params: np.ndarray, hessian: bool) -> Point:
        shape = params.shape[:-1]
        # Beyond ±MAX_PARAM the model is not evaluated (evaluate refuses it): such a point
        # gets NaN, like a diverged one, and the descent names the bound in its stop reason.
        inside = np.isfinite(params) & (np.abs(params) <= MAX_PARAM)
        if params.ndim == 1 and inside.all():
            with np.errstate(over="ignore", invalid="ignore"):  # huge params saturate σ
                ev = evaluate(ds, params[0], params[1], hessian=hessian)
            return Point(params, np.float64(ev.loss), ev.grad, ev.hessian, np.float64(ev.s))
        flat = params.reshape(-1, 2)
        ok = inside.reshape(-1, 2).all(axis=1)  # a diverged run's params: NaN values, no error
        loss, s = np.full(len(flat), np.nan), np.full(len(flat), np.nan)
        grad, hess = np.full((len(flat), 2), np.nan), np.full((len(flat), 2, 2), np.nan)
        if ok.any():
            with np.errstate(over="ignore", invalid="ignore"):
                pts = evaluate_points(ds, flat[ok, 0], flat[ok, 1], hessian=hessian)
            loss[ok], s[ok], grad[ok] = pts.loss, pts.s, pts.grad
            if hessian:
                hess[ok] = pts.hessian
        return Point(
            params,
            loss.reshape(shape),
            grad.reshape(*shape, 2),
            hess.reshape(*shape, 2, 2),
            s.reshape(shape),
        )

    def curvature(params: np.ndarray) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            grad_s = evaluate(ds, params[0], params[1], hessian=False).grad_s
        return float(grad_s @ grad_s)

    if getattr(ds, "is_partitioned", False):  # on a Dask cluster: every call is one pass
        units, bound = ds.units(), ds.moments()["bound"]
    else:
        units, bound = _units(ds), _grad_s_bound(ds)
    return Objective(
        fun,
        curvature,
        unit=(units[0], units[1]),
        y=ds.y,
        curvature_bound=bound**2,
        key=ds.fingerprint,
        name=ds.name or "data",
    )


def _units(ds: Dataset) -> list[float]:
    present = ds.present
    units = []
    for Z in ds.filled():
        rms = math.sqrt(float(np.mean(Z[present] ** 2)))
        units.append(1.0 / rms if rms > 0 else 1.0)
    return units


def _grad_s_bound(ds: Dataset) -> float:
    """sup over (α, β) of ‖∇s‖.

    ∇s = Σ_i Σ_j z_ij F_ij Π_k (1 − F_ik) with z_ij = (I_ij, D_ij), and for a row of E
    events Σ_j F_j Π_k (1 − F_k) <= (E/(E + 1))^(E+1) (all F_j = 1/(E + 1)), < 1/e. So
    ‖∇s‖ <= Σ_i max_j ‖z_ij‖ · (E_i/(E_i + 1))^(E_i+1).
    """
    I0, D0 = ds.filled()
    z = np.sqrt(np.max(I0**2 + D0**2, axis=1))
    E = ds.present.sum(axis=1)
    return float(np.sum(z * (E / (E + 1.0)) ** (E + 1)))


def quadratic_objective(A: object, minimum: object = (0.0, 0.0)) -> Objective:
    """L = ½ (θ − m)ᵀ A (θ − m): a test bed with a known minimiser m.

    A : (2, 2) symmetric; minimum : (2,). Curvature scale = largest |eigenvalue| of A.
    """
    A = np.array(A, dtype=np.float64)
    m = np.array(minimum, dtype=np.float64)
    if A.shape != (2, 2) or not np.allclose(A, A.T) or m.shape != (2,):
        raise DataError(
            f"quadratic_objective needs a symmetric (2, 2) matrix A and a minimum of shape "
            f"(2,); got A of shape {A.shape} and minimum of shape {m.shape}."
        )
    lam = float(np.max(np.abs(np.linalg.eigvalsh(A))))

    def fun(params: np.ndarray, hessian: bool) -> Point:
        with np.errstate(over="ignore", invalid="ignore"):
            d = params - m
            grad = d @ A
            loss = 0.5 * np.einsum("...k,...k->...", d, grad)
        hess = np.broadcast_to(A if hessian else np.nan, (*params.shape[:-1], 2, 2))
        return Point(params, loss, grad, hess, np.full(params.shape[:-1], np.nan))

    return Objective(fun, lambda params: lam, curvature_bound=lam, name="quadratic")


def as_objective(ds: Dataset | Objective) -> Objective:
    """A Dataset becomes its :func:`dataset_objective`; an Objective is passed through."""
    if isinstance(ds, Objective):
        return ds
    if isinstance(ds, Dataset) or getattr(ds, "is_partitioned", False):
        return dataset_objective(ds)
    raise DataError(
        f"expected a core.Dataset (or an Objective); got {type(ds).__name__}. Build one with "
        "core.Dataset(I, D, y)."
    )
