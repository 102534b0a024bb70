"""Figures, tables and words for the derivation page, as pure functions of core's results.

Nothing here computes a model quantity: every number comes from ``core.derivation``
(:class:`core.Derivation`, :class:`core.GradCheck`, ...). Tests call these without a server.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

import core
from dashboard.ui import fmt as num  # the one number formatter

MAX_ROWS = 12
MAX_COLS = 10

# What each line's differential is called in the tables.
DIFFERENTIAL = {"X": "dX", "F": "dF", "G": "dG", "p": "dp", "s": "ds", "L": "dL"}


def sci(x: float, digits: int = 2) -> str:
    """A number in scientific notation, e.g. 3.4e-11 (errors are read by their exponent)."""
    if x is None or not math.isfinite(x):
        return str(x)
    return f"{x:.{digits - 1}e}"


def tex_num(x: float, digits: int = 6) -> str:
    """A number as LaTeX: 1.234 or 1.2346 \\times 10^{-7}."""
    text = num(float(x), digits)
    if "e" not in text or not math.isfinite(x):
        return text
    mantissa, exponent = text.split("e")
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def matrix_table(M: np.ndarray) -> pd.DataFrame:
    """A 2×2 matrix in (α, β) as a small labelled table."""
    return pd.DataFrame({"": ["α", "β"], "α": np.asarray(M)[:, 0], "β": np.asarray(M)[:, 1]})


def truncation_note(shape: tuple[int, ...], max_rows: int = MAX_ROWS, max_cols: int = MAX_COLS):
    """A note when a matrix is shown cut to its first rows and columns, else None."""
    rows = shape[0]
    cols = shape[1] if len(shape) > 1 else 1
    if rows <= max_rows and cols <= max_cols:
        return None
    parts = []
    if rows > max_rows:
        parts.append(f"the first {max_rows} of {rows:,} rows")
    if cols > max_cols:
        parts.append(f"the first {max_cols} of {cols} columns")
    return f"Showing {' and '.join(parts)}; every check uses all of them."


def cell_text(v: float) -> str:
    """A heat-map cell's label in at most ~4 characters, so 8-12 columns stay legible on a
    phone (390 px): two significant digits, no leading zero ("-.93", ".011"), and out of
    [0.01, 100) one digit and a short exponent ("6e-5"); the hover gives the full value."""
    if not np.isfinite(v):
        return ""
    if v == 0:
        return "0"
    text = f"{v:.2g}"
    if 0.01 <= abs(v) and "e" not in text:  # below 100 after rounding
        return text.replace("0.", ".", 1) if abs(v) < 1 else text
    mantissa, exponent = f"{v:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _cell_texts(M: np.ndarray) -> np.ndarray:
    return np.vectorize(cell_text, otypes=[object])(np.asarray(M, dtype=float))


def matrix_figure(
    M: np.ndarray,
    title: str,
    *,
    max_rows: int = MAX_ROWS,
    max_cols: int = MAX_COLS,
    height: int = 280,
) -> go.Figure:
    """The top-left corner of an (N, E) matrix as an annotated heatmap; NaN (absent) blank."""
    M = np.asarray(M, dtype=float)
    top = M[:max_rows, :max_cols]
    finite = top[np.isfinite(top)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    text = _cell_texts(top)
    fig = go.Figure(
        go.Heatmap(
            z=top,
            x=[f"j={j}" for j in range(top.shape[1])],
            y=[f"i={i}" for i in range(top.shape[0])],
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=10),
            # Diverging around 0 for mixed signs, sequential when all entries share one.
            colorscale="RdBu" if lo < 0 < hi else ("Blues" if hi > 0 else "Blues_r"),
            zmid=0.0 if lo < 0 < hi else None,
            showscale=False,
            hovertemplate="row %{y}, event %{x}: %{z:.6g}<extra></extra>",
        )
    )
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        title=dict(text=title, x=0, font=dict(size=13)),
        yaxis=dict(autorange="reversed"),
    )
    return fig


def vector_table(d: core.Derivation, max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """p, its predicted dp and the actual change, for the first rows."""
    line = d.line("p")
    k = min(max_rows, len(line.value))
    return pd.DataFrame(
        {
            "row i": np.arange(k),
            "p_i": line.value[:k],
            "predicted dp_i": line.predicted[:k],
            "actual change": line.actual[:k],
        }
    )


def entries_table(line: core.Line, max_entries: int = 8) -> pd.DataFrame:
    """Predicted against actual for the first present entries of a matrix line."""
    pred = np.asarray(line.predicted, dtype=float)
    act = np.asarray(line.actual, dtype=float)
    rows, cols = np.nonzero(np.isfinite(pred))
    rows, cols = rows[:max_entries], cols[:max_entries]
    return pd.DataFrame(
        {
            "entry (i, j)": [f"({i}, {j})" for i, j in zip(rows, cols)],
            f"predicted {DIFFERENTIAL[line.name]}": pred[rows, cols],
            "actual change": act[rows, cols],
        }
    )


def _size(x) -> float:
    """A matrix or vector by its Frobenius norm (over present entries), a scalar as itself."""
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 0:
        return float(arr)
    return float(np.linalg.norm(arr[np.isfinite(arr)]))


def lines_table(d: core.Derivation) -> pd.DataFrame:
    """One row per line: predicted differential, actual change, relative error.

    Matrices and vectors appear by their Frobenius norm ‖·‖ (the error is relative to it).
    """
    rows = []
    for line in d.lines:
        scalar = np.ndim(line.value) == 0
        what = DIFFERENTIAL[line.name] if scalar else f"‖{DIFFERENTIAL[line.name]}‖"
        rows.append(
            {
                "line": line.name,
                "compared": what,
                "predicted (first order)": _size(line.predicted),
                "actual (central change)": _size(line.actual),
                "relative error": line.rel_error,
                "error bound": line.bound,
                "check": "⚠ beyond the bound"
                if line.flagged
                else ("applies" if line.applies else "not a test here (see the line)"),
            }
        )
    return pd.DataFrame(rows)


def chain_table(d: core.Derivation) -> pd.DataFrame:
    """Each rewritten form of dL, its value and its distance from the first one."""
    first = d.chain[0].value
    scale = max(d.chain_scale, np.finfo(float).tiny)
    return pd.DataFrame(
        {
            "form": [f"({k})" for k in range(len(d.chain))],
            "value of dL": [st.value for st in d.chain],
            "|form − (0)| / scale": [abs(st.value - first) / scale for st in d.chain],
        }
    )


def _verdict(flagged: bool, resolved: bool) -> str:
    if flagged:
        return "⚠ differs beyond the bound"
    return "agrees" if resolved else "cannot resolve here"


def gradcheck_table(gc: core.GradCheck) -> pd.DataFrame:
    """∂L/∂α, ∂L/∂β, ∂s/∂α, ∂s/∂β: analytic, reference, relative error and its bound."""
    names = ["∂L/∂α", "∂L/∂β", "∂s/∂α", "∂s/∂β"]
    flagged = [*gc.flagged, *gc.flagged_s]
    resolved = [*gc.resolved, *gc.resolved_s]
    return pd.DataFrame(
        {
            "derivative": names,
            "analytic": [*gc.grad, *gc.grad_s],
            "central difference": [*gc.numeric, *gc.numeric_s],
            "relative error": [*gc.rel_error, *gc.rel_error_s],
            "error bound": [*gc.resolution, *gc.resolution_s],
            "verdict": [_verdict(f, r) for f, r in zip(flagged, resolved)],
        }
    )


def trajectory_figure(tc: core.TrajectoryCheck, current: int | None = None) -> go.Figure:
    """Relative error of ∇L and ∇s along the path, and the bound of the references (log)."""
    floor = 1e-17  # exact agreement would vanish from a log axis
    fig = go.Figure()
    fig.add_scatter(
        x=tc.index,
        y=np.maximum(tc.resolution, floor),
        mode="lines",
        name="error bound of the reference",
        line=dict(color="#adb5bd", width=6),
        opacity=0.6,
        hovertemplate="step %{x}: %{y:.2e}<extra>bound</extra>",
    )
    fig.add_scatter(
        x=tc.index,
        y=np.maximum(tc.rel_error, floor),
        mode="lines+markers",
        name="∇L",
        marker=dict(
            size=np.where(tc.flagged, 11, 6).tolist(),
            color=np.where(tc.flagged, "#c92a2a", "#1c7ed6").tolist(),
            symbol=np.where(
                tc.flagged, "x", np.where(tc.resolved, "circle", "circle-open")
            ).tolist(),
        ),
        line=dict(color="#1c7ed6"),
        hovertemplate="step %{x}: %{y:.2e}<extra>∇L</extra>",
    )
    fig.add_scatter(
        x=tc.index,
        y=np.maximum(tc.rel_error_s, floor),
        mode="lines",
        name="∇s",
        line=dict(dash="dot"),
        hovertemplate="step %{x}: %{y:.2e}<extra>∇s</extra>",
    )
    if current is not None:
        fig.add_vline(x=current, line=dict(color="#495057", width=1))
    fig.update_layout(
        height=300,
        margin=dict(l=10, r=10, t=30, b=10),
        title=dict(text="gradient check along the descent", x=0, font=dict(size=13)),
        xaxis_title="step",
        yaxis=dict(type="log", title="relative error", exponentformat="e"),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0.3),
    )
    return fig


def hessian_words(gc: core.GradCheck) -> str:
    """What the exact Hessian says about the valley at this point (markdown)."""
    lam_lo, lam_hi = gc.eigvals
    kappa = "∞" if math.isinf(gc.condition) else sci(gc.condition)
    base = (
        f"Eigenvalues λ = {num(lam_lo)} and {num(lam_hi)}, condition number "
        f"κ = |λ|max/|λ|min = {kappa}. The Hessian is H = ∇s∇sᵀ + (s − y)∇²s; the first "
        f"term has rank one, and here ‖(s − y)∇²s‖ / ‖∇s∇sᵀ‖ = {sci(gc.curvature_ratio)}. "
    )
    if gc.curvature_ratio < 1e-3:
        return base + (
            "So this point is (nearly) on the zero-loss curve s = y, where H is ∇s∇sᵀ: rank "
            "one. One eigenvalue is ~0 and its eigenvector points along the curve "
            f"(|cos| with the curve's tangent = {gc.flat_alignment:.6f}): the valley floor is "
            "flat along the curve and steep across it, so κ is huge. Gradient methods reach "
            "the floor fast and then barely move along it; any point of the curve fits y."
        )
    if lam_lo > 0:
        return base + (
            "Both eigenvalues are positive: locally the surface is a bowl. κ says how "
            "elongated it is; plain gradient descent zigzags across a long narrow bowl. "
            "Nearer the curve s = y the second term shrinks and H tends to rank one."
        )
    return base + (
        "An eigenvalue is negative: the surface is not convex here. The term (s − y)∇²s "
        "bends it down along one direction, so a plain Newton step may go uphill; "
        "damped or line-searched methods are safer."
    )


def stability_table(table: dict) -> pd.DataFrame:
    """The naive and the log-space 1 − σ(x), for the page's first question."""
    naive = table["one_minus_naive"]
    return pd.DataFrame(
        {
            "x": table["x"],
            "σ(x) in float64": table["sigma"],
            "1 − σ(x) after rounding σ": naive,
            "log of that": ["−∞ (log 0)" if v == 0 else num(float(np.log(v))) for v in naive],
            "exp(−softplus(x))": table["one_minus"],
            "−softplus(x) = log(1 − σ(x))": table["log_one_minus"],
        }
    )


