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
from dataclasses import dataclass

import numpy as np

from .errors import DataError
from .model import Dataset, Parts, evaluate
from .validation import check_scalar, check_step

__all__ = [
    "Derivation",
    "GradCheck",
    "Line",
    "SForms",
    "Step",
    "TrajectoryCheck",
    "default_step",
    "derivation_lines",
    "derive",
    "gradient_check",
    "one_minus_sigmoid_table",
    "s_forms",
    "trajectory_check",
]

# Largest change of any entry of X that the default step makes: central differences
# then have truncation error ~(1e-5)² and rounding error ~eps/1e-5, both ≪ 1e-6.
STEP_X = 1e-5
_EPS = float(np.finfo(float).eps)
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
    applies   : False when the relative check cannot work at this point, whatever the
                formula: only for L, where s − y is so close to 0 (within 1e7 times the
                second-order change of s plus the rounding of s − y) that dL vanishes to
                first order and the actual change is second order or rounding
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

    def line(self, name: str) -> Line:
        for line in self.lines:
            if line.name == name:
                return line
        raise KeyError(f"no line {name!r}; lines are {[ln.name for ln in self.lines]}")


@dataclass(frozen=True)
class GradCheck:
    """The analytic gradient against central finite differences, and the exact Hessian.

    h            : (2,) the steps in α and β
    grad         : (2,) ∇L from :func:`core.evaluate`;  numeric : (2,) central differences of
                 L, formed without cancellation (see :func:`_differences`)
    rel_error    : (2,) |grad − numeric| / max(|grad|, |numeric|) per component
    rel_error_norm : ‖grad − numeric‖ / max(‖grad‖, ‖numeric‖)
    grad_s, numeric_s, rel_error_s : the same for ∇s, (2,) each (component-wise;
                 meaningful even where ∇L ≈ 0)
    noise, noise_s : (2,) the rounding noise of the central differences of L and of s:
                 where |∇L| is not well above ``noise`` (∇L ≈ 0 on the valley floor s = y,
                 where r = s − y is pure rounding) finite differences cannot see the
                 gradient and ``rel_error`` says nothing about the formula
    resolved     : (2,) bool, |∇L_k| > 100·noise_k (or both exactly 0): the check is
                 meaningful
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
    resolved: np.ndarray
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
    resolved  : (K,) bool, ‖∇L‖ well above the rounding noise of the differences (see
                :class:`GradCheck`); where False, rel_error is finite-difference noise
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
    resolved: np.ndarray
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
    if dalpha is None and dbeta is None:
        dalpha, dbeta = float(default_step(ds)[0]), 0.0
    dalpha = 0.0 if dalpha is None else check_scalar(dalpha, "dalpha")
    dbeta = 0.0 if dbeta is None else check_scalar(dbeta, "dbeta")

    ev = evaluate(ds, alpha, beta, hessian=False, parts=True)
    plus = evaluate(ds, alpha + dalpha, beta + dbeta, hessian=False, parts=True)
    minus = evaluate(ds, alpha - dalpha, beta - dbeta, hessian=False, parts=True)
    P: Parts = ev.parts  # type: ignore[assignment]
    present = ds.present
    A, D = ds.filled()
    F = _zero(P.F, present)
    G = _zero(P.G, present)
    omF = np.exp(G)  # J − F without cancellation: 1 − σ(X) = exp(−softplus(X))
    p, s, y = P.p, ev.s, ds.y
    r = s - y

    # The chain of predicted differentials, each line fed by the one above.
    dX = A * dalpha + D * dbeta
    dF = omF * F * dX
    dG = _over_F_minus_J(dF, omF, F, dX)
    dp = p * dG.sum(axis=1)
    ds_ = -float(dp.sum())
    dL = r * ds_
    predicted = {"X": dX, "F": dF, "G": dG, "p": dp, "s": ds_, "L": dL}

    # The actual symmetric changes, from exact evaluations at θ ± (dα, dβ). Where a
    # plain difference f₊ − f₋ would cancel, an exact identity for it is used instead:
    Pp, Pm = plus.parts, minus.parts
    Xp, Xm = _zero(Pp.X, present), _zero(Pm.X, present)
    # σ(a) − σ(b) = −expm1(b − a)·σ(a)·(1 − σ(b)), exact also where F ≈ 1;
    dF_act = -np.expm1(Xm - Xp) * _zero(Pp.F, present) * np.exp(_zero(Pm.G, present)) / 2
    # p₊ − p₋ = p·(expm1(log p₊ − log p) − expm1(log p₋ − log p)), exact also where p ≈ 1
    # (rare events), and s₊ − s₋ = −Σ_i (p₊ − p₋)_i, exact also where s ≈ n;
    dp_act = P.p * (np.expm1(Pp.logp - P.logp) - np.expm1(Pm.logp - P.logp)) / 2
    ds_act = -float(dp_act.sum())
    # L₊ − L₋ = ½ (s₊ − s₋)(r₊ + r₋) with r = s − y.
    dL_act = ds_act * ((plus.s - y) + (minus.s - y)) / 2
    actual = {
        "X": (Xp - Xm) / 2,
        "F": dF_act,
        "G": (_zero(Pp.G, present) - _zero(Pm.G, present)) / 2,
        "p": dp_act,
        "s": ds_act,
        "L": dL_act,
    }
    values = {"X": P.X, "F": P.F, "G": P.G, "p": p, "s": s, "L": ev.loss}

    # dL = (s − y) ds is checkable only while s − y stands well clear of both the
    # second-order change of s, (s₊ + s₋)/2 − s (formed from log p like ds_act), and the
    # rounding of s − y itself.
    half_sum = float((P.p * (np.expm1(Pp.logp - P.logp) + np.expm1(Pm.logp - P.logp))).sum())
    band = abs(half_sum) / 2 + 4 * _EPS * (abs(s) + abs(y))
    L_applies = abs(r) > 1e7 * band
    L_note = (
        ""
        if L_applies
        else f"s − y = {r:.3g} is within rounding or second-order change of 0 (~{band:.1g}): "
        "dL vanishes to first order here, so the actual change is second order and a "
        "relative first-order check does not apply. The lines above still check."
    )

    lines = []
    for name in ("X", "F", "G", "p", "s", "L"):
        pred, act = predicted[name], actual[name]
        if isinstance(pred, np.ndarray) and pred.ndim == 2:
            pred, act = _nan(pred, present), _nan(act, present)
        lines.append(
            Line(
                name=name,
                latex=LINE_TEX[name],
                value=values[name],
                predicted=pred,
                actual=act,
                rel_error=_rel(pred, act),
                applies=L_applies if name == "L" else True,
                note=L_note if name == "L" else "",
            )
        )

    chain, scale = _back_substitution(ds, ev, P, dalpha, dbeta, dX, dF, dG, dp, ds_)
    vals = np.array([st.value for st in chain])
    # Relative to at least the smallest normal number: below it float64 has fewer digits.
    spread = float(np.abs(vals - vals[0]).max()) / max(scale, _TINY)
    return Derivation(
        alpha=alpha,
        beta=beta,
        dalpha=dalpha,
        dbeta=dbeta,
        y=y,
        s=s,
        loss=ev.loss,
        lines=tuple(lines),
        chain=chain,
        chain_scale=scale,
        chain_spread=spread,
        grad=ev.grad,
        trace=ev.grad_s,
    )


def _back_substitution(ds, ev, P, dalpha, dbeta, dX, dF, dG, dp, ds_):
    """Each rewritten form of dL, evaluated literally as written (see the module doc)."""
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


def _differences(ds: Dataset, alpha: float, beta: float, h: np.ndarray):
    """Central differences of the forward pass at (α, β) with steps h = (h_α, h_β).

    Returns (ev, shifted, numeric, numeric_s, noise, noise_s): ev the evaluation at the
    point, shifted[k] = (ev at θ + h_k e_k, ev at θ − h_k e_k), numeric (2,) and
    numeric_s (2,) the central differences of L and s, noise and noise_s (2,) their
    rounding noise.

    Only function values enter, but the subtraction s₊ − s₋ is done where it keeps its
    digits: s₊ − s₋ = −Σ_i p_i (expm1(log p₊ᵢ − log pᵢ) − expm1(log p₋ᵢ − log pᵢ)), exact
    also where s ≈ n (p ≈ 0) or p ≈ 1 (rare events), and L₊ − L₋ = ½ (s₊ − s₋)(r₊ + r₋)
    with r = s − y. Plain differences of s and L lose every digit there.
    """
    ev = evaluate(ds, alpha, beta, parts=True)
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
    return ev, shifted, numeric, numeric_s, noise, noise_s


def gradient_check(
    ds: Dataset,
    alpha: float,
    beta: float,
    h: float | tuple[float, float] | None = None,
) -> GradCheck:
    """∇L and ∇s against central differences at (α, β), and what the Hessian says.

    h : one step for both parameters, a pair, or None for :func:`default_step`.
    The differences use only the forward pass (see :func:`_differences` for how they
    avoid cancellation). Shapes: see :class:`GradCheck`.
    """
    alpha = check_scalar(alpha, "alpha")
    beta = check_scalar(beta, "beta")
    hv = _steps(ds, h)
    ev, shifted, numeric, numeric_s, noise, noise_s = _differences(ds, alpha, beta, hv)
    # Column k: ∂(∇L)/∂θ_k, from the analytic gradients at θ ± h_k e_k.
    num_hess = np.stack(
        [(pl.grad - mi.grad) / (2 * hv[k]) for k, (pl, mi) in enumerate(shifted)], axis=1
    )
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
    hnorm = float(np.linalg.norm(H))
    return GradCheck(
        alpha=alpha,
        beta=beta,
        s=ev.s,
        y=ds.y,
        loss=ev.loss,
        h=hv,
        grad=ev.grad,
        numeric=numeric,
        rel_error=_rel_vec(ev.grad, numeric),
        rel_error_norm=float(_rel_rows(ev.grad, numeric)),
        grad_s=ev.grad_s,
        numeric_s=numeric_s,
        rel_error_s=_rel_vec(ev.grad_s, numeric_s),
        noise=noise,
        noise_s=noise_s,
        # An exactly zero derivative that differences also find exactly zero (e.g. D = 0)
        # is a resolved agreement.
        resolved=(np.abs(ev.grad) > 100 * noise) | ((ev.grad == 0) & (numeric == 0)),
        hessian=H,
        numeric_hessian=num_hess,
        rel_error_hessian=float(np.linalg.norm(H - num_hess)) / hnorm if hnorm > 0 else 0.0,
        eigvals=eigvals,
        eigvecs=eigvecs,
        condition=condition,
        rank_one=rank_one,
        curvature=curvature,
        curvature_ratio=curvature_ratio,
        tangent=tangent,
        flat_alignment=flat_alignment,
    )


def trajectory_check(
    ds: Dataset,
    params: object,
    h: float | tuple[float, float] | None = None,
    *,
    max_points: int = 200,
) -> TrajectoryCheck:
    """:func:`gradient_check`'s gradient test at the steps of a path of (α, β).

    params : array-like (k + 1, 2), e.g. an optimizer's trajectory. At most
    ``max_points`` evenly spaced finite steps are checked (always the first and the
    last); each costs five evaluations of the model.
    """
    arr = np.asarray(params, dtype=float)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
        raise DataError(
            f"params must have shape (k + 1, 2), one (alpha, beta) per step; got shape "
            f"{arr.shape}. Pass e.g. run.params."
        )
    if int(max_points) < 2:
        raise DataError(f"max_points must be at least 2; got {max_points}.")
    hv = _steps(ds, h)
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
    K = index.size
    s, loss = np.empty(K), np.empty(K)
    grad, grad_s, numeric, numeric_s = (np.empty((K, 2)) for _ in range(4))
    noise = np.empty((K, 2))
    for row, i in enumerate(index):
        ev, _, num, num_s, nz, _ = _differences(ds, arr[i, 0], arr[i, 1], hv)
        s[row], loss[row] = ev.s, ev.loss
        grad[row], grad_s[row], numeric[row], numeric_s[row], noise[row] = (
            ev.grad,
            ev.grad_s,
            num,
            num_s,
            nz,
        )
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
        resolved=np.linalg.norm(grad, axis=1) > 100 * np.linalg.norm(noise, axis=1),
        h=hv,
        dropped=dropped,
    )


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
