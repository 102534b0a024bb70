"""The matrix-calculus derivation of ∂L/∂α, evaluated line by line on live numbers.

    d = derive(ds, alpha, beta)                 # perturb α (the default) ...
    d = derive(ds, alpha, beta, dalpha=0.0, dbeta=1e-6)   # ... or β, or both
    for line in d.lines:                        # X, F, G, p, s, L
        line.predicted, line.actual, line.rel_error
    [step.value for step in d.chain]            # every rewritten form of dL: all equal
    gc = gradient_check(ds, alpha, beta)        # ∇L against finite differences, Hessian

Notation of the derivation (I → A, N → n, E → m; absent events are left out of the row
product, which is the same as F = 0 there):

    X = αA + βD                dX = A dα + D dβ
    F = σ(X)                   dF = (J − F) ⊙ F ⊙ dX
    G = log(J − F)             dG = dF ⊘ (F − J)
    p = exp(G 1_m)             dp = p ⊙ (dG 1_m)
    s = n − 1_n : p            ds = −1_n : dp
    L = ½ (s − y)²             dL = (s − y) ds

Each line's *predicted* differential is its linearisation fed with the predicted
differential of the line above (the chain the derivation writes down). Its *actual*
change is the symmetric finite change (f(θ + h) − f(θ − h)) / 2 from two exact
evaluations, so predicted and actual differ by O(h²) relative, not O(h). The default
step moves no entry of X by more than 1e-5: truncation ~1e-10, rounding ~1e-11.

Everything stays finite for finite input: 1 − F is exp(G) with G = −softplus(X), and
the quotients of the derivation are formed where they cannot overflow.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import DataError
from .model import Dataset, Parts, evaluate
from .validation import check_scalar, check_step

__all__ = [
    "WRONG_GRADIENTS",
    "Derivation",
    "GradCheck",
    "Line",
    "SForms",
    "Step",
    "TeachingPoint",
    "TrajectoryCheck",
    "default_step",
    "derivation_lines",
    "derive",
    "gradient_check",
    "one_minus_sigmoid_table",
    "s_forms",
    "teaching_point",
    "trajectory_check",
    "wrong_gradient",
]

# Largest change of any entry of X that the default step makes: central differences
# then have truncation error ~(1e-5)² and rounding error ~eps/1e-5, both ≪ 1e-6.
STEP_X = 1e-5
_EPS = float(np.finfo(float).eps)
# A finite-difference reference's error bound is GC_SAFETY times its estimated truncation
# plus rounding (estimates, not guarantees: the margin keeps a right gradient unflagged).
GC_SAFETY = 4.0
# A check "resolves" a derivative when its bound is below this fraction of it: it can then
# tell a right gradient from one off by GC_RESOLVE relative or more.
GC_RESOLVE = 1e-4
# A line of the derivation is a real test where its actual change is known to this fraction:
# a wrong formula is off by O(1), and at |α| ≈ 1e5 rounding alone leaves ~1e-6 of dX.
LINE_RESOLVE = 1e-3
_TINY = float(np.finfo(float).tiny)


# -- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of the derivation at the current point.

    name      : "X", "F", "G", "p", "s" or "L"
    latex     : the definition and its differential (KaTeX)
    value     : the quantity at (α, β): ndarray (N, E) with NaN where absent, (N,), or float
    predicted : its first-order differential for the step (dα, dβ), same shape
    actual    : (f(α + dα, β + dβ) − f(α − dα, β − dβ)) / 2, same shape
    rel_error : ‖predicted − actual‖ / max(‖predicted‖, ‖actual‖) over present entries
                (0 when both vanish)
    bound     : the error bound of ``actual`` relative to max(‖predicted‖, ‖actual‖): its
                truncation (from the same change at half the step) plus its rounding, times
                GC_SAFETY. A right formula's rel_error stays below it
    flagged   : ‖predicted − actual‖ exceeds that bound: the line's formula is wrong
    applies   : bound < LINE_RESOLVE: the check is a real test here. False where the actual
                change is not known well enough to test a first-order formula, e.g. the L
                line on the zero-loss curve s = y, where dL vanishes to first order and the
                actual change is second order or rounding
    note      : why, when ``applies`` is False ("" otherwise)
    """

    name: str
    latex: str
    value: np.ndarray | float
    predicted: np.ndarray | float
    actual: np.ndarray | float
    rel_error: float
    applies: bool = True
    note: str = ""
    bound: float = 0.0
    flagged: bool = False


@dataclass(frozen=True)
class Step:
    """One rewritten form of dL in the back-substitution, and its value."""

    latex: str
    value: float


@dataclass(frozen=True)
class Derivation:
    """The derivation at (α, β) for the step (dα, dβ).

    lines  : the six lines X, F, G, p, s, L (see :class:`Line`)
    chain  : the back-substitution from dL = (s − y) ds down to the gradient; every
             step's value is the same number dL up to rounding
    chain_scale  : Σ |terms| of (s − y)·PF : dX, the size rounding is relative to
    chain_spread : max_k |chain[k] − chain[0]| / chain_scale (~1e-16 when all agree;
                   the scale is floored at the smallest normal float)
    grad   : (∂L/∂α, ∂L/∂β) from :func:`core.evaluate`
    trace  : (Tr(P F Aᵀ), Tr(P F Dᵀ)) = ∇s
    """

    alpha: float
    beta: float
    dalpha: float
    dbeta: float
    y: float
    s: float
    loss: float
    lines: tuple[Line, ...]
    chain: tuple[Step, ...]
    chain_scale: float
    chain_spread: float
    grad: np.ndarray
    trace: np.ndarray

    @property
    def max_rel_error(self) -> float:
        """The worst first-order check of the lines whose check applies (see Line.applies)."""
        return max(line.rel_error for line in self.lines if line.applies)

    @property
    def flagged(self) -> tuple[str, ...]:
        """The names of the lines whose check failed (see Line.flagged): () when all pass."""
        return tuple(line.name for line in self.lines if line.flagged)

    def line(self, name: str) -> Line:
        for line in self.lines:
            if line.name == name:
                return line
        raise KeyError(f"no line {name!r}; lines are {[ln.name for ln in self.lines]}")