# -- the Jacobian and backprop ------------------------------------------------------------


def jacobian_figure(jac: core.JacobianSlice, height: int = 260) -> go.Figure:
    """∂m_i/∂g_kl on the slice as a matrix: row i, columns (k, l) grouped in blocks by k.

    Zeros off the diagonal blocks are shown as 0; absent events (no g_kl) are blank.
    """
    r, e = jac.rows, jac.events
    M = jac.J.reshape(r, r * e)
    text = _cell_texts(M)
    fig = go.Figure(
        go.Heatmap(
            z=np.where(M == 0, np.nan, M),
            x=[f"g[{k},{l}]" for k in range(r) for l in range(e)],
            y=[f"m[{i}]" for i in range(r)],
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=11),
            colorscale="Reds_r",
            showscale=False,
            hovertemplate="∂%{y}/∂%{x} = %{z:.6g}<extra></extra>",
        )
    )
    for k in range(1, r):  # the block boundaries: one block per row k of g
        fig.add_vline(x=k * e - 0.5, line=dict(color="#495057", width=1))
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        title=dict(text="∂m/∂g on the first rows and events", x=0, font=dict(size=13)),
        yaxis=dict(autorange="reversed"),
        plot_bgcolor="white",
    )
    return fig


def _sample(x, k: int = 3) -> str:
    """A scalar in full, or the first ``k`` present entries of an array, for a table cell."""
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 0:
        return num(float(arr), 10)
    flat = arr[np.isfinite(arr)].ravel()
    more = ", …" if flat.size > k else ""
    return "[" + ", ".join(num(float(v), 5) for v in flat[:k]) + more + "]"


