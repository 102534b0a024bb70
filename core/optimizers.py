"""Optimizers that move one step at a time: pure ``init``/``step`` pairs over frozen states.

    opt = adam(lr=0.05)                      # an Optimizer: (init, step, needs_hessian)
    state = opt.init(params)                 # params (2,) or (K, 2): K runs side by side
    params, state = opt.step(state, point, objective)

``point`` is the objective at the current params (:class:`Point`: loss, grad and, for
``newton``, the Hessian); ``objective`` (:class:`Objective`: the data set's loss, or a
plain quadratic for tests) is only called by the line searches of ``backtracking`` and
``newton``. Nothing is mutated: a state can be kept, copied, hashed and rewound.
optax's GradientTransformation is the model; adding an optimizer is one state class,
one factory, one entry in :data:`HYPERPARAMS` and one row in the test table.

Step sizes scale with the data. L = ½(y − s)² grows like N², so a fixed learning rate
that suits N = 50 explodes at N = 5,000; :func:`default_hyperparams` derives them from
the problem: k/‖∇s‖² (the Gauss–Newton curvature) for gd, momentum, nesterov and
backtracking, and a fraction of the Gauss–Newton distance to the zero set (in parameter
units) for adagrad, rmsprop and adam.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from .errors import DataError
from .landscape import evaluate_points
from .model import Dataset, evaluate

__all__ = [
    "HYPERPARAMS",
    "OPTIMIZERS",
    "AdagradState",
    "AdamState",
    "BacktrackingState",
    "GDState",
    "Hyperparam",
    "MomentumState",
    "NesterovState",
    "NewtonState",
    "Objective",
    "Optimizer",
    "Point",
    "RMSpropState",
    "adagrad",
    "adam",
    "as_objective",
    "backtracking",
    "dataset_objective",
    "default_hyperparams",
    "gd",
    "make_optimizer",
    "momentum",
    "nesterov",
    "newton",
    "quadratic_objective",
    "rmsprop",
]

OPTIMIZERS = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "newton", "backtracking")


# -- frozen values holding arrays ------------------------------------------------------


class Frozen:
    """Base of the frozen dataclasses below: arrays are copied read-only on creation,
    and equality and hashing go by value (dataclass' own would choke on arrays)."""

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


# -- what the optimizers see: points and objectives -------------------------------------


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


def dataset_objective(ds: Dataset) -> Objective:
    """L = ½(y − s)² of the data set as an :class:`Objective`.

    One point goes through :func:`core.evaluate`, K points through
    :func:`core.evaluate_points` (the same formula, vectorised).
    unit = 1/rms(I), 1/rms(D) over present events: α moving by one unit moves
    α·I by about 1, the scale on which σ changes.
    """

    def fun(params: np.ndarray, hessian: bool) -> Point:
        shape = params.shape[:-1]
        if params.ndim == 1 and np.isfinite(params).all():
            with np.errstate(over="ignore", invalid="ignore"):  # huge params saturate σ
                ev = evaluate(ds, params[0], params[1], hessian=hessian)
            return Point(params, np.float64(ev.loss), ev.grad, ev.hessian, np.float64(ev.s))
        flat = params.reshape(-1, 2)
        ok = np.isfinite(flat).all(axis=1)  # a diverged run's params: NaN values, no error
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

    present = ds.present
    units = []
    for Z in (ds._I0, ds._D0):
        rms = math.sqrt(float(np.mean(Z[present] ** 2)))
        units.append(1.0 / rms if rms > 0 else 1.0)
    return Objective(
        fun,
        curvature,
        unit=(units[0], units[1]),
        y=ds.y,
        curvature_bound=_grad_s_bound(ds) ** 2,
        key=ds.fingerprint,
        name=ds.name or "data",
    )


def _grad_s_bound(ds: Dataset) -> float:
    """sup over (α, β) of ‖∇s‖.

    ∇s = Σ_i Σ_j z_ij F_ij Π_k (1 − F_ik) with z_ij = (I_ij, D_ij), and for a row of E
    events Σ_j F_j Π_k (1 − F_k) <= (E/(E + 1))^(E+1) (all F_j = 1/(E + 1)), < 1/e. So
    ‖∇s‖ <= Σ_i max_j ‖z_ij‖ · (E_i/(E_i + 1))^(E_i+1).
    """
    z = np.sqrt(np.max(ds._I0**2 + ds._D0**2, axis=1))
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
    if isinstance(ds, Dataset):
        return dataset_objective(ds)
    raise DataError(
        f"expected a core.Dataset (or an Objective); got {type(ds).__name__}. Build one with "
        "core.Dataset(I, D, y)."
    )


# -- optimizers -------------------------------------------------------------------------


class Optimizer(NamedTuple):
    """init(params) -> state;  step(state, point, objective) -> (params, state).

    needs_hessian: whether ``point.hessian`` must be filled in.
    """

    init: Callable[[np.ndarray], Any]
    step: Callable[[Any, Point, Objective], tuple[np.ndarray, Any]]
    needs_hessian: bool = False


def _col(x: object) -> np.ndarray:
    """A hyper-parameter (scalar, or (K,) one per run) shaped to broadcast against (..., 2)."""
    return np.asarray(x, dtype=np.float64)[..., None]


@dataclass(frozen=True, eq=False)
class GDState(Frozen):
    count: int = 0


def gd(lr: float) -> Optimizer:
    """Gradient descent: θ ← θ − lr·∇L.

    Stable near a minimum while lr < 2/λmax(∇²L). Default lr = 1/‖∇s‖²: ∇²L ≈ ∇s∇sᵀ
    near the zero set, whose only eigenvalue is ‖∇s‖², so this is the Gauss–Newton step
    that lands on the linearised curve s = y (see :func:`default_hyperparams`).
    """

    def init(params: np.ndarray) -> GDState:
        return GDState()

    def step(state: GDState, point: Point, objective: Objective):
        return point.params - _col(lr) * point.grad, GDState(state.count + 1)

    return Optimizer(init, step)


@dataclass(frozen=True, eq=False)
class MomentumState(Frozen):
    velocity: np.ndarray
    count: int = 0


def momentum(lr: float, mu: float = 0.9) -> Optimizer:
    """Heavy ball (Polyak 1964): v ← μ·v − lr·∇L;  θ ← θ + v.

    Stable for lr < 2(1 + μ)/λmax. Default lr = 0.5/‖∇s‖² (the velocity lengthens the
    steps; see :func:`default_hyperparams`).
    """

    def init(params: np.ndarray) -> MomentumState:
        return MomentumState(np.zeros_like(params, dtype=np.float64))

    def step(state: MomentumState, point: Point, objective: Objective):
        v = _col(mu) * state.velocity - _col(lr) * point.grad
        return point.params + v, MomentumState(v, state.count + 1)

    return Optimizer(init, step)


@dataclass(frozen=True, eq=False)
class NesterovState(Frozen):
    velocity: np.ndarray
    count: int = 0


def nesterov(lr: float, mu: float = 0.9) -> Optimizer:
    """Nesterov momentum (Sutskever et al. 2013) in the form of optax and PyTorch:
    v ← μ·v − lr·∇L(θ);  θ ← θ + μ·v − lr·∇L(θ).

    The params it reports are the look-ahead points where the gradient is taken, so
    each step needs one gradient. Stable for lr < 2(1 + μ)/((1 + 2μ)·λmax).
    Default lr = 0.5/‖∇s‖² (see :func:`default_hyperparams`).
    """

    def init(params: np.ndarray) -> NesterovState:
        return NesterovState(np.zeros_like(params, dtype=np.float64))

    def step(state: NesterovState, point: Point, objective: Objective):
        g = _col(lr) * point.grad
        v = _col(mu) * state.velocity - g
        return point.params + _col(mu) * v - g, NesterovState(v, state.count + 1)

    return Optimizer(init, step)


@dataclass(frozen=True, eq=False)
class AdagradState(Frozen):
    sum_sq: np.ndarray
    count: int = 0


def adagrad(lr: float, eps: float = 1e-10) -> Optimizer:
    """Adagrad (Duchi, Hazan & Singer 2011): G ← G + g²;  θ ← θ − lr·g/(√G + eps).

    The first step moves each parameter by lr (in parameter units), later ones shrink
    like 1/√t. Default lr = 0.5·d0, d0 the Gauss–Newton distance to the zero set
    (see :func:`default_hyperparams`).
    """

    def init(params: np.ndarray) -> AdagradState:
        return AdagradState(np.zeros_like(params, dtype=np.float64))

    def step(state: AdagradState, point: Point, objective: Objective):
        g = point.grad
        G = state.sum_sq + g * g
        return point.params - _col(lr) * g / (np.sqrt(G) + _col(eps)), AdagradState(
            G, state.count + 1
        )

    return Optimizer(init, step)


@dataclass(frozen=True, eq=False)
class RMSpropState(Frozen):
    mean_sq: np.ndarray
    count: int = 0


def rmsprop(lr: float, rho: float = 0.9, eps: float = 1e-10) -> Optimizer:
    """RMSprop (Tieleman & Hinton 2012): v ← ρ·v + (1 − ρ)·g²;  θ ← θ − lr·g/(√v + eps).

    Steps are about lr per parameter (the first one 1/√(1 − ρ) times that) even near the
    minimum, so it settles into a cycle of size ~lr around it. Default lr = 0.03·d0, d0
    the Gauss–Newton distance to the zero set (see :func:`default_hyperparams`).
    """

    def init(params: np.ndarray) -> RMSpropState:
        return RMSpropState(np.zeros_like(params, dtype=np.float64))

    def step(state: RMSpropState, point: Point, objective: Objective):
        g = point.grad
        v = _col(rho) * state.mean_sq + (1.0 - _col(rho)) * g * g
        return point.params - _col(lr) * g / (np.sqrt(v) + _col(eps)), RMSpropState(
            v, state.count + 1
        )

    return Optimizer(init, step)


@dataclass(frozen=True, eq=False)
class AdamState(Frozen):
    m: np.ndarray
    v: np.ndarray
    count: int = 0


def adam(lr: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-10) -> Optimizer:
    """Adam (Kingma & Ba 2015), bias-corrected moments m̂, v̂:  θ ← θ − lr·m̂/(√v̂ + eps).

    Steps are about lr per parameter, so lr is in parameter units. Default lr = 0.1·d0,
    d0 the Gauss–Newton distance to the zero set (see :func:`default_hyperparams`).
    """

    def init(params: np.ndarray) -> AdamState:
        zeros = np.zeros_like(params, dtype=np.float64)
        return AdamState(zeros, zeros)

    def step(state: AdamState, point: Point, objective: Objective):
        g = point.grad
        t = state.count + 1
        m = _col(beta1) * state.m + (1.0 - _col(beta1)) * g
        v = _col(beta2) * state.v + (1.0 - _col(beta2)) * g * g
        m_hat = m / (1.0 - _col(beta1) ** t)
        v_hat = v / (1.0 - _col(beta2) ** t)
        return point.params - _col(lr) * m_hat / (np.sqrt(v_hat) + _col(eps)), AdamState(m, v, t)

    return Optimizer(init, step)


MAX_BACKTRACKS = 60


def armijo(
    objective: Objective, point: Point, d: np.ndarray, t: object, c1: object, rho: object
) -> tuple[np.ndarray, int]:
    """Backtracking line search along d (..., 2) from step t (...): the accepted steps (...).

    t shrinks by ρ until L(θ + t·d) <= L(θ) + c1·t·∇Lᵀd (Armijo's sufficient decrease);
    rows where 60 tries all fail get t = 0 (stay put). Only the rows still searching are
    evaluated. Returns (t, number of loss evaluations).
    """
    shape = point.params.shape[:-1]
    n = math.prod(shape)
    params, d = point.params.reshape(n, 2), d.reshape(n, 2)
    loss = point.loss.reshape(n)
    slope = np.einsum("ij,ij->i", point.grad.reshape(n, 2), d)  # <= 0 for a descent direction
    t = np.broadcast_to(np.asarray(t, dtype=np.float64), shape).reshape(n).copy()
    c1 = np.broadcast_to(np.asarray(c1, dtype=np.float64), shape).reshape(n)
    rho = np.broadcast_to(np.asarray(rho, dtype=np.float64), shape).reshape(n)
    todo = np.ones(n, bool)
    evals = 0
    for _ in range(MAX_BACKTRACKS + 1):
        rows = np.flatnonzero(todo)
        trial = objective(params[rows] + t[rows, None] * d[rows], False).loss
        evals += len(rows)
        ok = trial <= loss[rows] + c1[rows] * t[rows] * slope[rows]  # NaN fails: shrink
        todo[rows[ok]] = False
        if not todo.any():
            break
        t[todo] *= rho[todo]
    t[todo] = 0.0
    return t.reshape(shape), evals


@dataclass(frozen=True, eq=False)
class NewtonState(Frozen):
    """t : (...) the fraction of the Newton step taken last; evals : line-search evaluations."""

    t: np.ndarray
    count: int = 0
    evals: int = 0


def newton_direction(hessian: np.ndarray, grad: np.ndarray, delta: object) -> np.ndarray:
    """−|H|⁻¹·g with |H| = Q·max(|Λ|, delta·max|Λ|)·Qᵀ, for stacks (..., 2, 2) and (..., 2).

    Directions where H has no curvature at all (|H| = 0, e.g. where σ saturates and the
    Hessian underflows) get no step.
    """
    bad = ~np.isfinite(hessian).all(axis=(-2, -1))
    hessian = np.where(bad[..., None, None], 0.0, hessian)  # no curvature known: no step
    lam, Q = np.linalg.eigh(hessian)
    mag = np.abs(lam)
    mag = np.maximum(mag, _col(delta) * mag.max(axis=-1, keepdims=True))
    g_eig = np.einsum("...kl,...k->...l", Q, grad)  # Qᵀ g
    d_eig = -g_eig / np.where(mag > 0, mag, np.inf)
    return np.einsum("...kl,...l->...k", Q, d_eig)


def newton(lr: float = 1.0, delta: float = 1e-4, c1: float = 1e-4, rho: float = 0.5) -> Optimizer:
    """Damped Newton with the exact Hessian: θ ← θ + t·d,  d = −|H|⁻¹·∇L.

    H = ∇s∇sᵀ + (s − y)∇²s is indefinite wherever (s − y)∇²s outweighs ∇s∇sᵀ (on this
    loss often: on the far side of the zero set and where σ saturates), and singular on
    the zero set itself (rank one). There the eigenvalues are replaced by their absolute
    values (saddle-free Newton, Dauphin et al. 2014), floored at delta·max|λ|, so d is
    always a descent direction: negative curvature is followed downhill, not up to a
    maximum. Damping as in Boyd & Vandenberghe §9.5: t starts at lr (1 = the full Newton
    step) and is shrunk by ρ until Armijo's condition holds with c1, because a small |λ|
    makes d long and the quadratic model is only trusted nearby. Near the zero set t = 1
    passes and it converges quadratically.
    """

    def init(params: np.ndarray) -> NewtonState:
        return NewtonState(np.ones(params.shape[:-1]))

    def step(state: NewtonState, point: Point, objective: Objective):
        d = newton_direction(point.hessian, point.grad, delta)
        t, evals = armijo(objective, point, d, lr, c1, rho)
        return point.params + t[..., None] * d, NewtonState(t, state.count + 1, state.evals + evals)

    return Optimizer(init, step, needs_hessian=True)


@dataclass(frozen=True, eq=False)
class BacktrackingState(Frozen):
    """t : (...) the step size accepted last; evals : loss evaluations spent in line searches."""

    t: np.ndarray
    count: int = 0
    evals: int = 0


def backtracking(lr: float, c1: float = 1e-4, rho: float = 0.5, grow: float = 2.0) -> Optimizer:
    """Gradient descent with an Armijo line search (Nocedal & Wright, Algorithm 3.1).

    Each step tries t = grow·t_prev (t = lr at the first step) and shrinks t ← ρ·t until
    L(θ − t·g) <= L(θ) − c1·t·‖g‖² (at most 60 times; if none passes, it stays put and
    the next search starts from lr again). grow = 1 is the textbook search from lr every
    time; grow > 1 lets the step lengthen again where the loss flattens. Default
    lr = 2/‖∇s‖² at the start: twice the Gauss–Newton step, so near the zero set the
    first search halves once.
    """

    lr0 = np.asarray(lr, dtype=np.float64)  # scalar, or (K,) one per run

    def init(params: np.ndarray) -> BacktrackingState:
        return BacktrackingState(np.broadcast_to(lr0, params.shape[:-1]))

    def step(state: BacktrackingState, point: Point, objective: Objective):
        t0 = state.t if state.count == 0 else state.t * np.asarray(grow)
        t, evals = armijo(objective, point, -point.grad, t0, c1, rho)
        new_t = np.where(t > 0, t, lr0)
        new = point.params - t[..., None] * point.grad
        return new, BacktrackingState(new_t, state.count + 1, state.evals + evals)

    return Optimizer(init, step)


# -- hyper-parameters: descriptions, validation, defaults -------------------------------


@dataclass(frozen=True)
class Hyperparam:
    """One hyper-parameter, described so a UI can render a control for it.

    default : the fixed default, or None when it is derived (see ``derived``)
    low, high : a sensible slider range; multiples of the derived default when
        ``derived``; ``log``: use a log-scale slider
    bounds : the values accepted, with ``open`` telling which ends are excluded
    """

    name: str
    help: str
    default: float | None
    low: float
    high: float
    log: bool = False
    bounds: tuple[float, float] = (0.0, math.inf)
    open: tuple[bool, bool] = (False, True)
    derived: str = ""

    def range_for(self, default: float) -> tuple[float, float]:
        """(low, high) for a slider around ``default`` (the value default_hyperparams gives)."""
        if self.derived:
            return self.low * default, self.high * default
        return self.low, self.high

    def interval(self) -> str:
        lo, hi = self.bounds
        left = "(" if self.open[0] else "["
        right = ")" if self.open[1] else "]"
        return f"{left}{lo:g}, {hi:g}{right}"

    def contains(self, value: float) -> bool:
        lo, hi = self.bounds
        above = value > lo if self.open[0] else value >= lo
        below = value < hi if self.open[1] else value <= hi
        return above and below


def _hp(name: str, default: float | None, ui: str, valid: str, help: str, derived: str = ""):
    """Hyperparam from compact text: ui = "low..high" ("log:" prefix for a log slider),
    valid = an interval such as "[0, 1)"."""
    log = ui.startswith("log:")
    low, high = (float(v) for v in ui.removeprefix("log:").split(".."))
    lo, hi = (float(v) for v in valid[1:-1].split(","))
    return Hyperparam(
        name, help, default, low, high, log, (lo, hi), (valid[0] == "(", valid[-1] == ")"), derived
    )


# Derived step sizes (see _derived): k/‖∇s‖² for the gradient methods, k·d0 (parameter
# units) for the adaptive ones. k was tuned on 40 random data sets (N = 50 ... 2,000,
# starts in [-4, 4]²): from starts off a plateau every run reached L/L₀ < 1e-3 within
# 300 steps, and no first step raised L. Momentum and Nesterov take half: the kept
# velocity makes their steps longer.
_GN_STEP = MappingProxyType({"gd": 1.0, "momentum": 0.5, "nesterov": 0.5, "backtracking": 2.0})
_UNIT_STEP = MappingProxyType({"adagrad": 0.5, "rmsprop": 0.03, "adam": 0.1})


def _lr_gn(name: str, help: str) -> Hyperparam:
    how = (
        f"{_GN_STEP[name]:g}/‖∇s‖², ‖∇s‖² the Gauss–Newton curvature (1/‖∇s‖² is the step "
        "onto the linearised zero set), the largest met on the steepest-descent ray from the "
        "start to the zero set; on a plateau, its bound over the whole plane"
    )
    return _hp("lr", None, "log:1e-3..10", "[0, inf)", help, how)


def _lr_units(name: str, help: str) -> Hyperparam:
    how = (
        f"{_UNIT_STEP[name]:g}·d0, d0 = |s − y|/‖∇s‖ the distance to the linearised zero "
        "set at the start, at most 2 parameter units (1/rms(I) for α, 1/rms(D) for β)"
    )
    return _hp("lr", None, "log:1e-2..20", "[0, inf)", help, how)


_MU = _hp("mu", 0.9, "0..0.99", "[0, 1)", "momentum: the fraction of the last step kept")
_EPS = _hp(
    "eps",
    None,
    "log:1e-3..1e3",
    "(0, inf)",
    "added to the root of the g² accumulator against division by 0",
    "1e-10·|∇L| at the start, so it stays negligible whatever the scale of the loss",
)
_C1 = _hp(
    "c1", 1e-4, "log:1e-6..0.5", "(0, 1)", "Armijo: the fraction of the predicted decrease required"
)
_SHRINK = _hp("rho", 0.5, "0.1..0.9", "(0, 1)", "line search: shrink factor of the trial step")

HYPERPARAMS: Mapping[str, tuple[Hyperparam, ...]] = MappingProxyType(
    {
        "gd": (_lr_gn("gd", "step size: θ ← θ − lr·∇L"),),
        "momentum": (_lr_gn("momentum", "step size of the gradient part"), _MU),
        "nesterov": (_lr_gn("nesterov", "step size of the gradient part"), _MU),
        "adagrad": (
            _lr_units("adagrad", "first step per parameter, then shrinking like 1/√t"),
            _EPS,
        ),
        "rmsprop": (
            _lr_units("rmsprop", "about the step per parameter"),
            _hp("rho", 0.9, "0.5..0.999", "(0, 1)", "decay of the running mean of g²"),
            _EPS,
        ),
        "adam": (
            _lr_units("adam", "about the step per parameter"),
            _hp("beta1", 0.9, "0..0.99", "[0, 1)", "decay of the running mean of g (momentum)"),
            _hp("beta2", 0.999, "0.9..0.9999", "[0, 1)", "decay of the running mean of g²"),
            _EPS,
        ),
        "newton": (
            _hp("lr", 1.0, "0.05..1.5", "[0, inf)", "first trial fraction of the Newton step"),
            _hp("delta", 1e-4, "log:1e-8..1", "(0, 1]", "floor on |eigenvalues of H| / max"),
            _C1,
            _SHRINK,
        ),
        "backtracking": (
            _lr_gn("backtracking", "first trial step of the line search"),
            _C1,
            _SHRINK,
            _hp("grow", 2.0, "1..4", "[1, inf)", "a search starts at grow × the last step"),
        ),
    }
)

_FACTORIES: Mapping[str, Callable[..., Optimizer]] = MappingProxyType(
    {
        "gd": gd,
        "momentum": momentum,
        "nesterov": nesterov,
        "adagrad": adagrad,
        "rmsprop": rmsprop,
        "adam": adam,
        "newton": newton,
        "backtracking": backtracking,
    }
)


def check_name(name: object) -> str:
    """The optimizer name, or a DataError listing the valid ones."""
    if isinstance(name, str) and name in _FACTORIES:
        return name
    close = difflib.get_close_matches(str(name), OPTIMIZERS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise DataError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}.{hint}")


def check_hyperparams(name: str, hp: Mapping[str, object]) -> dict[str, float]:
    """``hp`` as floats, checked against HYPERPARAMS[name]; DataError naming the valid ones."""
    name = check_name(name)
    specs = {h.name: h for h in HYPERPARAMS[name]}
    out: dict[str, float] = {}
    for key, value in hp.items():
        if key not in specs:
            raise DataError(
                f"{name} has no hyper-parameter {key!r}; it takes {', '.join(specs)}. "
                f"(Each optimizer's are listed in core.HYPERPARAMS[{name!r}].)"
            )
        spec = specs[key]
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
            raise DataError(
                f"{name}: {key} must be a real number in {spec.interval()}; got {value!r} of "
                f"type {type(value).__name__}."
            )
        value = float(value)
        if not math.isfinite(value) or not spec.contains(value):
            raise DataError(
                f"{name}: {key} must be in {spec.interval()} ({spec.help}); got {value:g}."
            )
        out[key] = value
    return out


def make_optimizer(name: str, **hp: object) -> Optimizer:
    """The optimizer ``name`` with hyper-parameters ``hp`` (all that have no fixed default
    must be given: see :func:`default_hyperparams`)."""
    name = check_name(name)
    clean = check_hyperparams(name, hp)
    missing = [h.name for h in HYPERPARAMS[name] if h.default is None and h.name not in clean]
    if missing:
        raise DataError(
            f"{name} needs {', '.join(missing)}, whose default depends on the data; pass it, "
            "or get it from default_hyperparams(name, ds, start)."
        )
    return _FACTORIES[name](**clean)


_SCALES: dict[tuple[str, float, float], tuple[float, float]] = {}  # (key, α, β) -> (d0, c)


def _scales(objective: Objective, start: np.ndarray, grad: np.ndarray) -> tuple[float, float]:
    """(d0, c): a step length in parameter units and a curvature ‖∇s‖² for the defaults."""
    cache_key = (objective.key, float(start[0]), float(start[1]))
    if objective.key and cache_key in _SCALES:
        return _SCALES[cache_key]
    g0 = float(np.linalg.norm(grad))
    unit = min(objective.unit)
    c0 = objective.curvature(start)
    # The Gauss–Newton step −∇L/‖∇s‖² has length |s − y|/‖∇s‖: how far the linearised
    # zero set is. On a plateau (σ saturated, ‖∇s‖ ≈ 0) that is huge: cap it at 2 units.
    d0 = min(g0 / c0 if c0 > 0 else math.inf, 2.0 * unit)
    # The largest ‖∇s‖² along the steepest-descent ray up to where it crosses the zero
    # set (at most 8 units): the curvature can grow fast on the way (s is exponential in
    # α, β where events are rare; a plateau ends in a slope). If the ray never crosses, the
    # start is on a plateau whose slopes are out of sight: then the bound of ‖∇s‖² over
    # the whole plane, so gradient descent crawls (as it does on a plateau) instead of
    # flying off when it reaches the slope.
    c, crossed = c0, False
    side = np.sign(objective(start).s - objective.y)
    for dist in (0.25 * d0, 0.5 * d0, d0, 2 * d0, 4 * d0, 8 * unit):
        params = start - min(dist, 8 * unit) * grad / g0
        c = max(c, objective.curvature(params))
        if np.sign(objective(params).s - objective.y) != side:
            crossed = True
            break
    if not crossed and math.isfinite(objective.curvature_bound):
        c = max(c, objective.curvature_bound)
    if objective.key:
        if len(_SCALES) > 256:
            _SCALES.clear()
        _SCALES[cache_key] = (d0, c)
    return d0, c


def _derived(name: str, key: str, objective: Objective, start: np.ndarray, grad: np.ndarray):
    """The default of a derived hyper-parameter at one start (2,), where ∇L = grad."""
    g0 = float(np.linalg.norm(grad))
    if key == "eps":
        return max(1e-10 * g0, 1e-300)  # 1e-300: a zero gradient still gives 0/eps = 0
    if g0 == 0:
        return 1.0  # the run is over at step 0 anyway
    d0, c = _scales(objective, start, grad)
    if name in _UNIT_STEP:
        # RMSprop and Adam keep stepping about lr per parameter, so they settle within
        # ~lr of the zero set: lr must be a small fraction of d0 for L to drop by 1e-3.
        return _UNIT_STEP[name] * d0
    lr = _GN_STEP[name] * min(d0 / g0, 1.0 / c if c > 0 else math.inf)
    return lr if math.isfinite(lr) and lr > 0 else 1.0


def default_hyperparams(name: str, ds: Dataset | Objective, start: object) -> dict[str, float]:
    """Every hyper-parameter of optimizer ``name`` with its default for this data and start.

    Fixed defaults come from :data:`HYPERPARAMS`. The others are derived, because L grows
    like N² and no fixed step size suits every data set:

    - gd, momentum, nesterov, backtracking: lr = k/‖∇s‖² with k = 1, 0.5, 0.5, 2. Near
      the zero set ∇²L ≈ ∇s∇sᵀ, whose one non-zero eigenvalue is ‖∇s‖², so 1/‖∇s‖² is
      the Gauss–Newton step onto the linearised curve s = y, and lr ∝ 1/N² follows.
      ‖∇s‖² is the largest met on the steepest-descent ray from the start up to where it
      crosses s = y (probes at ¼, ½, 1, 2, 4 Gauss–Newton lengths, at most 8 units); if it
      does not cross, the start is on a plateau and the bound of ‖∇s‖² over the whole
      plane is used, so gradient descent crawls there rather than flying off the slope
      that follows. The first step is at most 2 parameter units.
    - adagrad, rmsprop, adam: lr = k·d0 with k = 0.5, 0.03, 0.1, where d0 = |s − y|/‖∇s‖
      is the length of the Gauss–Newton step, at most 2 parameter units (1/rms(I) for α,
      1/rms(D) for β, the smaller). These move about lr per parameter whatever the scale
      of the loss, and settle within ~lr of the zero set.
    - eps = 1e-10·|∇L| at the start: negligible next to the gradients whatever N, also
      for rare events where every gradient is tiny.

    ``ds`` may also be an :class:`Objective` (e.g. :func:`quadratic_objective`).
    The ray probes are cached per (data, start), so the dashboard may call this freely.
    """
    name = check_name(name)
    objective = as_objective(ds)
    start = check_start(start)
    grad = np.asarray(objective(start).grad)
    return {
        h.name: h.default
        if h.default is not None
        else _derived(name, h.name, objective, start, grad)
        for h in HYPERPARAMS[name]
    }


def check_start(start: object, *, many: bool = False) -> np.ndarray:
    """(α, β) as a finite float array (2,) — or (K, 2) with ``many`` — else DataError."""
    want = "(K, 2) array of starting points (α, β)" if many else "pair (α, β)"
    try:
        arr = np.array(start, dtype=np.float64)
    except (ValueError, TypeError):
        raise DataError(
            f"the start must be a {want} of finite numbers; got {start!r:.80}."
        ) from None
    good_shape = (
        arr.ndim == 2 and arr.shape[1] == 2 and len(arr) >= 1 if many else arr.shape == (2,)
    )
    if not good_shape:
        raise DataError(
            f"the start must be a {want}; got shape {arr.shape}."
            + (" Stack points with np.column_stack([alphas, betas])." if many else "")
        )
    if not np.isfinite(arr).all():
        raise DataError(f"the start must hold finite numbers; got {arr.tolist()}.")
    return arr
