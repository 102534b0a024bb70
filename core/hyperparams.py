"""Hyper-parameters: what each one means, which values it takes, and where the defaults
come from. Which optimizer takes which is in its row of :data:`core.optimizers.REGISTRY`.

Step sizes scale with the data. L = ½(y − s)² grows like N², so a fixed learning rate
that suits N = 50 explodes at N = 5,000: the defaults that have no fixed value are
derived from the problem at the start, by the optimizer's :class:`StepRule`:

- :class:`GaussNewtonStep` (the gradient methods): lr = k/‖∇s‖². Near the zero set
  ∇²L ≈ ∇s∇sᵀ, whose one non-zero eigenvalue is ‖∇s‖², so 1/‖∇s‖² is the Gauss–Newton
  step onto the linearised curve s = y, and lr ∝ 1/N² follows. ‖∇s‖² is the largest met
  on the steepest-descent ray from the start up to where it crosses s = y (probes at ¼,
  ½, 1, 2, 4 Gauss–Newton lengths, at most 8 units): the curvature can grow fast on the
  way (s is exponential in α, β where events are rare; a plateau ends in a slope). If
  the ray does not cross, the start is on a plateau whose slopes are out of sight, and
  the bound of ‖∇s‖² over the whole plane is used, so gradient descent crawls there (as
  it does on a plateau) rather than flying off the slope that follows. The first step
  is at most 2 parameter units. With momentum k is halved: the kept velocity makes the
  steps longer.
- :class:`UnitStep` (the adaptive methods): lr = k·d0, where d0 = |s − y|/‖∇s‖ is the
  length of the Gauss–Newton step, at most 2 parameter units (1/rms(I) for α, 1/rms(D)
  for β, the smaller). These move about lr per parameter whatever the scale of the loss
  and settle within ~lr of the zero set, so lr must be a small fraction of d0 for L to
  drop by 1e-3.
- eps = 1e-10·|∇L| at the start: negligible next to the gradients whatever N, also for
  rare events where every gradient is tiny.

Each k was tuned on 40 random data sets (N = 50 ... 2,000, starts in [-4, 4]²): from
starts off a plateau every run reached L/L₀ < 1e-3 within 300 steps, and no first step
raised L. The ray probes are cached per (data, start), so the dashboard may ask freely.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .errors import DataError
from .objectives import Objective

__all__ = ["Hyperparam"]


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


def hyperparam(name: str, default: float | None, ui: str, valid: str, help: str, derived=""):
    """Hyperparam from compact text: ui = "low..high" ("log:" prefix for a log slider),
    valid = an interval such as "[0, 1)"."""
    log = ui.startswith("log:")
    low, high = (float(v) for v in ui.removeprefix("log:").split(".."))
    lo, hi = (float(v) for v in valid[1:-1].split(","))
    return Hyperparam(
        name, help, default, low, high, log, (lo, hi), (valid[0] == "(", valid[-1] == ")"), derived
    )


# Hyper-parameters shared by several optimizers.
MU = hyperparam("mu", 0.9, "0..0.99", "[0, 1)", "momentum: the fraction of the last step kept")
EPS = hyperparam(
    "eps",
    None,
    "log:1e-3..1e3",
    "(0, inf)",
    "added to the root of the g² accumulator against division by 0",
    "1e-10·|∇L| at the start, so it stays negligible whatever the scale of the loss",
)
C1 = hyperparam(
    "c1", 1e-4, "log:1e-6..0.5", "(0, 1)", "Armijo: the fraction of the predicted decrease required"
)
SHRINK = hyperparam(
    "rho", 0.5, "0.1..0.9", "(0, 1)", "line search: shrink factor of the trial step"
)


# -- step-size rules ----------------------------------------------------------------------


@dataclass(frozen=True)
class StepRule:
    """How a derived default lr follows the data: k times a scale (see the module doc)."""

    k: float
    ui: ClassVar[str] = "log:1e-3..10"  # slider range, in multiples of the default

    def lr(self, d0: float, c: float, g0: float) -> float:
        """The default lr from d0 (a step length in parameter units), c (the curvature
        ‖∇s‖²) and g0 = |∇L| at the start."""
        raise NotImplementedError

    def describe(self) -> str:
        """The rule in words, for the lr control's help."""
        raise NotImplementedError

    def lr_spec(self, help: str) -> Hyperparam:
        """The lr hyper-parameter of an optimizer that follows this rule."""
        return hyperparam("lr", None, self.ui, "[0, inf)", help, self.describe())


