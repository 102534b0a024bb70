"""Running an optimizer: a trajectory one step at a time, or many starts at once.

    run = start_run(ds, "adam", start=(a0, b0))        # a frozen Run: step 0 only
    run = advance(ds, run)                             # one more step (the Step button)
    tr = descend(ds, "adam", start=(a0, b0), steps=200, lr=0.05)
    tr.params (k+1, 2), tr.loss (k+1,), tr.grad (k+1, 2), tr.s (k+1,), tr.stop_reason

``descend`` is ``advance(ds, start_run(...), steps)``, and advancing k steps is k single
steps, so stepping one at a time equals ``descend`` by construction.

When a run stops (the tolerance uses gtol, default 1e-8, relative to the start):

- converged: |∇L| <= gtol·|∇L₀|, or L <= gtol²·L₀ (for L = ½(y − s)² that is
  |s − y| <= gtol·|s₀ − y|; the loss test catches runs whose ‖∇s‖ grew on the way);
- stalled: |∇L| <= gtol·|∇L₀| while L is still above gtol·L₀: the gradient vanished but
  the loss did not, on a plateau where σ saturates (s then barely moves) or at a
  stationary point of s that misses y; or a step left (α, β) exactly where it was;
- diverged: the params, loss or gradient became inf or NaN, or L grew above 1e10·L₀;
- left the box, when a box (amin, amax, bmin, bmax) is given;
- left the range: a step would take |α| or |β| past MAX_PARAM (1e200), beyond which the
  model is not evaluated; that step is not recorded (line searches shrink such trial
  steps instead, so they never take one).

Nothing raises because an optimizer diverged: the stop reason says what happened and,
for the fixed-step methods, compares lr with the stability limit 2/λmax of the local Hessian.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .errors import DataError
from .landscape import Cancel, Progress, _Ticker
from .model import Dataset
from .objectives import Frozen, Objective, Point, StepMemo, as_objective
from .optimizers import (
    HYPERPARAMS,
    REGISTRY,
    Optimizer,
    check_hyperparams,
    check_name,
    default_hyperparams,
    make_optimizer,
)
from .reach import unreachable_words
from .validation import MAX_PARAM, check_box, check_count, check_start

__all__ = ["ManyResult", "Run", "advance", "descend", "descend_many", "start_run"]

GROWTH = 1e10  # L above GROWTH·L₀ counts as diverged

RUNNING, CONVERGED, STALLED, DIVERGED, LEFT_BOX, LEFT_RANGE = 0, 1, 2, 3, 4, 5
STATUS = ("running", "converged", "stalled", "diverged", "left box", "left range")


@dataclass(frozen=True, eq=False)
class Run(Frozen):
    """One optimizer's trajectory so far, and what it needs to go on (no data inside).

    params : (k+1, 2), row 0 = start;  loss, s : (k+1,);  grad : (k+1, 2)
    state : the optimizer state after k steps;  current : the :class:`Point` at params[-1]
    stop_reason : a sentence ("reached 200 steps", "converged at step 37: ...", ...)
    stopped : True once converged, stalled, diverged, out of the box or out of the range
    (advance is then a no-op);  converged : True when it stopped by the tolerance
    key : the data's fingerprint, so :func:`advance` refuses other data
    """

    name: str
    hyperparams: tuple[tuple[str, float], ...]
    state: Any
    current: Point
    params: np.ndarray
    loss: np.ndarray
    grad: np.ndarray
    s: np.ndarray
    stop_reason: str
    stopped: bool
    converged: bool
    key: str
    box: tuple[float, float, float, float] | None
    gtol: float

    @property
    def steps(self) -> int:
        """Steps taken so far (rows of ``params`` minus one)."""
        return len(self.params) - 1

    @property
    def hp(self) -> dict[str, float]:
        """The hyper-parameters in use, defaults filled in."""
        return dict(self.hyperparams)


@dataclass(frozen=True, eq=False)
class ManyResult(Frozen):
    """Where each of K runs ended: the data behind a basin map.

    end : (K, 2) last params;  loss : (K,) loss there;  converged : (K,) bool
    steps_taken : (K,) int;  status : (K,) str, one of "running" (hit the step limit),
    "converged", "stalled", "diverged", "left box", "left range" (past ±MAX_PARAM)
    """

    end: np.ndarray
    loss: np.ndarray
    converged: np.ndarray
    steps_taken: np.ndarray
    status: np.ndarray


# -- checks -------------------------------------------------------------------------------


def _check_gtol(gtol: object) -> float:
    ok = isinstance(gtol, int | float | np.floating) and not isinstance(gtol, bool)
    if not ok or not 0.0 <= float(gtol) < 1.0:
        raise DataError(f"gtol must be a number in [0, 1) (relative to |∇L₀|); got {gtol!r}.")
    return float(gtol)


# -- one step for one or many runs ---------------------------------------------------------


def _classify(
    point: Point, before: np.ndarray, L0: np.ndarray, G0: np.ndarray, gtol: float, box
) -> np.ndarray:
    """Status code of each run after a step from ``before`` to ``point`` (shape (...))."""
    params, loss = point.params, point.loss
    with np.errstate(over="ignore", invalid="ignore"):
        gnorm = np.sqrt(np.einsum("...k,...k->...", point.grad, point.grad))
        finite = np.isfinite(params).all(axis=-1) & np.isfinite(loss) & np.isfinite(gnorm)
        blown = (L0 > 0) & (loss > GROWTH * L0)
        flat = gnorm <= gtol * G0
        zero = (loss <= gtol * gtol * L0) | (flat & (loss <= gtol * L0))
    stuck = flat | (params == before).all(axis=-1)
    code = np.where(zero, CONVERGED, np.where(stuck, STALLED, RUNNING))
    if box is not None:
        a, b = params[..., 0], params[..., 1]
        inside = (box[0] <= a) & (a <= box[1]) & (box[2] <= b) & (b <= box[3])
        code = np.where(inside, code, LEFT_BOX)
    code = np.where(finite & ~blown, code, DIVERGED)
    # Finite params past ±MAX_PARAM (the objective gives NaN there): the range, not a blow-up.
    out = np.isfinite(params).all(axis=-1) & (np.abs(params) > MAX_PARAM).any(axis=-1)
    return np.where(out, LEFT_RANGE, code)


def _step(objective: Objective, opt: Optimizer, state: Any, point: Point) -> tuple[Any, Point]:
    # the new point is usually a line search's accepted trial: evaluated once, not twice
    memo = StepMemo(objective)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        params, state = opt.step(state, point, memo.objective)
    return state, memo.objective(params, opt.needs_hessian)


# -- stop reasons ------------------------------------------------------------------------------


def _stability(name: str, hp: dict[str, float], objective: Objective, prev: Point, new: Point):
    """Why the step from ``prev`` (the last good point) to ``new`` may have been too long:
    the optimizer's registry row words it, from λmax of the local Hessian and the jump."""
    hess = objective(prev.params, True).hessian
    lam = float(np.linalg.eigvalsh(hess)[-1]) if np.isfinite(hess).all() else math.nan
    jump = float(np.linalg.norm(np.asarray(new.params) - prev.params))
    moved = f"the last step moved (α, β) by {jump:.3g}" if math.isfinite(jump) else ""
    return REGISTRY[name].stability.sentence(hp, lam, moved)


