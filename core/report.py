"""A sanity report: can these data identify α and β, and where are they broken?

    report = sanity_report(ds, box=(-3, 3, -3, 3))
    report.worst                  # 'ok' | 'note' | 'warning' | 'error'
    print(report.to_text())
    report["collinear"].value     # the c of D ≈ c·I

Each :class:`Finding` has a code (stable, for programs), a severity, a short title and
one or two sentences a student can act on. The attainable range of s is measured on
a grid over the box (corners and edges included): s need not be monotone when I or D
change sign, so the range is what the grid saw, and the message says so.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .errors import DataError
from .model import Dataset

__all__ = ["SEVERITIES", "Finding", "Report", "default_box", "sanity_report"]

SEVERITIES = ("ok", "note", "warning", "error")
SATURATION_X = 30.0  # |X| > 30: σ is 0 or 1 to 13 digits, σ(1 − σ) < 1e-13
COLLINEAR_TOL = 1e-3  # relative residual ‖D − cI‖/‖D‖ under which D counts as c·I
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Finding:
    """One check. ``value`` is the measured number (or tuple) behind the message."""

    code: str
    severity: str
    title: str
    message: str
    value: object = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}; got {self.severity!r}")


@dataclass(frozen=True)
class Report:
    """The findings for one dataset over one (α, β) box."""

    findings: tuple[Finding, ...]
    box: Box
    name: str = ""

    @property
    def worst(self) -> str:
        """The most severe severity among the findings ('ok' when there are none)."""
        return max((f.severity for f in self.findings), key=SEVERITIES.index, default="ok")

    def get(self, code: str) -> Finding | None:
        return next((f for f in self.findings if f.code == code), None)

    def __getitem__(self, code: str) -> Finding:
        found = self.get(code)
        if found is None:
            raise KeyError(f"no finding {code!r}; codes: {', '.join(self.codes)}")
        return found

    def __contains__(self, code: object) -> bool:
        return any(f.code == code for f in self.findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.findings)

    def to_text(self, width: int = 100) -> str:
        """A plain-text report, one block per finding, worst severity last."""
        amin, amax, bmin, bmax = self.box
        lines = [
            f"Sanity report{': ' + self.name if self.name else ''}",
            f"box: alpha in [{amin:g}, {amax:g}], beta in [{bmin:g}, {bmax:g}]",
            "",
        ]
        for f in self.findings:
            head = f"{f.severity.upper():<8} {f.title}"
            lines.append(head)
            lines += textwrap.wrap(
                f.message, width=width, initial_indent=" " * 9, subsequent_indent=" " * 9
            )
        counts = [
            f"{n} {sev}{'s' if n > 1 else ''}"
            for sev in SEVERITIES[1:][::-1]
            if (n := sum(f.severity == sev for f in self.findings))
        ]
        lines += ["", f"worst: {self.worst}" + (f" ({', '.join(counts)})" if counts else "")]
        return "\n".join(lines)


def default_box(ds: Dataset, half_width: float = 3.0) -> Box:
    """±half_width around the truth when it is known, else around (0, 0)."""
    a, b = ds.truth if ds.truth is not None else (0.0, 0.0)
    return (a - half_width, a + half_width, b - half_width, b + half_width)


def _check_box(box: object) -> Box:
    try:
        amin, amax, bmin, bmax = (float(v) for v in box)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise DataError(
            f"box must be four numbers (alpha_min, alpha_max, beta_min, beta_max); got {box!r}."
        ) from None
    if not all(np.isfinite([amin, amax, bmin, bmax])) or not (amin < amax and bmin < bmax):
        raise DataError(
            "box must be four finite numbers with alpha_min < alpha_max and beta_min < "
            f"beta_max; got {(amin, amax, bmin, bmax)}."
        )
    return amin, amax, bmin, bmax


def _s(ds: Dataset, alpha: float, beta: float) -> float:
    """s(α, β) only: the report needs many of them, and evaluate() also builds gradients.

    softplus(X) = max(X, 0) + log1p(exp(−|X|)), computed in place to spare memory
    passes on large data; absent cells (X = 0 in the zero-filled copies) are zeroed.
    """
    X = alpha * ds._I0
    X += beta * ds._D0
    sp = np.abs(X)
    np.negative(sp, out=sp)
    np.exp(sp, out=sp)
    np.log1p(sp, out=sp)
    sp += np.maximum(X, 0.0, out=X)
    if not ds.all_present:
        sp[~ds.present] = 0.0
    logp = -sp.sum(axis=1)
    return float(-np.expm1(logp).sum())


def _g(x: float) -> str:
    return f"{x:.4g}"


def _stats(name: str, v: np.ndarray, flat_param: str) -> Finding:
    lo, hi, mean, std = float(v.min()), float(v.max()), float(v.mean()), float(v.std())
    value = (lo, hi, mean, std)
    text = (
        f"{name} ranges over [{_g(lo)}, {_g(hi)}] (mean {_g(mean)}, standard deviation {_g(std)})"
    )
    if hi == 0 and lo == 0:
        return Finding(
            f"scale_{name}",
            "warning",
            f"{name} is zero everywhere",
            f"{name} is 0 for every event, so {flat_param} has no effect on s: the loss is flat "
            f"along {flat_param} and {flat_param} cannot be identified. Check the {name} column.",
            value,
        )
    if lo == hi:
        return Finding(
            f"scale_{name}",
            "note",
            f"{name} is constant",
            f"{name} is {_g(lo)} for every event: {flat_param} then acts like an intercept, "
            "fine, but nothing in the data varies with it.",
            value,
        )
    return Finding(f"scale_{name}", "ok", f"Values of {name}", text + ".", value)


def sanity_report(ds: Dataset, box: Box | None = None, *, grid: int = 9) -> Report:
    """Check ``ds`` over the box (alpha_min, alpha_max, beta_min, beta_max).

    box : default :func:`default_box` (±3 around the truth, or around 0).
    grid : s is evaluated on a grid × grid lattice over the box (corners and edges
        included) to find the range of s that (α, β) in the box can reach.
    """
    box = _check_box(default_box(ds) if box is None else box)
    amin, amax, bmin, bmax = box
    out: list[Finding] = []
    add = out.append
    present = ds.present
    n_present = int(present.sum())
    n_cells = ds.N * ds.E
    nonempty = ds.n_nonempty

    # --- size
    if n_present == 0:
        add(
            Finding(
                "size",
                "error",
                "No events",
                f"All {n_cells} cells of I and D are NaN (absent): s is 0 for every (α, β), "
                "there is nothing to fit. Check that the file's numbers were read.",
                (ds.N, ds.E, 0),
            )
        )
        return Report(tuple(out), box, ds.name)
    add(
        Finding(
            "size",
            "ok",
            "Size",
            f"{ds.N} rows × {ds.E} event columns: {n_present} events present, "
            + (
                f"{n_cells - n_present} cells absent (NaN padding of shorter rows)."
                if n_cells > n_present
                else "none absent (every row has all E events)."
            ),
            (ds.N, ds.E, n_present),
        )
    )

    empty = ds.N - nonempty
    if empty:
        add(
            Finding(
                "empty_rows",
                "note",
                "Rows with no events",
                f"{empty} of {ds.N} rows have no event at all: they add exactly 0 to s, so s "
                f"can approach at most {nonempty}, not N = {ds.N}.",
                empty,
            )
        )
    else:
        add(
            Finding(
                "empty_rows", "ok", "Rows with no events", "Every row has at least one event.", 0
            )
        )
    dead = np.flatnonzero(~present.any(axis=0))
    if dead.size:
        add(
            Finding(
                "empty_columns",
                "note",
                "Unused event columns",
                f"{dead.size} event column(s) are absent in every row (e.g. column "
                f"{int(dead[0])}): they only cost memory; drop them.",
                int(dead.size),
            )
        )

    # --- values of I and D
    I, D = ds.I[present], ds.D[present]
    add(_stats("I", I, "α"))
    add(_stats("D", D, "β"))
    rms_I, rms_D = float(np.sqrt(np.mean(I * I))), float(np.sqrt(np.mean(D * D)))
    if rms_I > 0 and rms_D > 0:
        ratio = max(rms_I, rms_D) / min(rms_I, rms_D)
        big, small, along = ("I", "D", "β") if rms_I > rms_D else ("D", "I", "α")
        if ratio > 30:
            add(
                Finding(
                    "scales",
                    "note",
                    "Very different scales",
                    f"{big} is about {ratio:.0f} times larger than {small}: the valley of L is "
                    f"long and thin (stretched along {along}) and gradient descent zig-zags. "
                    "Rescaling I and D to similar sizes makes it rounder.",
                    ratio,
                )
            )
        else:
            add(
                Finding(
                    "scales",
                    "ok",
                    "Scales of I and D",
                    f"I and D have similar sizes (ratio of root-mean-squares {ratio:.3g}).",
                    ratio,
                )
            )

    # --- correlation and proportionality
    std_I, std_D = float(I.std()), float(D.std())
    if std_I > 0 and std_D > 0:
        r = float(np.mean((I - I.mean()) * (D - D.mean())) / (std_I * std_D))
        sev = "note" if abs(r) > 0.95 else "ok"
        tail = (
            ": the valley of L is narrow and tilted, and α and β trade off against each other."
            if sev == "note"
            else "."
        )
        add(
            Finding(
                "correlation",
                sev,
                "Correlation of I and D",
                f"The correlation of I and D over the present events is {r:.3f}{tail}",
                r,
            )
        )
    norm_I, norm_D = float(np.sqrt(I @ I)), float(np.sqrt(D @ D))
    if norm_I > 0 and norm_D > 0:
        c = float(I @ D) / (norm_I * norm_I)
        resid = float(np.linalg.norm(D - c * I)) / norm_D
        if resid < COLLINEAR_TOL:
            add(
                Finding(
                    "collinear",
                    "warning",
                    "Flat direction: D ≈ c·I",
                    f"D = {c:.6g}·I up to a relative error of {resid:.1e}, so X = (α + {c:.4g}β)·I "
                    f"and L depends only on α + {c:.4g}β: along every line α + {c:.4g}β = const "
                    f"(direction (α, β) ∝ ({c:.4g}, −1)) the loss is flat, and α and β cannot be "
                    "told apart. Fix one of them, or collect data where D is not proportional "
                    "to I.",
                    c,
                )
            )
        else:
            add(
                Finding(
                    "collinear",
                    "ok",
                    "No flat direction",
                    f"D is not proportional to I (the best c in D ≈ c·I is {c:.4g}, with relative "
                    f"error {resid:.2g}): α and β act differently on s.",
                    c,
                )
            )

    # --- saturation at the corners
    corners = [(a, b) for a in (amin, amax) for b in (bmin, bmax)]
    I0, D0 = ds._I0[present], ds._D0[present]
    fracs = [float(np.mean(np.abs(a * I0 + b * D0) > SATURATION_X)) for a, b in corners]
    k = int(np.argmax(fracs))
    worst_frac, (ca, cb) = fracs[k], corners[k]
    scale = max(float(np.abs(I0).max()), float(np.abs(D0).max()), 1e-300)  # > 0 if saturated
    advice = (
        f"Use a smaller box (|α|, |β| up to about {SATURATION_X / scale:.2g} keeps |X| "
        "under 30) or rescale I and D."
    )
    msg = (
        f"At the corner (α, β) = ({ca:g}, {cb:g}), {worst_frac:.0%} of the events have |X| > 30, "
        "where σ is 0 or 1 to 13 digits and its gradient vanishes"
    )
    if worst_frac >= 0.5:
        add(
            Finding(
                "saturation",
                "warning",
                "Saturated sigmoids",
                msg + ": the loss has flat plateaus there and optimizers stall. " + advice,
                worst_frac,
            )
        )
    elif worst_frac > 0.01:
        add(
            Finding(
                "saturation",
                "note",
                "Some saturated sigmoids",
                msg + ": gradients are weak near that corner. " + advice,
                worst_frac,
            )
        )
    else:
        add(
            Finding(
                "saturation",
                "ok",
                "No saturation",
                "At all four corners of the box at most 1% of the events have |X| > 30: "
                "σ responds to α and β everywhere.",
                worst_frac,
            )
        )

    # --- the range of s over the box
    alphas, betas = np.linspace(amin, amax, grid), np.linspace(bmin, bmax, grid)
    S = np.array([[_s(ds, a, b) for b in betas] for a in alphas])
    imin, imax = np.unravel_index(np.argmin(S), S.shape), np.unravel_index(np.argmax(S), S.shape)
    smin, smax = float(S[imin]), float(S[imax])
    at_min = (float(alphas[imin[0]]), float(betas[imin[1]]))
    at_max = (float(alphas[imax[0]]), float(betas[imax[1]]))
    # ∂s/∂α = Σ p_i Σ_j F_ij I_ij: one sign when I has one sign, and likewise for β.
    one_sign = lambda v: bool((v >= 0).all() or (v <= 0).all())  # noqa: E731
    if one_sign(I) and one_sign(D):
        exactness = (
            "I and D do not change sign, so s is monotone in α and in β and these corner "
            "values are the exact extremes over the box."
        )
    else:
        exactness = (
            "I or D changes sign, so s need not be monotone: between grid points it may "
            "reach slightly further."
        )
    add(
        Finding(
            "s_range",
            "ok",
            "Range of s over the box",
            f"On a {grid}×{grid} grid over the box (corners and edges included) s runs from "
            f"{_g(smin)} at (α, β) = ({at_min[0]:g}, {at_min[1]:g}) to {_g(smax)} at "
            f"({at_max[0]:g}, {at_max[1]:g}); {exactness} For any finite (α, β), "
            f"0 < s < {nonempty} (the rows with an event).",
            (smin, smax),
        )
    )

    # --- where y sits
    y = ds.y
    if y < 0 or y > nonempty:
        add(
            Finding(
                "y_range",
                "error",
                "y cannot be fitted",
                f"y = {y:g} is outside [0, {nonempty}], the values s can ever take (0 up to the "
                f"number of rows with an event): no (α, β) at all fits, L has no zero. Check y: "
                "it counts the rows with at least one success.",
                y,
            )
        )
    elif y in (0, nonempty):
        end = "0 (all X → −∞)" if y == 0 else f"{nonempty} (some X → +∞ in every row)"
        add(
            Finding(
                "y_range",
                "warning",
                "y sits at a bound",
                f"y = {y:g} is reached only in the limit s → {end}: the loss keeps falling "
                "towards infinity and optimizers drift off without converging.",
                y,
            )
        )
    elif y > smax or y < smin:
        side, where = ("above the largest", at_max) if y > smax else ("below the smallest", at_min)
        add(
            Finding(
                "y_range",
                "warning",
                "y is out of reach in this box",
                f"y = {_g(y)} is {side} s in the box ({_g(smax if y > smax else smin)}, at "
                f"(α, β) = ({where[0]:g}, {where[1]:g})): the zero of L lies outside the box. "
                "Widen the box beyond that point.",
                y,
            )
        )
    else:
        add(
            Finding(
                "y_range",
                "ok",
                "y is reachable",
                f"y = {_g(y)} lies within the range of s in the box [{_g(smin)}, {_g(smax)}]: "
                "some (α, β) in the box fit it exactly.",
                y,
            )
        )
    if float(y).is_integer():
        add(Finding("y_whole", "ok", "y is a whole number", f"y = {y:g} is a count.", y))
    else:
        add(
            Finding(
                "y_whole",
                "note",
                "y is not a whole number",
                f"y = {_g(y)} is not a whole number: fine for an expected count (generated data), "
                "but an observed count of rows is usually whole.",
                y,
            )
        )
    if 0 < y < 1:
        add(
            Finding(
                "rare",
                "note",
                "Rare events",
                f"y = {_g(y)}: fewer than one success expected, so s is tiny where L is small. "
                "losslens computes s in log space (expm1, softplus), so even s ≈ 1e-15 keeps its "
                "digits, but L = ½(y − s)² and its gradient are tiny there too.",
                y,
            )
        )

    # --- duplicate rows
    rows = np.concatenate([ds._I0, ds._D0, present.astype(np.float64)], axis=1)
    dup = ds.N - len(np.unique(rows, axis=0))
    if dup:
        add(
            Finding(
                "duplicates",
                "note",
                "Duplicate rows",
                f"{dup} row(s) repeat an earlier row exactly (same I, D and absent events): "
                "normal for 0/1 or rounded data, but check for records logged twice.",
                dup,
            )
        )
    else:
        add(Finding("duplicates", "ok", "No duplicate rows", "Every row is distinct.", 0))

    # --- what one count can tell
    add(
        Finding(
            "one_equation",
            "ok",  # a property of the model, not a flaw of the data
            "One count, two parameters",
            "A single observed count gives one equation s(α, β) = y for two unknowns: L = 0 on "
            "a whole curve of (α, β), so y alone cannot pin down both α and β; the contour map "
            "shows which combinations fit.",
            None,
        )
    )
    if ds.truth is not None:
        a, b = ds.truth
        s_true = _s(ds, a, b)
        add(
            Finding(
                "truth",
                "ok",
                "At the true parameters",
                f"At the truth (α*, β*) = ({a:g}, {b:g}) s = {s_true:.6g} and "
                f"L = {0.5 * (y - s_true) ** 2:.3g}.",
                s_true,
            )
        )
    return Report(tuple(out), box, ds.name)