def backprop_table(bp: core.Backprop) -> pd.DataFrame:
    """One row per node of the reverse pass: its shape, value and adjoint (first entries)."""
    return pd.DataFrame(
        {
            "node": [nd.name for nd in bp.nodes],
            "shape": [
                "scalar" if np.ndim(nd.value) == 0 else "×".join(map(str, np.shape(nd.value)))
                for nd in bp.nodes
            ],
            "value": [_sample(nd.value) for nd in bp.nodes],
            "adjoint ∂L/∂node": [_sample(nd.adjoint) for nd in bp.nodes],
        }
    )


def teaching_words(tp: core.TeachingPoint) -> str:
    """Why the page's default point was chosen (markdown)."""
    where = "the descent's start" if tp.is_start else "a point of the map's inner box"
    if not tp.all_apply:
        return (
            f"This is {where}; no point tried makes every check a real test on these data "
            "(see the notes at the lines)."
        )
    return (
        f"This is {where}, chosen because every check below is a real test here: s − y = "
        f"{num(tp.s - tp.y)} is far from 0, so dL = (s − y) ds and ∇L = (s − y)∇s are first "
        f"order and finite differences can resolve them; {tp.unsaturated:.0%} of the "
        "sigmoids are unsaturated (0.01 < σ(X) < 0.99), so F visibly moves. On the valley "
        "floor s = y, where a finished descent ends, dL vanishes to first order and the L "
        "line is no test: *Follow the descent* to see that."
    )