@dataclass(frozen=True)
class GradCheck:
    """The analytic gradient against central finite differences, and the exact Hessian.

    h            : (2,) the steps in α and β
    grad         : (2,) the ∇L checked (:func:`core.evaluate`'s unless a ``gradient`` was
                 passed);  numeric : (2,) its reference, central differences of L at h,
                 h/2, h/4 extrapolated (Richardson), formed without cancellation
    rel_error    : (2,) |grad − numeric| / max(|grad|, |numeric|) per component
    rel_error_norm : ‖grad − numeric‖ / max(‖grad‖, ‖numeric‖)
    grad_s, numeric_s, rel_error_s : the same for ∇s, (2,) each (component-wise;
                 meaningful even where ∇L ≈ 0)
    noise, noise_s : (2,) the rounding noise of the central differences of L and s at h
    bound, bound_s : (2,) the reference's own error bound (truncation + rounding, times
                 GC_SAFETY): a right gradient differs from ``numeric`` by less
    flagged, flagged_s : (2,) bool, |grad − numeric| > bound: the gradient is wrong
    resolution, resolution_s : (2,) bound / max(|grad|, |numeric|): the smallest relative
                 error the check can see here (0 for an exact agreement of zeros)
    resolved, resolved_s : (2,) bool, resolution < GC_RESOLVE. Where False ("cannot
                 resolve here": ∇L on the valley floor s = y, where ∇L = (s − y)∇s is
                 as small as the rounding of s − y) no step of differences can test the
                 formula; a gross mistake can still be flagged
    hessian      : (2, 2) exact;  numeric_hessian : (2, 2) central differences of ∇L
    rel_error_hessian : ‖hessian − numeric_hessian‖_F / ‖hessian‖_F
    eigvals      : (2,) ascending;  eigvecs : (2, 2), column k belongs to eigvals[k]
    condition    : |λ|max / |λ|min (inf when the Hessian is exactly singular)
    rank_one     : (2, 2) ∇s∇sᵀ;  curvature : (2, 2) (s − y)∇²s;  hessian = rank_one + curvature
    curvature_ratio : ‖(s − y)∇²s‖_F / ‖∇s∇sᵀ‖_F: ≪ 1 near the zero-loss curve s = y
    tangent      : (2,) unit vector along the level curve of s (⟂ ∇s)
    flat_alignment : |cos| of the angle between the flattest eigenvector and ``tangent``
    """

    alpha: float
    beta: float
    s: float
    y: float
    loss: float
    h: np.ndarray
    grad: np.ndarray
    numeric: np.ndarray
    rel_error: np.ndarray
    rel_error_norm: float
    grad_s: np.ndarray
    numeric_s: np.ndarray
    rel_error_s: np.ndarray
    noise: np.ndarray
    noise_s: np.ndarray
    bound: np.ndarray
    bound_s: np.ndarray
    resolution: np.ndarray
    resolution_s: np.ndarray
    resolved: np.ndarray
    resolved_s: np.ndarray
    flagged: np.ndarray
    flagged_s: np.ndarray
    hessian: np.ndarray
    numeric_hessian: np.ndarray
    rel_error_hessian: float
    eigvals: np.ndarray
    eigvecs: np.ndarray
    condition: float
    rank_one: np.ndarray
    curvature: np.ndarray
    curvature_ratio: float
    tangent: np.ndarray
    flat_alignment: float


@dataclass(frozen=True)
class TrajectoryCheck:
    """∇L and ∇s against central differences at (up to ``max_points``) steps of a path.

    index     : (K,) the step numbers checked (non-finite steps are left out)
    alphas, betas, s, loss : (K,)
    grad, numeric : (K, 2);  rel_error : (K,) norm-wise, as in :class:`GradCheck`
    rel_error_s : (K,) the same for ∇s
    resolution, resolution_s : (K,) the worst component's, as in :class:`GradCheck`
    resolved  : (K,) bool, both components of ∇L resolved (see :class:`GradCheck`);
                where False, rel_error says nothing about the formula
    flagged   : (K,) bool, a component of ∇L or ∇s differs from its reference by more
                than the reference's error bound
    dropped   : steps left out because they were not finite (a diverged run)
    """

    index: np.ndarray
    alphas: np.ndarray
    betas: np.ndarray
    s: np.ndarray
    loss: np.ndarray
    grad: np.ndarray
    numeric: np.ndarray
    rel_error: np.ndarray
    rel_error_s: np.ndarray
    resolution: np.ndarray
    resolution_s: np.ndarray
    resolved: np.ndarray
    flagged: np.ndarray
    h: np.ndarray
    dropped: int


@dataclass(frozen=True)
class SForms:
    """s computed three ways at (α, β), for the page's questions.

    s         : the log-space value of :func:`core.evaluate`
    s_prod    : n − Σ_i np.prod(1 − F_i): the naive row product (loses rare events)
    rel_diff  : |s_prod − s| / s (0 when both are 0)
    s_double  : s if σ were applied twice (g = σ(σ(X))): a different model
    g_min, g_max : the range of σ(F) over present events: never below ½
    grad_s    : (2,) ∇s = (Tr(P F Aᵀ), Tr(P F Dᵀ)), the derivative of s taken directly
    """

    s: float
    s_prod: float
    rel_diff: float
    s_double: float
    g_min: float
    g_max: float
    grad_s: np.ndarray


# -- helpers ---------------------------------------------------------------------------


def default_step(ds: Dataset, x_step: float = STEP_X) -> np.ndarray:
    """(h_α, h_β): steps that move no entry of X = αI + βD by more than ``x_step``.

    Scaling by the data (not by |α|) keeps central differences accurate whatever the
    units of I and D: with the default 1e-5, truncation error ~(1e-5)² and rounding
    error ~eps·|X|/1e-5.
    """
    x_step = check_step(x_step, "x_step")
    out = np.empty(2)
    for k, Z in enumerate((ds.I, ds.D)):
        zmax = float(np.fmax.reduce(np.abs(Z), axis=None))  # NaN (absent) skipped
        zmax = 0.0 if math.isnan(zmax) else zmax
        out[k] = x_step / max(1.0, zmax)
    return out


