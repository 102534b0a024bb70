"""Optimizers that move one step at a time: pure ``init``/``step`` pairs over frozen states.

    opt = adam(lr=0.05)                      # an Optimizer: (init, step, needs_hessian)
    state = opt.init(params)                 # params (2,) or (K, 2): K runs side by side
    params, state = opt.step(state, point, objective)

``point`` is the objective at the current params (:class:`~core.objectives.Point`: loss,
grad and, for ``newton``, the Hessian); ``objective`` (:class:`~core.objectives.Objective`)
is only called by the line searches of ``backtracking`` and ``newton``. Nothing is
mutated: a state can be kept, copied, hashed and rewound. optax's GradientTransformation
is the model.

:data:`REGISTRY` is the one list of optimizers: each row holds the factory, its
hyper-parameters, its default step rule (:mod:`core.hyperparams` says why the defaults
are what they are), what a stop reason says when it is unstable, and its colour.
:data:`OPTIMIZERS` and :data:`HYPERPARAMS` are read off it. Adding an optimizer is one
state class, one factory, one registry row and one row in the test table
(tests/test_optim.py).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from .errors import DataError
from .hyperparams import (
    C1,
    EPS,
    MU,
    SHRINK,
    GaussNewtonStep,
    Hyperparam,
    StepRule,
    UnitStep,
    check_values,
    default_values,
    hyperparam,
)
from .model import Dataset
from .objectives import Frozen, Objective, Point, as_objective
from .validation import MAX_PARAM, check_start

__all__ = [
    "HYPERPARAMS",
    "OPTIMIZERS",
    "REGISTRY",
    "AdagradState",
    "AdamState",
    "BacktrackingState",
    "GDState",
    "MomentumState",
    "NesterovState",
    "NewtonState",
    "Optimizer",
    "OptimizerSpec",
    "RMSpropState",
    "adagrad",
    "adam",
    "backtracking",
    "default_hyperparams",
    "gd",
    "make_optimizer",
    "momentum",
    "nesterov",
    "newton",
    "rmsprop",
]


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

    Stable near a minimum while lr < 2/λmax(∇²L).
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

    Stable for lr < 2(1 + μ)/λmax.
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
    like 1/√t.
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
    minimum, so it settles into a cycle of size ~lr around it.
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

    Steps are about lr per parameter, so lr is in parameter units.
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
    objective: Objective,
    point: Point,
    d: np.ndarray,
    t: object,
    c1: object,
    rho: object,
    hessian: bool = False,
) -> tuple[np.ndarray, int]:
    """Backtracking line search along d (..., 2) from step t (...): the accepted steps (...).

    t shrinks by ρ until L(θ + t·d) <= L(θ) + c1·t·∇Lᵀd (Armijo's sufficient decrease)
    with θ + t·d inside ±MAX_PARAM;
    rows where 60 tries all fail get t = 0 (stay put). Only the rows still searching are
    evaluated, with the Hessian when ``hessian`` (the optimizer needs it at the accepted
    point, and the step's memo then has it). Returns (t, number of loss evaluations).
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
        at = params[rows] + t[rows, None] * d[rows]
        trial = objective(at, hessian).loss
        evals += len(rows)
        ok = trial <= loss[rows] + c1[rows] * t[rows] * slope[rows]  # NaN fails: shrink
        ok &= (np.abs(at) <= MAX_PARAM).all(axis=1)  # whatever the objective: stay in range
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
        t, evals = armijo(objective, point, d, lr, c1, rho, hessian=True)
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
    time; grow > 1 lets the step lengthen again where the loss flattens.
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


# -- the registry -------------------------------------------------------------------------


@dataclass(frozen=True)
class Stability:
    """What a stop reason says when a run diverged or stalled: "why; moved; advice", with
    "moved" = how far the last step went (descent fills it in).

    limit : for a fixed step size, lr is stable near a minimum below limit(hp)/λmax of
        the local Hessian (``limit_text`` writes it out): ``why`` compares lr with it
    why : otherwise a sentence, formatted with the hyper-parameters (e.g. "{lr:.3g}")
    """

    why: str = ""
    advice: str = ""
    limit: Callable[[Mapping[str, float]], float] | None = None
    limit_text: str = ""

    def sentence(self, hp: Mapping[str, float], lam: float, moved: str) -> str:
        """The explanation, for hyper-parameters ``hp`` and λmax = ``lam`` where the run was."""
        why = self.why.format(**hp)
        if self.limit is not None:
            lr, factor, text = hp["lr"], self.limit(hp), self.limit_text
            if not lam > 0:
                why = f"the local Hessian has no positive curvature (λmax = {lam:.3g})"
            elif lr > factor / lam:
                why = (
                    f"the step size {lr:.3g} exceeds {text} = {factor / lam:.3g} of the local "
                    "Hessian"
                )
            else:
                why = (
                    f"the step size {lr:.3g} is below {text} = {factor / lam:.3g} of the local "
                    "Hessian, but the run met steeper slopes"
                )
        return "; ".join(filter(None, [why, moved, self.advice]))


def _fixed_step(limit: Callable[[Mapping[str, float]], float], text: str) -> Stability:
    return Stability(advice="try a smaller lr", limit=limit, limit_text=text)


_ADAPTIVE = Stability(why="steps are about lr = {lr:.3g} per parameter")
_LINE_SEARCH = Stability(advice="the line search only takes steps that lower L")


@dataclass(frozen=True)
class OptimizerSpec:
    """One row of :data:`REGISTRY`: everything losslens knows about an optimizer.

    factory : hyper-parameters by keyword -> :class:`Optimizer`
    hyperparams : its hyper-parameters, lr first
    step_rule : how the default lr follows the data; None when lr has a fixed default
    stability : what a stop reason says when a run of it diverged or stalled
    color : its colour in the dashboard's plots
    """

    factory: Callable[..., Optimizer]
    hyperparams: tuple[Hyperparam, ...]
    step_rule: StepRule | None
    stability: Stability
    color: str


def _row(factory, lr, *others: Hyperparam, stability: Stability, color: str) -> OptimizerSpec:
    """lr: (a StepRule, the help text) for a derived default, or a fixed Hyperparam."""
    if isinstance(lr, Hyperparam):
        return OptimizerSpec(factory, (lr, *others), None, stability, color)
    rule, help = lr
    return OptimizerSpec(factory, (rule.lr_spec(help), *others), rule, stability, color)


# Colours: Okabe & Ito's colour-blind-safe palette, its black replaced by a dark grey-blue
# and its yellow by a violet (yellow vanishes on the bright end of the Viridis loss map).
# The dashboard's default pair, gd and adam, gets the two most different: blue, vermillion.
REGISTRY: Mapping[str, OptimizerSpec] = MappingProxyType(
    {
        "gd": _row(
            gd,
            (GaussNewtonStep(1.0), "step size: θ ← θ − lr·∇L"),
            stability=_fixed_step(lambda hp: 2.0, "2/λmax"),
            color="#0072B2",
        ),
        "momentum": _row(
            momentum,
            (GaussNewtonStep(0.5), "step size of the gradient part"),
            MU,
            stability=_fixed_step(lambda hp: 2.0 * (1 + hp["mu"]), "2(1 + μ)/λmax"),
            color="#E69F00",
        ),
        "nesterov": _row(
            nesterov,
            (GaussNewtonStep(0.5), "step size of the gradient part"),
            MU,
            stability=_fixed_step(
                lambda hp: 2.0 * (1 + hp["mu"]) / (1 + 2 * hp["mu"]), "2(1 + μ)/((1 + 2μ)λmax)"
            ),
            color="#009E73",
        ),
        "adagrad": _row(
            adagrad,
            (UnitStep(0.5), "first step per parameter, then shrinking like 1/√t"),
            EPS,
            stability=_ADAPTIVE,
            color="#CC79A7",
        ),
        "rmsprop": _row(
            rmsprop,
            (UnitStep(0.03), "about the step per parameter"),
            hyperparam("rho", 0.9, "0.5..0.999", "(0, 1)", "decay of the running mean of g²"),
            EPS,
            stability=_ADAPTIVE,
            color="#56B4E9",
        ),
        "adam": _row(
            adam,
            (UnitStep(0.1), "about the step per parameter"),
            hyperparam(
                "beta1", 0.9, "0..0.99", "[0, 1)", "decay of the running mean of g (momentum)"
            ),
            hyperparam("beta2", 0.999, "0.9..0.9999", "[0, 1)", "decay of the running mean of g²"),
            EPS,
            stability=_ADAPTIVE,
            color="#D55E00",
        ),
        "newton": _row(
            newton,
            hyperparam(
                "lr", 1.0, "0.05..1.5", "[0, inf)", "first trial fraction of the Newton step"
            ),
            hyperparam("delta", 1e-4, "log:1e-8..1", "(0, 1]", "floor on |eigenvalues of H| / max"),
            C1,
            SHRINK,
            stability=_LINE_SEARCH,
            color="#44546A",
        ),
        "backtracking": _row(
            backtracking,
            # twice the Gauss–Newton step, so near the zero set the first search halves once
            (GaussNewtonStep(2.0), "first trial step of the line search"),
            C1,
            SHRINK,
            hyperparam("grow", 2.0, "1..4", "[1, inf)", "a search starts at grow × the last step"),
            stability=_LINE_SEARCH,
            color="#7F3C8D",
        ),
    }
)

OPTIMIZERS: tuple[str, ...] = tuple(REGISTRY)
HYPERPARAMS: Mapping[str, tuple[Hyperparam, ...]] = MappingProxyType(
    {name: spec.hyperparams for name, spec in REGISTRY.items()}
)


# -- by name: checks, construction, defaults -----------------------------------------------


def check_name(name: object) -> str:
    """The optimizer name, or a DataError listing the valid ones."""
    if isinstance(name, str) and name in REGISTRY:
        return name
    close = difflib.get_close_matches(str(name), OPTIMIZERS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise DataError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}.{hint}")


def check_hyperparams(name: str, hp: Mapping[str, object]) -> dict[str, float]:
    """``hp`` as floats, checked against HYPERPARAMS[name]; DataError naming the valid ones."""
    name = check_name(name)
    return check_values(name, HYPERPARAMS[name], hp)


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
    return REGISTRY[name].factory(**clean)


def default_hyperparams(name: str, ds: Dataset | Objective, start: object) -> dict[str, float]:
    """Every hyper-parameter of optimizer ``name`` with its default for this data and start.

    Fixed defaults come from :data:`HYPERPARAMS`; the others follow the optimizer's step
    rule, because L grows like N² and no fixed step size suits every data set (the rules
    and their reasons: :mod:`core.hyperparams`). ``ds`` may also be an
    :class:`~core.objectives.Objective` (e.g. :func:`~core.objectives.quadratic_objective`).
    """
    name = check_name(name)
    spec = REGISTRY[name]
    return default_values(spec.hyperparams, spec.step_rule, as_objective(ds), check_start(start))