def _reason(
    code: int,
    k: int,
    objective: Objective,
    run_name: str,
    hp: dict,
    new: Point,
    prev: Point,
    L0: float,
    G0: float,
    gtol: float,
    box: tuple | None,
    unreachable: Callable[[], str] = str,
) -> str:
    """The stop reason in words; ``unreachable()`` says when no (α, β) reaches y at all."""
    loss = float(new.loss)
    gnorm = float(np.linalg.norm(new.grad))
    if code == CONVERGED:
        if loss <= gtol * gtol * L0:
            return f"converged at step {k}: L = {loss:.3g} <= gtol²·L₀ = {gtol * gtol * L0:.3g}"
        return f"converged at step {k}: |∇L| = {gnorm:.3g} <= gtol·|∇L₀| = {gtol * G0:.3g}"
    if code == STALLED and np.array_equal(new.params, prev.params):
        return (
            f"stalled at step {k}: the step left (α, β) where it was (lr = 0, or no trial "
            "step of the line search lowered L: the floating-point limit)"
        )
    if code == STALLED and (why := unreachable()):
        return f"stalled at step {k}: |∇L| = {gnorm:.3g} <= gtol·|∇L₀|, L = {loss:.4g}: {why}"
    if code == STALLED:
        where = ""
        if math.isfinite(objective.y):
            where = f" (s = {float(new.s):.6g}, y = {objective.y:.6g})"
        return (
            f"stalled at step {k}: |∇L| = {gnorm:.3g} <= gtol·|∇L₀| but L = {loss:.4g} is "
            f"not near 0{where}: a plateau where σ saturates, or a stationary point of s; "
            f"{_stability(run_name, hp, objective, prev, new)}"
        )
    if code == DIVERGED:
        params = np.asarray(new.params)
        if not np.isfinite(params).all():
            what = f"the params became {params.tolist()}"
        elif not math.isfinite(loss):
            what = f"loss became {loss}"
        elif not math.isfinite(gnorm):
            what = f"the gradient became {np.asarray(new.grad).tolist()}"
        else:
            what = f"loss grew to {loss / L0:.3g}·L₀ (L = {loss:.3g})"
        return f"diverged at step {k}: {what}; {_stability(run_name, hp, objective, prev, new)}"
    if code == LEFT_RANGE:
        a, b = (float(v) for v in new.params)
        return (
            f"left the parameter range at step {k}: the step would take (α, β) to ({a:.4g}, "
            f"{b:.4g}), past ±{MAX_PARAM:g} (MAX_PARAM), beyond which the model is not "
            f"evaluated, so the run ends at the last point inside; "
            f"{_stability(run_name, hp, objective, prev, new)}"
        )
    if code == LEFT_BOX:
        a, b = (float(v) for v in new.params)
        return (
            f"left the box at step {k}: (α, β) = ({a:.4g}, {b:.4g}) is outside "
            f"α ∈ [{box[0]:g}, {box[1]:g}], β ∈ [{box[2]:g}, {box[3]:g}]"
        )
    text = f"reached {k} step" if k == 1 else f"reached {k} steps"
    if k > 0 and loss > 0.99 * L0 and (why := unreachable()):
        return f"{text}; L fell by only {1 - loss / L0:.2%}: {why}"
    if k > 0 and loss > 0.99 * L0:  # say why nothing seems to happen
        jump = float(np.linalg.norm(np.asarray(new.params) - prev.params))
        where = (
            f" (s = {float(new.s):.6g}, y = {objective.y:.6g})"
            if math.isfinite(objective.y)
            else ""
        )
        text += (
            f"; L fell by only {1 - loss / L0:.2%}, the last step moved (α, β) by {jump:.3g}: "
            f"a plateau where σ saturates{where}, or lr = {hp.get('lr', math.nan):.3g} is small"
        )
    return text