def _rel(predicted: np.ndarray | float, actual: np.ndarray | float) -> float:
    """‖predicted − actual‖ / max(‖predicted‖, ‖actual‖) over finite entries; 0 if both 0."""
    p = np.asarray(predicted, dtype=float)
    a = np.asarray(actual, dtype=float)
    keep = np.isfinite(p) & np.isfinite(a)
    p, a = p[keep], a[keep]
    denom = max(float(np.linalg.norm(p)), float(np.linalg.norm(a)))
    if denom == 0.0:
        return 0.0
    return float(np.linalg.norm(p - a)) / denom


def _zero(M: np.ndarray, present: np.ndarray) -> np.ndarray:
    """M with 0 in absent cells: absent events drop out of every sum (F = 0 there)."""
    return np.where(present, M, 0.0)


def _nan(M: np.ndarray, present: np.ndarray) -> np.ndarray:
    """M with NaN in absent cells, for display."""
    return np.where(present, M, np.nan)


# Below this, 1 − F (a divisor of the derivation) is too close to underflow for the
# quotient dF ⊘ (F − J) to keep its digits; there the cancelled form −F ⊙ dX is used.
_TINY_DIVISOR = 1e-250


def _over_F_minus_J(M: np.ndarray, omF: np.ndarray, F: np.ndarray, dX: np.ndarray) -> np.ndarray:
    """M ⊘ (F − J) for M = dF = (J − F) ⊙ F ⊙ dX, literally where 1 − F is a normal number.

    Where 1 − F = exp(G) is (nearly) subnormal (X ≳ 575), dividing two underflowed numbers
    returns noise or 0/0, so the limit −F ⊙ dX (the quotient with J − F cancelled) is used.
    """
    ok = omF > _TINY_DIVISOR
    return np.divide(M, -omF, out=-F * dX, where=ok)


def _dX_tex(dalpha: float, dbeta: float) -> str:
    if dbeta == 0.0:
        return r"A\,d\alpha"
    if dalpha == 0.0:
        return r"D\,d\beta"
    return r"(A\,d\alpha + D\,d\beta)"


def _trace_tex(dalpha: float, dbeta: float) -> str:
    a = r"\operatorname{Tr}(PFA^{T})\,d\alpha"
    b = r"\operatorname{Tr}(PFD^{T})\,d\beta"
    if dbeta == 0.0:
        return r"(s - y)\," + a
    if dalpha == 0.0:
        return r"(s - y)\," + b
    return r"(s - y)\,\big(" + a + " + " + b + r"\big)"


def _grad_tex(dalpha: float, dbeta: float) -> str:
    a = r"\frac{\partial L}{\partial \alpha}\,d\alpha"
    b = r"\frac{\partial L}{\partial \beta}\,d\beta"
    if dbeta == 0.0:
        return a
    if dalpha == 0.0:
        return b
    return f"{a} + {b}"


LINE_TEX = {
    "X": r"X = \alpha A + \beta D \;\Rightarrow\; dX = A\,d\alpha + D\,d\beta",
    "F": r"F = \sigma(X) \;\Rightarrow\; dF = (J - F) \odot F \odot dX",
    "G": r"G = \log(J - F) \;\Rightarrow\; dG = dF \oslash (F - J)",
    "p": r"p = \exp(G\,\mathbf{1}_m) \;\Rightarrow\; dp = p \odot (dG\,\mathbf{1}_m)",
    "s": r"s = n - \mathbf{1}_n : p \;\Rightarrow\; ds = -\mathbf{1}_n : dp",
    "L": r"L = \tfrac{1}{2}(s - y)^{2} \;\Rightarrow\; dL = (s - y)\,ds",
}


# -- the derivation --------------------------------------------------------------------


def _check_steps(ds: Dataset, dalpha: float | None, dbeta: float | None) -> tuple[float, float]:
    """(dα, dβ): both None gives (default_step α, 0); one None gives 0 for it."""
    if dalpha is None and dbeta is None:
        return float(default_step(ds)[0]), 0.0
    dalpha = 0.0 if dalpha is None else check_scalar(dalpha, "dalpha")
    dbeta = 0.0 if dbeta is None else check_scalar(dbeta, "dbeta")
    return dalpha, dbeta


def _predicted(ds: Dataset, ev, dalpha: float, dbeta: float) -> dict:
    """The chain of predicted differentials, each line fed by the one above (zero-filled)."""
    P: Parts = ev.parts
    present = ds.present
    A, D = ds.filled()
    F = _zero(P.F, present)
    omF = np.exp(_zero(P.G, present))  # J − F without cancellation: exp(−softplus(X))
    dX = A * dalpha + D * dbeta
    dF = omF * F * dX
    dG = _over_F_minus_J(dF, omF, F, dX)
    dp = P.p * dG.sum(axis=1)
    ds_ = -float(dp.sum())
    return {"X": dX, "F": dF, "G": dG, "p": dp, "s": ds_, "L": (ev.s - ds.y) * ds_}


def _actual(ds: Dataset, ev, plus, minus) -> dict:
    """The actual symmetric changes (f₊ − f₋)/2 of every line, from exact evaluations.

    Where a plain difference f₊ − f₋ would cancel, an exact identity for it is used.
    """
    present, P, Pp, Pm, y = ds.present, ev.parts, plus.parts, minus.parts, ds.y
    Xp, Xm = _zero(Pp.X, present), _zero(Pm.X, present)
    # σ(a) − σ(b) = −expm1(b − a)·σ(a)·(1 − σ(b)), exact also where F ≈ 1;
    dF = -np.expm1(Xm - Xp) * _zero(Pp.F, present) * np.exp(_zero(Pm.G, present)) / 2
    # p₊ − p₋ = p·(expm1(log p₊ − log p) − expm1(log p₋ − log p)), exact also where p ≈ 1
    # (rare events), and s₊ − s₋ = −Σ_i (p₊ − p₋)_i, exact also where s ≈ n;
    dp = P.p * (np.expm1(Pp.logp - P.logp) - np.expm1(Pm.logp - P.logp)) / 2
    ds_ = -float(dp.sum())
    return {
        "X": (Xp - Xm) / 2,
        "F": dF,
        "G": (_zero(Pp.G, present) - _zero(Pm.G, present)) / 2,
        "p": dp,
        "s": ds_,
        # L₊ − L₋ = ½ (s₊ − s₋)(r₊ + r₋) with r = s − y.
        "L": ds_ * ((plus.s - y) + (minus.s - y)) / 2,
    }


