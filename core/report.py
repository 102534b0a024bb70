"""A sanity report: can these data identify α and β, and where are they broken?

    report = sanity_report(ds, box=(-3, 3, -3, 3))
    report.worst                  # 'ok' | 'note' | 'warning' | 'error'
    print(report.to_text())
    report["collinear"].value     # the c of D ≈ c·I
    report.sorted()               # the findings, errors first, checks passed last

Each :class:`Finding` has a code (stable, for programs), a severity, a short title and
one or two sentences a student can act on. The attainable range of s is measured on
a grid over the box (corners and edges included): s need not be monotone when I or D
change sign, so the range is what the grid saw, and the message says so.

The report is a table of checks (:data:`CHECKS`): each is a small function of a
:class:`_Context` (the validated box, reductions of the present values of I and D in
:class:`_Stats`, and every s the checks need, computed once in one call of
:func:`core.landscape.evaluate_points`) returning a :class:`Finding`, or None when it
does not apply to these data. Only reductions, so a partitioned data set (on a Dask
cluster) computes the same statistics by map-reduce.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from .landscape import evaluate_points
from .model import Dataset
from .reach import _on_blocks, s_range_plane
from .validation import check_box, check_count

__all__ = ["SEVERITIES", "Finding", "Report", "default_box", "sanity_report"]

SEVERITIES = ("ok", "note", "warning", "error")  # from least to most severe
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
    """The findings for one dataset over one (α, β) box, in the order the checks ran."""

    findings: tuple[Finding, ...]
    box: Box
    name: str = ""

    @property
    def worst(self) -> str:
        """The most severe severity among the findings ('ok' when there are none)."""
        return max((f.severity for f in self.findings), key=SEVERITIES.index, default="ok")

    def sorted(self) -> tuple[Finding, ...]:
        """The findings worst first: errors, warnings, notes, then the checks passed.

        Within one severity the order of :data:`CHECKS` is kept (the sort is stable),
        so what a reader should act on comes first, in the page and in the text alike.
        """
        return tuple(sorted(self.findings, key=lambda f: -SEVERITIES.index(f.severity)))

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
        """A plain-text report, one block per finding in :meth:`sorted` order (worst first)."""
        amin, amax, bmin, bmax = self.box
        lines = [
            f"Sanity report{': ' + self.name if self.name else ''}",
            f"box: alpha in [{amin:g}, {amax:g}], beta in [{bmin:g}, {bmax:g}]",
            "",
        ]
        for f in self.sorted():
            lines.append(f"{f.severity.upper():<8} {f.title}")
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


# -- what the checks share -----------------------------------------------------------------


@dataclass(frozen=True)
class _Values:
    """One matrix's present values: range, mean, standard deviation, root-mean-square,
    largest |value|, and whether they all have one sign."""

    lo: float
    hi: float
    mean: float
    std: float
    rms: float
    absmax: float
    one_sign: bool


@dataclass(frozen=True)
class _Stats:
    """What the checks read of the present events (reductions: they map-reduce too).

    corr : the correlation of I and D (NaN when either is constant)
    c, resid : the best c in D ≈ c·I and ‖D − cI‖/‖D‖ (NaN when I or D is all zero)
    saturated : per corner of the box (amin, bmin), (amin, bmax), (amax, bmin),
        (amax, bmax), the fraction of events with |αI + βD| > SATURATION_X
    dead : event columns absent in every row;  duplicates : rows repeating an earlier row
    """

    I: _Values
    D: _Values
    corr: float
    c: float
    resid: float
    saturated: tuple[float, ...]
    dead: tuple[int, ...]
    duplicates: int


def _corners(box: Box) -> list[tuple[float, float]]:
    amin, amax, bmin, bmax = box
    return [(a, b) for a in (amin, amax) for b in (bmin, bmax)]


def _values_of(v: np.ndarray) -> _Values:
    lo, hi, mean, std = float(v.min()), float(v.max()), float(v.mean()), float(v.std())
    one_sign = bool((v >= 0).all() or (v <= 0).all())
    return _Values(lo, hi, mean, std, float(np.sqrt(np.mean(v * v))), max(-lo, hi), one_sign)


def _stats(ds: Dataset, box: Box) -> _Stats:
    """The :class:`_Stats` of an in-memory data set (with at least one event)."""
    present = ds.present
    I, D = ds.I[present], ds.D[present]
    vI, vD = _values_of(I), _values_of(D)
    corr = c = resid = float("nan")
    if vI.std > 0 and vD.std > 0:
        corr = float(np.mean((I - I.mean()) * (D - D.mean())) / (vI.std * vD.std))
    norm_I, norm_D = float(np.sqrt(I @ I)), float(np.sqrt(D @ D))
    if norm_I > 0 and norm_D > 0:
        c = float(I @ D) / (norm_I * norm_I)
        resid = float(np.linalg.norm(D - c * I)) / norm_D
    saturated = tuple(
        float(np.mean(np.abs(a * I + b * D) > SATURATION_X)) for a, b in _corners(box)
    )
    dead = tuple(int(j) for j in np.flatnonzero(~present.any(axis=0)))
    I0, D0 = ds.filled()
    rows = np.concatenate([I0, D0, present.astype(np.float64)], axis=1)
    duplicates = ds.N - len(np.unique(rows, axis=0))
    return _Stats(vI, vD, corr, c, resid, saturated, dead, duplicates)


@dataclass(frozen=True)
class _Context:
    """Everything the checks read, computed once per report.

    ds, box, grid : the data, the validated box, the grid size of the s range
    n_present : events present; nonempty : rows with at least one event
    stats : :class:`_Stats` of the present events (None when there is none)
    alphas, betas : (grid,) the grid axes; S : (grid, grid) s at (alphas[k], betas[l])
    s_true : s at ``ds.truth``, or None when the truth is unknown
    """

    ds: Dataset
    box: Box
    grid: int
    n_present: int
    nonempty: int
    stats: _Stats | None
    alphas: np.ndarray
    betas: np.ndarray
    S: np.ndarray
    s_true: float | None

    def extreme(self, pick: Callable[[np.ndarray], int]) -> tuple[float, tuple[float, float]]:
        """(s, (α, β)) at the grid cell ``pick`` (np.argmin or np.argmax) chooses."""
        k, l = np.unravel_index(pick(self.S), self.S.shape)
        return float(self.S[k, l]), (float(self.alphas[k]), float(self.betas[l]))


def _context(ds: Dataset, box: Box, grid: int) -> _Context:
    """Event statistics, and every s of the report in one call of evaluate_points.

    A partitioned data set (core/partitioned.py) brings its own statistics (map-reduce).
    """
    partitioned = getattr(ds, "is_partitioned", False)
    n_present = ds.n_present if partitioned else int(ds.present.sum())
    amin, amax, bmin, bmax = box
    alphas, betas = np.linspace(amin, amax, grid), np.linspace(bmin, bmax, grid)
    S, s_true, stats = np.zeros((0, 0)), None, None
    if n_present:  # with no event s is 0 everywhere and the report stops at "size"
        stats = ds.report_stats(box) if partitioned else _stats(ds, box)
        A, B = np.meshgrid(alphas, betas, indexing="ij")
        a, b = A.ravel(), B.ravel()
        if ds.truth is not None:
            a, b = np.append(a, ds.truth[0]), np.append(b, ds.truth[1])
        s = evaluate_points(ds, a, b).s
        S = s[: grid * grid].reshape(grid, grid)
        s_true = float(s[-1]) if ds.truth is not None else None
    return _Context(ds, box, grid, n_present, ds.n_nonempty, stats, alphas, betas, S, s_true)


def _g(x: float) -> str:
    """A number as every page shows y and other scalars (dashboard.ui.fmt's rule): six
    significant digits, plain from 1e-3 to 1e6, else scientific."""
    if x == 0 or not np.isfinite(x):
        return "0" if x == 0 else str(x)
    return f"{x:.6g}" if 1e-3 <= abs(x) < 1e6 else f"{x:.4e}"


# -- the checks, in report order -------------------------------------------------------------


def _size(ctx: _Context) -> Finding:
    ds, n_present = ctx.ds, ctx.n_present
    n_cells = ds.N * ds.E
    if n_present == 0:
        return Finding(
            "size",
            "error",
            "No events",
            f"All {n_cells} cells of I and D are NaN (absent): s is 0 for every (α, β), "
            "there is nothing to fit. Check that the file's numbers were read.",
            (ds.N, ds.E, 0),
        )
    absent = (
        f"{n_cells - n_present} cells absent (NaN padding of shorter rows)."
        if n_cells > n_present
        else "none absent (every row has all E events)."
    )
    return Finding(
        "size",
        "ok",
        "Size",
        f"{ds.N} rows × {ds.E} event columns: {n_present} events present, " + absent,
        (ds.N, ds.E, n_present),
    )


def _empty_rows(ctx: _Context) -> Finding:
    N, nonempty = ctx.ds.N, ctx.nonempty
    empty = N - nonempty
    if not empty:
        return Finding(
            "empty_rows", "ok", "Rows with no events", "Every row has at least one event.", 0
        )
    return Finding(
        "empty_rows",
        "note",
        "Rows with no events",
        f"{empty} of {N} rows have no event at all: they add exactly 0 to s, so s "
        f"can approach at most {nonempty}, not N = {N}.",
        empty,
    )


def _empty_columns(ctx: _Context) -> Finding | None:
    dead = ctx.stats.dead
    if not dead:
        return None
    return Finding(
        "empty_columns",
        "note",
        "Unused event columns",
        f"{len(dead)} event column(s) are absent in every row (e.g. column "
        f"{dead[0]}): they only cost memory; drop them.",
        len(dead),
    )


def _values(name: str, v: _Values, flat_param: str) -> Finding:
    """scale_I / scale_D: the range of one matrix, and whether its parameter matters."""
    lo, hi, mean, std = v.lo, v.hi, v.mean, v.std
    value = (lo, hi, mean, std)
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
    text = (
        f"{name} ranges over [{_g(lo)}, {_g(hi)}] (mean {_g(mean)}, standard deviation {_g(std)})"
    )
    return Finding(f"scale_{name}", "ok", f"Values of {name}", text + ".", value)


def _scale_I(ctx: _Context) -> Finding:
    return _values("I", ctx.stats.I, "α")


def _scale_D(ctx: _Context) -> Finding:
    return _values("D", ctx.stats.D, "β")


def _scales(ctx: _Context) -> Finding | None:
    rms_I, rms_D = ctx.stats.I.rms, ctx.stats.D.rms
    if not (rms_I > 0 and rms_D > 0):
        return None
    ratio = max(rms_I, rms_D) / min(rms_I, rms_D)
    if ratio <= 30:
        return Finding(
            "scales",
            "ok",
            "Scales of I and D",
            f"I and D have similar sizes (ratio of root-mean-squares {ratio:.3g}).",
            ratio,
        )
    big, small, along = ("I", "D", "β") if rms_I > rms_D else ("D", "I", "α")
    return Finding(
        "scales",
        "note",
        "Very different scales",
        f"{big} is about {ratio:.0f} times larger than {small}: the valley of L is "
        f"long and thin (stretched along {along}) and gradient descent zig-zags. "
        "Rescaling I and D to similar sizes makes it rounder.",
        ratio,
    )


def _correlation(ctx: _Context) -> Finding | None:
    r = ctx.stats.corr
    if np.isnan(r):  # I or D constant
        return None
    sev = "note" if abs(r) > 0.95 else "ok"
    tail = (
        ": the valley of L is narrow and tilted, and α and β trade off against each other."
        if sev == "note"
        else "."
    )
    return Finding(
        "correlation",
        sev,
        "Correlation of I and D",
        f"The correlation of I and D over the present events is {r:.3f}{tail}",
        r,
    )


def _collinear(ctx: _Context) -> Finding | None:
    c, resid = ctx.stats.c, ctx.stats.resid
    if np.isnan(c):  # I or D zero everywhere
        return None
    if resid >= COLLINEAR_TOL:
        return Finding(
            "collinear",
            "ok",
            "No flat direction",
            f"D is not proportional to I (the best c in D ≈ c·I is {c:.4g}, with relative "
            f"error {resid:.2g}): α and β act differently on s.",
            c,
        )
    return Finding(
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


def _saturation(ctx: _Context) -> Finding:
    corners, fracs = _corners(ctx.box), ctx.stats.saturated
    k = int(np.argmax(fracs))
    frac, (ca, cb) = fracs[k], corners[k]
    if frac <= 0.01:
        return Finding(
            "saturation",
            "ok",
            "No saturation",
            "At all four corners of the box at most 1% of the events have |X| > 30: "
            "σ responds to α and β everywhere.",
            frac,
        )
    scale = max(ctx.stats.I.absmax, ctx.stats.D.absmax, 1e-300)  # > 0 if saturated
    advice = (
        f"Use a smaller box (|α|, |β| up to about {SATURATION_X / scale:.2g} keeps |X| "
        "under 30) or rescale I and D."
    )
    msg = (
        f"At the corner (α, β) = ({ca:g}, {cb:g}), {frac:.0%} of the events have |X| > 30, "
        "where σ is 0 or 1 to 13 digits and its gradient vanishes"
    )
    if frac >= 0.5:
        msg += ": the loss has flat plateaus there and optimizers stall. "
        return Finding("saturation", "warning", "Saturated sigmoids", msg + advice, frac)
    msg += ": gradients are weak near that corner. "
    return Finding("saturation", "note", "Some saturated sigmoids", msg + advice, frac)


def _s_range(ctx: _Context) -> Finding:
    (smin, at_min), (smax, at_max) = ctx.extreme(np.argmin), ctx.extreme(np.argmax)
    # ∂s/∂α = Σ p_i Σ_j F_ij I_ij: one sign when I has one sign, and likewise for β.
    if ctx.stats.I.one_sign and ctx.stats.D.one_sign:
        exactness = (
            "I and D do not change sign, so s is monotone in α and in β and these corner "
            "values are the exact extremes over the box."
        )
    else:
        exactness = (
            "I or D changes sign, so s need not be monotone: between grid points it may "
            "reach slightly further."
        )
    return Finding(
        "s_range",
        "ok",
        "Range of s over the box",
        f"On a {ctx.grid}×{ctx.grid} grid over the box (corners and edges included) s runs "
        f"from {_g(smin)} at (α, β) = ({at_min[0]:g}, {at_min[1]:g}) to {_g(smax)} at "
        f"({at_max[0]:g}, {at_max[1]:g}); {exactness} For any finite (α, β), "
        f"0 < s < {ctx.nonempty} (the rows with an event).",
        (smin, smax),
    )


def _y_range(ctx: _Context) -> Finding:
    y, top = ctx.ds.y, ctx.nonempty
    if y < 0 or y > top:
        return Finding(
            "y_range",
            "error",
            "y cannot be fitted",
            f"y = {_g(y)} is outside [0, {top}], the values s can ever take (0 up to the "
            f"number of rows with an event): no (α, β) at all fits, L has no zero. Check y: "
            "it counts the rows with at least one success.",
            y,
        )
    if y in (0, top):
        end = "0 (all X → −∞)" if y == 0 else f"{top} (some X → +∞ in every row)"
        return Finding(
            "y_range",
            "warning",
            "y sits at a bound",
            f"y = {_g(y)} is reached only in the limit s → {end}: the loss keeps falling "
            "towards infinity and optimizers drift off without converging.",
            y,
        )
    return _y_in_plane(ctx) or _y_in_box(ctx)


def _block_both_signs(block) -> np.ndarray:
    """(2,) rows of this block with events of both signs, in I and in D (they add)."""
    out = np.zeros(2, dtype=np.int64)
    for k, Z in enumerate((block.I, block.D)):
        Z0 = np.nan_to_num(Z)
        out[k] = int(((Z0 > 0).any(axis=1) & (Z0 < 0).any(axis=1)).sum())
    return out


def _both_signs(ds: Dataset) -> str:
    """How many rows have events of both signs in I and in D, in words."""
    both = np.sum(_on_blocks(ds, _block_both_signs), axis=0)
    return " and ".join(
        f"{name} takes both signs in {int(n)} of {ds.N} rows" for name, n in zip("ID", both)
    )


def _y_in_plane(ctx: _Context) -> Finding | None:
    """An error when no (α, β) in the whole plane, not just the box, reaches y."""
    ds, y = ctx.ds, ctx.ds.y
    smin, smax = float(ctx.S.min()), float(ctx.S.max())
    if smin <= y <= smax:  # the box reaches y already: so does the plane
        return None
    r = s_range_plane(ds)
    if r.reachable(y):
        return None
    side = "below the smallest" if y < r.low else "above the largest"
    how = "" if r.exact else " (the directions subsampled: it may reach slightly further)"
    return Finding(
        "y_range",
        "error",
        "y is unreachable for every (α, β)",
        f"y = {_g(y)} is {side} s the model can reach anywhere: over all (α, β) ∈ R² s "
        f"stays within [{_g(r.low)}, {_g(r.high)}] (its limits along {r.angles:,} "
        f"directions, and a search inside){how}. No box helps. This model has no "
        f"intercept: {_both_signs(ds)}, so far out in any direction most rows still "
        "have an event whose σ goes to 1. Add a constant D = 1 so that β becomes an "
        "intercept (the Data page does it in one click for an uploaded dataset), or do "
        "not centre I.",
        (r.low, r.high),
    )


def _y_in_box(ctx: _Context) -> Finding:
    """y_range when some finite (α, β) fits y: is one of them inside the box?"""
    y = ctx.ds.y
    (smin, at_min), (smax, at_max) = ctx.extreme(np.argmin), ctx.extreme(np.argmax)
    if smin <= y <= smax:
        return Finding(
            "y_range",
            "ok",
            "y is reachable",
            f"y = {_g(y)} lies within the range of s in the box [{_g(smin)}, {_g(smax)}]: "
            "some (α, β) in the box fit it exactly.",
            y,
        )
    side, s_end, where = (
        ("above the largest", smax, at_max) if y > smax else ("below the smallest", smin, at_min)
    )
    return Finding(
        "y_range",
        "warning",
        "y is out of reach in this box",
        f"y = {_g(y)} is {side} s in the box ({_g(s_end)}, at "
        f"(α, β) = ({where[0]:g}, {where[1]:g})): the zero of L lies outside the box. "
        "Widen the box beyond that point.",
        y,
    )


def _y_whole(ctx: _Context) -> Finding:
    y = ctx.ds.y
    if float(y).is_integer():
        return Finding("y_whole", "ok", "y is a whole number", f"y = {_g(y)} is a count.", y)
    return Finding(
        "y_whole",
        "note",
        "y is not a whole number",
        f"y = {_g(y)} is not a whole number: fine for an expected count (generated data), "
        "but an observed count of rows is usually whole.",
        y,
    )


def _rare(ctx: _Context) -> Finding | None:
    y = ctx.ds.y
    if not 0 < y < 1:
        return None
    return Finding(
        "rare",
        "note",
        "Rare events",
        f"y = {_g(y)}: fewer than one success expected, so s is tiny where L is small. "
        "losslens computes s in log space (expm1, softplus), so even s ≈ 1e-15 keeps its "
        "digits, but L = ½(y − s)² and its gradient are tiny there too.",
        y,
    )


def _duplicates(ctx: _Context) -> Finding:
    dup = ctx.stats.duplicates
    if not dup:
        return Finding("duplicates", "ok", "No duplicate rows", "Every row is distinct.", 0)
    return Finding(
        "duplicates",
        "note",
        "Duplicate rows",
        f"{dup} row(s) repeat an earlier row exactly (same I, D and absent events): "
        "normal for 0/1 or rounded data, but check for records logged twice.",
        dup,
    )


def _one_equation(ctx: _Context) -> Finding:
    return Finding(
        "one_equation",
        "ok",  # a property of the model, not a flaw of the data
        "One count, two parameters",
        "A single observed count gives one equation s(α, β) = y for two unknowns: L = 0 on "
        "a whole curve of (α, β), so y alone cannot pin down both α and β; the contour map "
        "shows which combinations fit.",
        None,
    )


def _truth(ctx: _Context) -> Finding | None:
    if ctx.s_true is None:
        return None
    (a, b), s_true = ctx.ds.truth, ctx.s_true
    return Finding(
        "truth",
        "ok",
        "At the true parameters",
        f"At the truth (α*, β*) = ({a:g}, {b:g}) s = {_g(s_true)} and "
        f"L = {0.5 * (ctx.ds.y - s_true) ** 2:.3g}.",
        s_true,
    )


Check = Callable[[_Context], Finding | None]

# The checks in report order; each returns its finding, or None when it does not apply
# (e.g. no correlation when I or D is constant). With no event at all only _size runs.
CHECKS: tuple[Check, ...] = (
    _size,
    _empty_rows,
    _empty_columns,
    _scale_I,
    _scale_D,
    _scales,
    _correlation,
    _collinear,
    _saturation,
    _s_range,
    _y_range,
    _y_whole,
    _rare,
    _duplicates,
    _one_equation,
    _truth,
)


def sanity_report(ds: Dataset, box: Box | None = None, *, grid: int = 9) -> Report:
    """Check ``ds`` over the box (alpha_min, alpha_max, beta_min, beta_max).

    box : default :func:`default_box` (±3 around the truth, or around 0).
    grid : s is evaluated on a grid × grid lattice over the box (corners and edges
        included) to find the range of s that (α, β) in the box can reach.
    """
    box = check_box(default_box(ds) if box is None else box)
    grid = check_count(grid, "grid", lo=2, hi=1000)
    ctx = _context(ds, box, grid)
    if ctx.n_present == 0:
        return Report((_size(ctx),), box, ds.name)
    findings = (check(ctx) for check in CHECKS)
    return Report(tuple(f for f in findings if f is not None), box, ds.name)