# -- one run -----------------------------------------------------------------------------------


def _resolve(name: str, objective: Objective, start: np.ndarray, hp: dict) -> dict[str, float]:
    """User hyper-parameters checked, the rest filled in with the defaults at ``start``."""
    clean = check_hyperparams(name, hp)
    full = default_hyperparams(name, objective, start)
    full.update(clean)
    return full


def start_run(
    ds: Dataset | Objective,
    name: str,
    start: object,
    *,
    box: object = None,
    gtol: float = 1e-8,
    **hp: float,
) -> Run:
    """A run of optimizer ``name`` at ``start`` (α, β) with no steps yet.

    Hyper-parameters not given get :func:`core.default_hyperparams` at this start.
    A start where ∇L = 0 is already converged.
    """
    name = check_name(name)
    objective = as_objective(ds)
    start = check_start(start)
    box = None if box is None else check_box(box)
    gtol = _check_gtol(gtol)
    full = _resolve(name, objective, start, hp)
    opt = make_optimizer(name, **full)
    point = objective(start, opt.needs_hessian)
    L0 = float(point.loss)
    G0 = float(np.linalg.norm(point.grad))
    if not (math.isfinite(L0) and math.isfinite(G0)):
        raise DataError(
            f"the loss at the start {start.tolist()} is {L0} with |∇L| = {G0}; pick a start "
            "where both are finite."
        )
    done = G0 == 0.0
    reason = "converged at step 0: ∇L = 0 at the start" if done else "reached 0 steps"
    return Run(
        name=name,
        hyperparams=tuple(full.items()),
        state=opt.init(start),
        current=point,
        params=start[None, :],
        loss=np.array([L0]),
        grad=np.asarray(point.grad)[None, :],
        s=np.array([float(point.s)]),
        stop_reason=reason,
        stopped=done,
        converged=done,
        key=objective.key,
        box=box,
        gtol=gtol,
    )