@dataclass(frozen=True)
class GaussNewtonStep(StepRule):
    """lr = k/‖∇s‖², ‖∇s‖² the Gauss–Newton curvature."""

    def lr(self, d0: float, c: float, g0: float) -> float:
        lr = self.k * min(d0 / g0, 1.0 / c if c > 0 else math.inf)
        return lr if math.isfinite(lr) and lr > 0 else 1.0

    def describe(self) -> str:
        return (
            f"{self.k:g}/‖∇s‖², ‖∇s‖² the Gauss–Newton curvature (1/‖∇s‖² is the step "
            "onto the linearised zero set), the largest met on the steepest-descent ray from "
            "the start to the zero set; on a plateau, its bound over the whole plane"
        )


@dataclass(frozen=True)
class UnitStep(StepRule):
    """lr = k·d0 in parameter units, d0 the Gauss–Newton distance to the zero set."""

    ui: ClassVar[str] = "log:1e-2..20"

    def lr(self, d0: float, c: float, g0: float) -> float:
        return self.k * d0

    def describe(self) -> str:
        return (
            f"{self.k:g}·d0, d0 = |s − y|/‖∇s‖ the distance to the linearised zero "
            "set at the start, at most 2 parameter units (1/rms(I) for α, 1/rms(D) for β)"
        )


# -- defaults -----------------------------------------------------------------------------

_SCALES: dict[tuple[str, float, float], tuple[float, float]] = {}  # (key, α, β) -> (d0, c)


def _scales(objective: Objective, start: np.ndarray, grad: np.ndarray) -> tuple[float, float]:
    """(d0, c): a step length in parameter units and a curvature ‖∇s‖² for the defaults."""
    cache_key = (objective.key, float(start[0]), float(start[1]))
    if objective.key and cache_key in _SCALES:
        return _SCALES[cache_key]
    g0 = float(np.linalg.norm(grad))
    unit = min(objective.unit)
    c0 = objective.curvature(start)
    # On a plateau (σ saturated, ‖∇s‖ ≈ 0) the Gauss–Newton length is huge: cap it.
    d0 = min(g0 / c0 if c0 > 0 else math.inf, 2.0 * unit)
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


def _derived(key: str, rule: StepRule | None, objective: Objective, start, grad) -> float:
    """The default of the derived hyper-parameter ``key`` at one start (2,), where ∇L = grad."""
    g0 = float(np.linalg.norm(grad))
    if key == "eps":
        return max(1e-10 * g0, 1e-300)  # 1e-300: a zero gradient still gives 0/eps = 0
    if rule is None:
        raise ValueError(f"{key} is derived but the optimizer has no step rule")
    if g0 == 0:
        return 1.0  # the run is over at step 0 anyway
    d0, c = _scales(objective, start, grad)
    return rule.lr(d0, c, g0)


def default_values(
    specs: Sequence[Hyperparam], rule: StepRule | None, objective: Objective, start: np.ndarray
) -> dict[str, float]:
    """Every hyper-parameter in ``specs`` with its default at ``start`` (2,), a checked
    start: the fixed ones as given, the derived ones by the module doc's rules."""
    grad = np.asarray(objective(start).grad)
    return {
        h.name: h.default
        if h.default is not None
        else _derived(h.name, rule, objective, start, grad)
        for h in specs
    }


def check_values(name: str, specs: Sequence[Hyperparam], hp: Mapping[str, object]):
    """``hp`` as floats, checked against the optimizer ``name``'s ``specs``; DataError
    naming the valid ones."""
    by_name = {h.name: h for h in specs}
    out: dict[str, float] = {}
    for key, value in hp.items():
        if key not in by_name:
            raise DataError(
                f"{name} has no hyper-parameter {key!r}; it takes {', '.join(by_name)}. "
                f"(Each optimizer's are listed in core.HYPERPARAMS[{name!r}].)"
            )
        spec = by_name[key]
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