def _rounding(ds: Dataset, ev, alpha, beta, dalpha, dbeta, actual: dict) -> dict:
    """What rounding can put into each actual change, entry by entry (same shapes).

    X = αA + βD is rounded at each end (eps relative to its terms); that error travels
    down the lines with their sensitivities (σ′ = (1 − F)F for F, F for G, p·F summed
    for p), and each line adds the rounding of its own arithmetic.
    """
    P, present, y = ev.parts, ds.present, ds.y
    A, D = ds.filled()
    F, G = _zero(P.F, present), _zero(P.G, present)
    X = _zero(P.X, present)
    # Each end's X carries at most eps/2 of each term and of their sum; half their difference
    # carries at most eps times the terms.
    rX = _EPS * ((abs(alpha) + abs(dalpha)) * np.abs(A) + (abs(beta) + abs(dbeta)) * np.abs(D))
    rF = np.exp(G) * F * rX + 8 * _EPS * np.abs(actual["F"])
    rG = F * rX + 4 * _EPS * np.abs(G)
    err_logp = (F * rX).sum(axis=1) + 4 * _EPS * (-G + np.abs(X) * F).sum(axis=1)
    rp = P.p * err_logp + 4 * _EPS * np.abs(actual["p"])
    rs = float(rp.sum()) + 4 * _EPS * abs(actual["s"])
    rL = rs * abs(ev.s - y) + abs(actual["s"]) * 4 * _EPS * (abs(ev.s) + abs(y))
    return {"X": rX, "F": rF, "G": rG, "p": rp, "s": rs, "L": rL}


def _norm(x) -> float:
    arr = np.asarray(x, dtype=float)
    return float(np.linalg.norm(arr[np.isfinite(arr)]))


def _line(name, value, pred, act, act_half, rounding, present, why: str = "") -> Line:
    """One line with its check: the error against the bound of the actual change itself.

    The actual change (f₊ − f₋)/2 is f′·dθ + f‴·dθ³/6 + …: 2·(its value at dθ/2) cancels
    all but a quarter of the dθ³ term, so 4/3·|act − 2·act_half| estimates its truncation.
    """
    trunc = 4 / 3 * np.abs(np.asarray(act) - 2 * np.asarray(act_half))
    bound = GC_SAFETY * _norm(trunc + rounding)
    err = _norm(np.asarray(pred) - np.asarray(act))
    scale = max(_norm(pred), _norm(act))
    rel_bound = bound / scale if scale > 0 else 0.0
    applies = rel_bound < LINE_RESOLVE
    note = (
        ""
        if applies
        else why + f"The actual change of {name} is known only to ±{rel_bound:.1g} of itself here "
        "(its second-order part or rounding is that large), so this line cannot resolve "
        "a first-order check at this point: it is not a test here. The lines above still "
        "check."
    )
    if isinstance(pred, np.ndarray) and pred.ndim == 2:
        pred, act = _nan(pred, present), _nan(act, present)
    return Line(
        name=name,
        latex=LINE_TEX[name],
        value=value,
        predicted=pred,
        actual=act,
        rel_error=_rel(pred, act),
        applies=applies,
        note=note,
        bound=rel_bound,
        flagged=err > bound,
    )


def derive(
    ds: Dataset,
    alpha: float,
    beta: float,
    *,
    dalpha: float | None = None,
    dbeta: float | None = None,
) -> Derivation:
    """Every line of the derivation at (α, β), checked for the step (dα, dβ).

    With neither step given, dα = :func:`default_step` and dβ = 0 (the derivation of
    ∂L/∂α); give one and the other defaults to 0. Shapes: see :class:`Line`.
    """
    alpha = check_scalar(alpha, "alpha")
    beta = check_scalar(beta, "beta")
    dalpha, dbeta = _check_steps(ds, dalpha, dbeta)

    def at(f: float):
        return evaluate(ds, alpha + f * dalpha, beta + f * dbeta, hessian=False, parts=True)

    ev = at(0.0)
    predicted = _predicted(ds, ev, dalpha, dbeta)
    actual = _actual(ds, ev, at(1.0), at(-1.0))
    half = _actual(ds, ev, at(0.5), at(-0.5))
    rounding = _rounding(ds, ev, alpha, beta, dalpha, dbeta, actual)
    P = ev.parts
    values = {"X": P.X, "F": P.F, "G": P.G, "p": P.p, "s": ev.s, "L": ev.loss}
    why = {
        "L": f"s − y = {ev.s - ds.y:.3g}: dL vanishes to first order (dL = (s − y) ds), so "
        "the actual change is second order. "
    }
    lines = tuple(
        _line(
            n, values[n], predicted[n], actual[n], half[n], rounding[n], ds.present, why.get(n, "")
        )
        for n in ("X", "F", "G", "p", "s", "L")
    )
    chain, scale = _back_substitution(ds, ev, dalpha, dbeta, predicted)
    vals = np.array([st.value for st in chain])
    # Relative to at least the smallest normal number: below it float64 has fewer digits.
    spread = float(np.abs(vals - vals[0]).max()) / max(scale, _TINY)
    return Derivation(
        alpha=alpha,
        beta=beta,
        dalpha=dalpha,
        dbeta=dbeta,
        y=ds.y,
        s=ev.s,
        loss=ev.loss,
        lines=lines,
        chain=chain,
        chain_scale=scale,
        chain_spread=spread,
        grad=ev.grad,
        trace=ev.grad_s,
    )