def advance(ds: Dataset | Objective, run: Run, k: int = 1) -> Run:
    """``run`` with up to ``k`` more steps (fewer if it stops); a stopped run comes back as is."""
    if not isinstance(run, Run):
        raise DataError(f"advance needs a Run from start_run or descend; got {type(run).__name__}.")
    k = check_count(k, "k")
    objective = as_objective(ds)
    if objective.key != run.key:
        raise DataError(
            f"this run was started on other data (fingerprint {run.key or 'none'}, now "
            f"{objective.key or 'none'}); start a new run with start_run."
        )
    if run.stopped or k == 0:
        return run
    hp = run.hp
    opt = make_optimizer(run.name, **hp)
    L0, G0 = float(run.loss[0]), float(np.linalg.norm(run.grad[0]))
    state, point = run.state, run.current
    rows: list[Point] = []
    code, new = RUNNING, point
    for _ in range(k):
        new_state, new = _step(objective, opt, state, point)
        code = int(_classify(new, point.params, L0, G0, run.gtol, run.box))
        finite = np.isfinite(new.params).all() and np.isfinite(new.loss)
        if code not in (DIVERGED, LEFT_RANGE) or (code == DIVERGED and finite):
            rows.append(new)
            state, point, prev = new_state, new, point
        else:
            prev = point
        if code != RUNNING:
            break
    n = run.steps + len(rows)
    k_stop = n + (0 if rows and rows[-1] is new else 1)
    with np.errstate(over="ignore", invalid="ignore"):  # describing inf and NaN values
        reason = _reason(
            code,
            k_stop if code != RUNNING else n,
            objective,
            run.name,
            hp,
            new,
            prev,
            L0,
            G0,
            run.gtol,
            run.box,
            (lambda: unreachable_words(ds)) if isinstance(ds, Dataset) else str,
        )

    def stack(old: np.ndarray, attr: str) -> np.ndarray:
        return np.concatenate([old, np.stack([np.asarray(getattr(p, attr)) for p in rows])])

    if rows:
        params, loss = stack(run.params, "params"), stack(run.loss, "loss")
        grad, s = stack(run.grad, "grad"), stack(run.s, "s")
    else:
        params, loss, grad, s = run.params, run.loss, run.grad, run.s
    return Run(
        name=run.name,
        hyperparams=run.hyperparams,
        state=state,
        current=point,
        params=params,
        loss=loss,
        grad=grad,
        s=s,
        stop_reason=reason,
        stopped=code != RUNNING,
        converged=code == CONVERGED,
        key=run.key,
        box=run.box,
        gtol=run.gtol,
    )


def descend(
    ds: Dataset | Objective,
    name: str,
    start: object,
    steps: int = 100,
    *,
    box: object = None,
    gtol: float = 1e-8,
    **hp: float,
) -> Run:
    """Run optimizer ``name`` from ``start`` for up to ``steps`` steps (see the module doc).

    ``name`` is one of :data:`core.OPTIMIZERS`; hyper-parameters by keyword, the rest get
    :func:`core.default_hyperparams`. Never raises because the optimizer diverged.
    """
    steps = check_count(steps, "steps")
    return advance(ds, start_run(ds, name, start, box=box, gtol=gtol, **hp), steps)