def _back_substitution(ds, ev, dalpha, dbeta, predicted):
    """Each rewritten form of dL, evaluated literally as written (see the module doc)."""
    P = ev.parts
    dX, dF, dG, dp, ds_ = (predicted[k] for k in ("X", "F", "G", "p", "s"))
    present = ds.present
    A, D = ds.filled()
    F = _zero(P.F, present)
    G = _zero(P.G, present)
    p, r = P.p, ev.s - ds.y
    omF = np.exp(G)
    pJ = p[:, None] * present  # p 1_mᵀ, restricted to present events
    # (p 1_mᵀ) ⊘ (F − J) = −p_i / (1 − F_ij) = −exp(log p_i − G_ij): log p_i − G_ij ≤ 0 is
    # the sum over the *other* events of the row, so this never overflows.
    p_over = -np.exp(P.logp[:, None] - G) * present
    PF = p[:, None] * F  # P F with P = Diag(p), without forming the n×n matrix
    trA = float(p @ np.einsum("ij,ij->i", F, A))  # Tr(P F Aᵀ) = Σ_i p_i (F Aᵀ)_ii
    trD = float(p @ np.einsum("ij,ij->i", F, D))
    dXt = _dX_tex(dalpha, dbeta)
    forms = [
        (r"dL = (s - y)\,ds", r * ds_),
        (r"= (y - s)\;\mathbf{1}_n : dp", -r * float(dp.sum())),
        (
            r"= (y - s)\;\mathbf{1}_n : p \odot (dG\,\mathbf{1}_m)",
            -r * float((p * dG.sum(axis=1)).sum()),
        ),
        (r"= (y - s)\;p\mathbf{1}_m^{T} : dG", -r * float((pJ * dG).sum())),
        (
            r"= (y - s)\;p\mathbf{1}_m^{T} : dF \oslash (F - J)",
            -r * float((pJ * _over_F_minus_J(dF, omF, F, dX)).sum()),
        ),
        (
            r"= (y - s)\,\big(p\mathbf{1}_m^{T}\big) \oslash (F - J) : dF",
            -r * float((p_over * dF).sum()),
        ),
        (
            r"= (y - s)\,\big(p\mathbf{1}_m^{T}\big) \oslash (F - J) : (J - F) \odot F \odot "
            + dXt,
            -r * float((p_over * (omF * F * dX)).sum()),
        ),
        (
            r"= (s - y)\,\big(p\mathbf{1}_m^{T}\big) \odot F : " + dXt,
            r * float((pJ * F * dX).sum()),
        ),
        (r"= (s - y)\;PF : " + dXt, r * float((PF * dX).sum())),
        ("= " + _trace_tex(dalpha, dbeta), r * (trA * dalpha + trD * dbeta)),
        ("= " + _grad_tex(dalpha, dbeta), float(ev.grad @ np.array([dalpha, dbeta]))),
    ]
    chain = tuple(Step(latex=tex, value=float(v)) for tex, v in forms)
    scale = abs(r) * float((np.abs(PF) * np.abs(dX)).sum())
    return chain, scale


def derivation_lines(
    ds: Dataset,
    alpha: float,
    beta: float,
    dalpha: float | None = None,
    dbeta: float | None = None,
) -> list[Line]:
    """The six checked lines of :func:`derive` (X, F, G, p, s, L) as a list."""
    return list(derive(ds, alpha, beta, dalpha=dalpha, dbeta=dbeta).lines)


# -- gradient check --------------------------------------------------------------------


def _steps(ds: Dataset, h: float | tuple[float, float] | None) -> np.ndarray:
    if h is None:
        return default_step(ds)
    if np.ndim(h) == 0:
        v = check_step(h, "h")
        return np.array([v, v])
    hs = list(h)  # type: ignore[arg-type]
    if len(hs) != 2:
        raise DataError(
            f"h must be one step, a pair (h_alpha, h_beta), or None; got {len(hs)} values."
        )
    return np.array([check_step(hs[0], "h[0]"), check_step(hs[1], "h[1]")])