# -- many starts at once --------------------------------------------------------------------


def _take(value: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of every per-run array in a frozen state or Point (scalars kept)."""
    if not isinstance(value, Frozen):
        return value
    out = {}
    for f in fields(value):
        v = getattr(value, f.name)
        out[f.name] = v[idx] if isinstance(v, np.ndarray) and v.ndim >= 1 else v
    return type(value)(**out)


def _many_hyperparams(name: str, objective, starts: np.ndarray, hp: dict) -> dict:
    """name -> (K,) values: the given ones everywhere, the rest defaulted at each start."""
    given = check_hyperparams(name, hp)
    names = [h.name for h in HYPERPARAMS[name]]
    if all(n in given for n in names):
        return {n: np.full(len(starts), given[n]) for n in names}
    per_start = [_resolve(name, objective, p, given) for p in starts]
    return {n: np.array([d[n] for d in per_start]) for n in names}


def descend_many(
    ds: Dataset | Objective,
    name: str,
    starts: object,
    steps: int = 100,
    *,
    box: object = None,
    gtol: float = 1e-8,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    **hp: float,
) -> ManyResult:
    """Optimizer ``name`` from each of K starts (K, 2), vectorised over the starts.

    ``progress(fraction)`` and ``cancel`` work as in :func:`core.landscape`: the
    fraction counts steps, and a set ``cancel`` raises :class:`core.Cancelled`.

    Each run stops on its own by the rules of :func:`descend`, and missing
    hyper-parameters get their defaults at each start, so row k matches
    ``descend(ds, name, starts[k], steps, **hp)`` up to rounding: the vectorised
    evaluation sums in another order, and where a run stalls on a plateau that can move
    the step it stops at by a few. Pass lr explicitly for one step size
    everywhere (what a basin map for a chosen lr wants).
    """
    name = check_name(name)
    objective = as_objective(ds)
    starts = check_start(starts, many=True)
    steps = check_count(steps, "steps")
    box = None if box is None else check_box(box)
    gtol = _check_gtol(gtol)
    K = len(starts)
    factory = REGISTRY[name].factory
    hps = _many_hyperparams(name, objective, starts, hp)
    needs_hessian = factory(**{n: v[:1] for n, v in hps.items()}).needs_hessian

    point = objective(starts, needs_hessian)
    L0 = np.asarray(point.loss, dtype=np.float64)
    G0 = np.linalg.norm(point.grad, axis=1)
    end = starts.copy()
    loss = L0.copy()
    taken = np.zeros(K, dtype=np.int64)
    code = np.where(G0 == 0.0, CONVERGED, RUNNING)
    bad = ~(np.isfinite(L0) & np.isfinite(G0))
    code[bad] = DIVERGED

    active = np.flatnonzero(code == RUNNING)
    state = factory(**{n: v[active] for n, v in hps.items()}).init(starts[active])
    point = _take(point, active)
    ticker = _Ticker(progress, cancel)
    for step in range(1, steps + 1):
        if active.size == 0:
            break
        ticker.step((step - 1) / steps)
        opt = factory(**{n: v[active] for n, v in hps.items()})
        new_state, new = _step(objective, opt, state, point)
        c = _classify(new, point.params, L0[active], G0[active], gtol, box)
        finite = np.isfinite(new.params).all(axis=1) & np.isfinite(new.loss)
        keep_row = ((c != DIVERGED) & (c != LEFT_RANGE)) | ((c == DIVERGED) & finite)
        kept = active[keep_row]  # a non-finite point is not recorded, as in advance
        end[kept] = new.params[keep_row]
        loss[kept] = new.loss[keep_row]
        taken[kept] = step
        code[active] = c
        go = c == RUNNING
        active = active[go]
        state, point = _take(new_state, np.flatnonzero(go)), _take(new, np.flatnonzero(go))

    ticker.finish()
    return ManyResult(
        end=end,
        loss=loss,
        converged=code == CONVERGED,
        steps_taken=taken,
        status=np.array(STATUS)[code],
    )