def _rel_vec(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component-wise |a − b| / max(|a|, |b|) (0 where both are 0)."""
    denom = np.maximum(np.abs(a), np.abs(b))
    return np.divide(np.abs(a - b), denom, out=np.zeros_like(denom), where=denom > 0)


def _rel_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise ‖a − b‖ / max(‖a‖, ‖b‖) for (K, 2) arrays (0 where both are 0)."""
    denom = np.maximum(np.linalg.norm(a, axis=-1), np.linalg.norm(b, axis=-1))
    err = np.linalg.norm(a - b, axis=-1)
    return np.divide(err, denom, out=np.zeros_like(denom), where=denom > 0)


# The gradient a check is run against: (∇L, ∇s), each (2,). The default is core.evaluate's;
# tests and the teaching page pass a deliberately wrong one (see :func:`wrong_gradient`).
GradientFn = Callable[[Dataset, float, float], tuple[np.ndarray, np.ndarray]]


def _central(ds: Dataset, ev, alpha: float, beta: float, h: np.ndarray):
    """Central differences of the forward pass at (α, β) with steps h = (h_α, h_β).

    ``ev`` is the evaluation (with parts) at the point. Returns (shifted, numeric,
    numeric_s, noise, noise_s): shifted[k] = (ev at θ + h_k e_k, ev at θ − h_k e_k),
    numeric (2,) and numeric_s (2,) the central differences of L and s, noise and
    noise_s (2,) their rounding noise.

    Only function values enter, but the subtraction s₊ − s₋ is done where it keeps its
    digits: s₊ − s₋ = −Σ_i p_i (expm1(log p₊ᵢ − log pᵢ) − expm1(log p₋ᵢ − log pᵢ)), exact
    also where s ≈ n (p ≈ 0) or p ≈ 1 (rare events), and L₊ − L₋ = ½ (s₊ − s₋)(r₊ + r₋)
    with r = s − y. Plain differences of s and L lose every digit there.
    """
    logp, p, y = ev.parts.logp, ev.parts.p, ds.y
    shifted, numeric, numeric_s = [], np.empty(2), np.empty(2)
    for k in range(2):
        e = np.zeros(2)
        e[k] = h[k]
        plus = evaluate(ds, alpha + e[0], beta + e[1], parts=True)
        minus = evaluate(ds, alpha - e[0], beta - e[1], parts=True)
        dp = p * (np.expm1(plus.parts.logp - logp) - np.expm1(minus.parts.logp - logp))
        delta_s = -float(dp.sum())
        numeric_s[k] = delta_s / (2 * h[k])
        numeric[k] = delta_s * ((plus.s - y) + (minus.s - y)) / 2 / (2 * h[k])
        shifted.append((plus, minus))
    # Rounding: log pᵢ = −Σ_j softplus(X_ij) carries eps·Σ_j (softplus(X_ij) + |X_ij| F_ij)
    # (the sum, and X = αA + βD rounded), so p₊ᵢ − p₋ᵢ carries pᵢ times that; r₊ + r₋
    # carries eps·(s + |y|). A central difference divides what its ends carry by 2h.
    P = ev.parts
    err_logp = np.nansum(-P.G + np.abs(P.X) * P.F, axis=1)
    noise_s = 4 * _EPS * (float(p @ err_logp) / h + np.abs(numeric_s))
    noise = np.abs(numeric_s) * 4 * _EPS * (ev.s + abs(y)) + abs(ev.s - y) * noise_s
    return shifted, numeric, numeric_s, noise, noise_s


@dataclass(frozen=True)
class _Reference:
    """Richardson-extrapolated central differences and their error bounds, each (2,)."""

    numeric: np.ndarray
    numeric_s: np.ndarray
    bound: np.ndarray
    bound_s: np.ndarray
    noise: np.ndarray
    noise_s: np.ndarray
    shifted: list  # the evaluations at θ ± h_k e_k (level h), for the Hessian


def _richardson(levels: list[np.ndarray], noises: list[np.ndarray]):
    """The reference from central differences at h, h/2, h/4, and its error bound.

    A central difference is f′ + c₂h² + c₄h⁴ + …; R(h) = (4·D(h/2) − D(h))/3 cancels the
    h² term. The reference is R at (h/2, h/4); |R(h/2) − R(h)| (about the h⁴ error of the
    coarser one, 16 times the reference's) bounds its truncation, and its rounding is
    what the two differences it combines carry, (4·noise(h/4) + noise(h/2))/3.
    """
    D0, D1, D2 = levels
    R1 = (4 * D1 - D0) / 3
    R2 = (4 * D2 - D1) / 3
    rounding = (4 * noises[2] + noises[1]) / 3
    return R2, GC_SAFETY * (np.abs(R2 - R1) + rounding)


def _references(ds: Dataset, ev, alpha: float, beta: float, h: np.ndarray) -> _Reference:
    """The finite-difference references for ∇L and ∇s at (α, β), with their bounds."""
    runs = [_central(ds, ev, alpha, beta, h / 2**k) for k in range(3)]
    numeric, bound = _richardson([r[1] for r in runs], [r[3] for r in runs])
    numeric_s, bound_s = _richardson([r[2] for r in runs], [r[4] for r in runs])
    return _Reference(
        numeric=numeric,
        numeric_s=numeric_s,
        bound=bound,
        bound_s=bound_s,
        noise=runs[0][3],
        noise_s=runs[0][4],
        shifted=runs[0][0],
    )


def _verdict(grad: np.ndarray, ref: np.ndarray, bound: np.ndarray):
    """(flagged, resolved, resolution), component-wise, for an analytic value and its reference.

    flagged    : |grad − ref| > bound: more disagreement than the reference's own error
    resolution : bound / max(|grad|, |ref|), the smallest relative error the check can see
                 (0 where both are exactly 0: an exact agreement)
    resolved   : resolution < GC_RESOLVE: the check can tell a correct gradient from a wrong
                 one here; elsewhere ("cannot resolve here") no step can, e.g. ∇L on the
                 valley floor s = y, where ∇L = (s − y)∇s is as small as its own rounding
    """
    scale = np.maximum(np.abs(grad), np.abs(ref))
    resolution = np.divide(bound, scale, out=np.zeros_like(scale), where=scale > 0)
    # Both exactly 0 (e.g. D = 0 makes ∂L/∂β = 0): an exact agreement, resolved.
    return np.abs(grad - ref) > bound, resolution < GC_RESOLVE, resolution


def _analytic(ds: Dataset, ev, alpha: float, beta: float, gradient: GradientFn | None):
    if gradient is None:
        return ev.grad, ev.grad_s
    g, gs = gradient(ds, alpha, beta)
    return np.asarray(g, dtype=float), np.asarray(gs, dtype=float)


def _hessian_facts(ds: Dataset, ev) -> dict:
    """Eigen-decomposition, condition and the rank-one split of the exact Hessian."""
    H = ev.hessian
    eigvals, eigvecs = np.linalg.eigh(H)
    absl = np.abs(eigvals)
    condition = float(absl.max() / absl.min()) if absl.min() > 0 else math.inf
    rank_one = np.outer(ev.grad_s, ev.grad_s)
    curvature = (ev.s - ds.y) * ev.hessian_s
    n1 = float(np.linalg.norm(rank_one))
    nc = float(np.linalg.norm(curvature))
    curvature_ratio = nc / n1 if n1 > 0 else (0.0 if nc == 0 else math.inf)
    gs_norm = float(np.linalg.norm(ev.grad_s))
    if gs_norm > 0:
        tangent = np.array([-ev.grad_s[1], ev.grad_s[0]]) / gs_norm
        flat_alignment = float(abs(eigvecs[:, 0] @ tangent))
    else:  # s is flat here: no level curve direction to speak of
        tangent = np.zeros(2)
        flat_alignment = 0.0
    return dict(
        hessian=H,
        eigvals=eigvals,
        eigvecs=eigvecs,
        condition=condition,
        rank_one=rank_one,
        curvature=curvature,
        curvature_ratio=curvature_ratio,
        tangent=tangent,
        flat_alignment=flat_alignment,
    )


def gradient_check(
    ds: Dataset,
    alpha: float,
    beta: float,
    h: float | tuple[float, float] | None = None,
    *,
    gradient: GradientFn | None = None,
) -> GradCheck:
    """∇L and ∇s against bounded finite-difference references at (α, β), and the Hessian.

    h : the coarsest step, one for both parameters, a pair, or None for
    :func:`default_step`; the references use h, h/2 and h/4 (see :func:`_richardson`).
    gradient : the analytic gradient to check, (ds, α, β) -> (∇L, ∇s); None for
    :func:`core.evaluate`'s. The differences use only the forward pass (see
    :func:`_central` for how they avoid cancellation). Shapes: see :class:`GradCheck`.
    """
    alpha = check_scalar(alpha, "alpha")
    beta = check_scalar(beta, "beta")
    hv = _steps(ds, h)
    ev = evaluate(ds, alpha, beta, parts=True)
    ref = _references(ds, ev, alpha, beta, hv)
    grad, grad_s = _analytic(ds, ev, alpha, beta, gradient)
    flagged, resolved, resolution = _verdict(grad, ref.numeric, ref.bound)
    flagged_s, resolved_s, resolution_s = _verdict(grad_s, ref.numeric_s, ref.bound_s)
    # Column k: ∂(∇L)/∂θ_k, from the analytic gradients at θ ± h_k e_k.
    num_hess = np.stack(
        [(pl.grad - mi.grad) / (2 * hv[k]) for k, (pl, mi) in enumerate(ref.shifted)], axis=1
    )
    facts = _hessian_facts(ds, ev)
    hnorm = float(np.linalg.norm(ev.hessian))
    return GradCheck(
        alpha=alpha,
        beta=beta,
        s=ev.s,
        y=ds.y,
        loss=ev.loss,
        h=hv,
        grad=grad,
        numeric=ref.numeric,
        rel_error=_rel_vec(grad, ref.numeric),
        rel_error_norm=float(_rel_rows(grad, ref.numeric)),
        grad_s=grad_s,
        numeric_s=ref.numeric_s,
        rel_error_s=_rel_vec(grad_s, ref.numeric_s),
        noise=ref.noise,
        noise_s=ref.noise_s,
        bound=ref.bound,
        bound_s=ref.bound_s,
        resolution=resolution,
        resolution_s=resolution_s,
        resolved=resolved,
        resolved_s=resolved_s,
        flagged=flagged,
        flagged_s=flagged_s,
        numeric_hessian=num_hess,
        rel_error_hessian=float(np.linalg.norm(ev.hessian - num_hess)) / hnorm
        if hnorm > 0
        else 0.0,
        **facts,
    )


def _check_path(params: object, max_points: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(arr, index, dropped): the path (k + 1, 2), the finite steps to check, how many not."""
    arr = np.asarray(params, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
        raise DataError(
            f"params must have shape (k + 1, 2), one (alpha, beta) per step; got shape "
            f"{arr.shape}. Pass e.g. run.params."
        )
    if int(max_points) < 2:
        raise DataError(f"max_points must be at least 2; got {max_points}.")
    index = np.flatnonzero(np.isfinite(arr).all(axis=1))
    dropped = int(arr.shape[0] - index.size)
    if index.size == 0:
        raise DataError(
            f"params has no finite step (all {arr.shape[0]} contain inf or NaN): the run "
            "diverged. Lower the learning rate and run again."
        )
    if index.size > max_points:
        pick = np.unique(np.linspace(0, index.size - 1, int(max_points)).round().astype(int))
        index = index[pick]
    return arr, index, dropped


def trajectory_check(
    ds: Dataset,
    params: object,
    h: float | tuple[float, float] | None = None,
    *,
    max_points: int = 200,
    gradient: GradientFn | None = None,
) -> TrajectoryCheck:
    """:func:`gradient_check`'s gradient test at the steps of a path of (α, β).

    params : array-like (k + 1, 2), e.g. an optimizer's trajectory. At most
    ``max_points`` evenly spaced finite steps are checked (always the first and the
    last); each costs thirteen evaluations of the model.
    """
    arr, index, dropped = _check_path(params, max_points)
    hv = _steps(ds, h)
    K = index.size
    s, loss = np.empty(K), np.empty(K)
    grad, grad_s, numeric, numeric_s, bound, bound_s = (np.empty((K, 2)) for _ in range(6))
    for row, i in enumerate(index):
        a, b = float(arr[i, 0]), float(arr[i, 1])
        ev = evaluate(ds, a, b, parts=True)
        ref = _references(ds, ev, a, b, hv)
        s[row], loss[row] = ev.s, ev.loss
        grad[row], grad_s[row] = _analytic(ds, ev, a, b, gradient)
        numeric[row], numeric_s[row] = ref.numeric, ref.numeric_s
        bound[row], bound_s[row] = ref.bound, ref.bound_s
    flagged, resolved, resolution = _verdict(grad, numeric, bound)
    flagged_s, _, resolution_s = _verdict(grad_s, numeric_s, bound_s)
    return TrajectoryCheck(
        index=index,
        alphas=arr[index, 0].copy(),
        betas=arr[index, 1].copy(),
        s=s,
        loss=loss,
        grad=grad,
        numeric=numeric,
        rel_error=_rel_rows(grad, numeric),
        rel_error_s=_rel_rows(grad_s, numeric_s),
        resolution=resolution.max(axis=1),
        resolution_s=resolution_s.max(axis=1),
        resolved=resolved.all(axis=1),
        flagged=flagged.any(axis=1) | flagged_s.any(axis=1),
        h=hv,
        dropped=dropped,
    )


# -- wrong gradients, to show the check is not vacuous --------------------------------------


def _slip_terms(ds: Dataset, alpha: float, beta: float, kind: str):
    """(r, ∇s) as a derivation with the slip ``kind`` would compute them."""
    ev = evaluate(ds, alpha, beta, hessian=False, parts=True)
    present = ds.present
    A, D = ds.filled()
    F = _zero(ev.parts.F, present)
    p, r = ev.parts.p, ev.s - ds.y
    if kind == "no_p":  # ds = −1ₙ:dp with the factor p of dp = p ⊙ (dG 1ₘ) forgotten
        w = np.ones_like(p)
        FF = F
    elif kind == "sigmoid_twice":  # g = σ(f) as in the question: one more σ′ = g(1 − g)
        # d log(1 − g) = −g(1 − g)·F(1 − F) dX / (1 − g) = −g ⊙ (J − F) ⊙ F ⊙ dX, where
        # the right chain has −F ⊙ dX.
        g = 1.0 / (1.0 + np.exp(-F))
        FF = np.where(present, g * (1 - F) * F, 0.0)
        w = p
    else:
        raise DataError(f"unknown slip {kind!r}")
    gs = np.array([float(w @ (FF * A).sum(axis=1)), float(w @ (FF * D).sum(axis=1))])
    return r, gs


def wrong_gradient(kind: str) -> GradientFn:
    """A deliberately wrong analytic gradient, (ds, α, β) -> (∇L, ∇s), for :func:`gradient_check`.

    kind : "sign"          ∇L with its sign flipped (dL = (y − s) ds read as the gradient)
           "no_p"          ∂s/∂θ = Σᵢ Σⱼ Fᵢⱼ Zᵢⱼ, the row weight pᵢ forgotten
           "sigmoid_twice" the chain of the question's g = σ(f): each event weighted by
                           g ⊙ (J − F) ⊙ F instead of F
           "relative_1e-4" the right gradient times (1 + 1e-4)
    """
    if kind not in WRONG_GRADIENTS:
        raise DataError(f"unknown wrong gradient {kind!r}; expected one of {WRONG_GRADIENTS}.")

    def gradient(ds: Dataset, alpha: float, beta: float):
        if kind in ("sign", "relative_1e-4"):
            ev = evaluate(ds, alpha, beta)
            factor = -1.0 if kind == "sign" else 1.0 + 1e-4
            return factor * ev.grad, factor * ev.grad_s
        r, gs = _slip_terms(ds, alpha, beta, kind)
        return r * gs, gs

    return gradient


WRONG_GRADIENTS = ("sign", "no_p", "sigmoid_twice", "relative_1e-4")


# -- the questions ---------------------------------------------------------------------


def s_forms(ds: Dataset, alpha: float, beta: float) -> SForms:
    """s the stable way, the naive row-product way, and with σ applied twice."""
    alpha = check_scalar(alpha, "alpha")
    beta = check_scalar(beta, "beta")
    ev = evaluate(ds, alpha, beta, hessian=False, parts=True)
    present = ds.present
    F = _zero(ev.parts.F, present)
    # The naive forward pass of the question: 1 − Π_j (1 − F_ij) rounds to 0 once F < eps.
    s_prod = float(ds.N - np.prod(1.0 - F, axis=1).sum())
    rel = abs(s_prod - ev.s) / ev.s if ev.s > 0 else (0.0 if s_prod == 0 else math.inf)
    # g = σ(F) with F = σ(X) already a probability: g ∈ (½, σ(1)) for every present event.
    # log(1 − σ(F)) = −softplus(F), so the double-σ s is computed as stably as s.
    sp_F = np.logaddexp(0.0, F)
    logp2 = -np.where(present, sp_F, 0.0).sum(axis=1)
    s_double = float(-np.expm1(logp2).sum())
    g = 1.0 / (1.0 + np.exp(-F[present]))
    return SForms(
        s=ev.s,
        s_prod=s_prod,
        rel_diff=float(rel),
        s_double=s_double,
        g_min=float(g.min()) if g.size else math.nan,
        g_max=float(g.max()) if g.size else math.nan,
        grad_s=ev.grad_s,
    )


def one_minus_sigmoid_table(xs: object = (-40.0, -5.0, 0.0, 5.0, 20.0, 40.0, 800.0)) -> dict:
    """log(1 − σ(x)) the naive way and as −softplus(x), for the page's first question.

    Returns a dict of (K,) arrays: x, sigma (σ(x) in float64), one_minus_naive
    (1 − σ(x) after σ was rounded: 0 for x ≳ 37, so its log would be −∞),
    one_minus (exp(−softplus(x)), exact), log_one_minus (−softplus(x), exact).
    """
    x = np.asarray(xs, dtype=float)
    if x.ndim != 1 or not np.isfinite(x).all():
        raise DataError(f"xs must be a 1-D array of finite numbers; got {xs!r:.80}.")
    with np.errstate(over="ignore"):  # exp(−x) for very negative x: σ is then exactly 0
        sigma = 1.0 / (1.0 + np.exp(-x))
    softplus = np.logaddexp(0.0, x)
    return {
        "x": x,
        "sigma": sigma,
        "one_minus_naive": 1.0 - sigma,
        "one_minus": np.exp(-softplus),
        "log_one_minus": -softplus,
    }


# -- where to teach ----------------------------------------------------------------------


@dataclass(frozen=True)
class TeachingPoint:
    """A point where every line of the derivation and the gradient check is a real test.

    alpha, beta : the point;  s, y : the model's count there and the data's
    unsaturated : the fraction of present events with 0.01 < σ(X) < 0.99
    all_apply   : every line applies and ∇L is resolved there (False only when no
                  candidate had both; the point is then the best one found)
    is_start    : the point is the descent's start (the first candidate)
    """

    alpha: float
    beta: float
    s: float
    y: float
    unsaturated: float
    all_apply: bool
    is_start: bool


def _unsaturated(ds: Dataset, alpha: float, beta: float) -> float:
    F = evaluate(ds, alpha, beta, hessian=False, parts=True).parts.F[ds.present]
    return float(((F > 0.01) & (F < 0.99)).mean()) if F.size else 0.0


def _candidates(ds: Dataset, box, start, n: int):
    """``start``, then the grid over the inner box, most unsaturated first (made lazily)."""
    if start is not None:
        yield tuple(float(v) for v in start)  # type: ignore[union-attr]
    amin, amax, bmin, bmax = (float(v) for v in box)
    wa, wb = 0.2 * (amax - amin), 0.2 * (bmax - bmin)
    grid = [
        (float(a), float(b))
        for a in np.linspace(amin + wa, amax - wa, n)
        for b in np.linspace(bmin + wb, bmax - wb, n)
    ]
    yield from sorted(grid, key=lambda ab: -_unsaturated(ds, *ab))


def teaching_point(
    ds: Dataset, box: tuple[float, float, float, float], start: object = None, n: int = 5
) -> TeachingPoint:
    """The derivation page's default point: ``start`` if every check is a real test there.

    Else the first of an n × n grid over the inner 60% of ``box`` that is, taken in order
    of how many of its sigmoids are unsaturated (where σ′ = σ(1 − σ) is not ~0, so the F
    line changes visibly). On the valley floor s = y the L line and ∇L are not tests
    (dL vanishes to first order), which is why the descent's last step is a poor default.
    """
    best = None
    for k, (a, b) in enumerate(_candidates(ds, box, start, n)):
        d = derive(ds, a, b)
        ok = all(line.applies for line in d.lines) and not d.flagged
        ok = ok and bool(gradient_check(ds, a, b).resolved.all())
        if ok or best is None:
            is_start = start is not None and k == 0
            best = TeachingPoint(a, b, d.s, ds.y, _unsaturated(ds, a, b), ok, is_start)
        if ok:
            break
    return best  # type: ignore[return-value]
