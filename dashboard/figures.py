"""Plotly figures as pure functions of arrays: tests build them without a server.

Every function takes plain numbers (what `core` returned) and returns a
``plotly.graph_objects.Figure``; none computes model quantities itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import plotly.graph_objects as go

import core

# One colour per optimizer, from its row of core.REGISTRY (colour-blind-safe, see there).
PALETTE: Mapping[str, str] = MappingProxyType({n: spec.color for n, spec in core.REGISTRY.items()})
OTHER_COLOR = "#495057"  # anything drawn as a path that is not an optimizer


def color_of(name: str) -> str:
    return PALETTE.get(name, OTHER_COLOR)


@dataclass(frozen=True)
class Path:
    """One optimizer's trajectory as drawn: params (k+1, 2), loss (k+1,), grad (k+1, 2)."""

    name: str
    params: np.ndarray
    loss: np.ndarray
    grad: np.ndarray | None = None
    stop_reason: str = ""


def zero_curve_in_view(s: np.ndarray, y: float) -> bool:
    """Whether s = y somewhere on the grid: the zero-loss curve is then on the map."""
    return bool(np.nanmin(s) <= y <= np.nanmax(s))


# log10 L is floored at this percentile of the positive L on the grid: the few samples that
# happen to lie almost on the zero-loss curve would otherwise sink far below their
# neighbours and show as a string of dark beads instead of one smooth trough (the curve
# itself is drawn exactly, as its own line).
LOG_FLOOR_PERCENTILE = 1.0


def log_loss(loss: np.ndarray) -> np.ndarray:
    """log10 L, floored at max(the LOG_FLOOR_PERCENTILE-th percentile of the positive L,
    1e-12 · largest L), so the valley reads as a trough and exact zeros stay finite."""
    finite = loss[np.isfinite(loss)] if np.size(loss) else np.array([1.0])
    top = float(finite.max()) if finite.size else 1.0
    positive = finite[finite > 0]
    low = float(np.percentile(positive, LOG_FLOOR_PERCENTILE)) if positive.size else top
    floor = max(low, top * 1e-12, 1e-300)
    return np.log10(np.maximum(loss, floor))


def _cut(path: Path, step: int | None) -> np.ndarray:
    k = len(path.params) - 1 if step is None or step < 0 else min(step, len(path.params) - 1)
    return path.params[: k + 1]


def exit_point(params: np.ndarray, box: Sequence[float]) -> tuple[tuple[float, float], int] | None:
    """Where a path first leaves ``box``: the crossing on the box's edge and the step of the
    first point outside, or None when it stays inside. params (k+1, 2)."""
    amin, amax, bmin, bmax = box
    a, b = params[:, 0], params[:, 1]
    outside = ~((amin <= a) & (a <= amax) & (bmin <= b) & (b <= bmax))
    if not outside.any():
        return None
    i = int(np.argmax(outside))
    if i == 0:
        return (float(a[0]), float(b[0])), 0
    (a0, b0), (a1, b1) = params[i - 1], params[i]
    if not (np.isfinite(a1) and np.isfinite(b1)):  # flew off: mark the last point inside
        return (float(a0), float(b0)), i
    # The largest t in [0, 1] that keeps a0 + t (a1 - a0) (and b) inside the box.
    t = 1.0
    for lo, hi, x0, x1 in ((amin, amax, a0, a1), (bmin, bmax, b0, b1)):
        if x1 > hi:
            t = min(t, (hi - x0) / (x1 - x0))
        elif x1 < lo:
            t = min(t, (lo - x0) / (x1 - x0))
    return (float(a0 + t * (a1 - a0)), float(b0 + t * (b1 - b0))), i


# The legend sits on a dark band under the map, so white symbols (start, −∇L) stay visible.
LEGEND = dict(
    orientation="h",
    yanchor="top",
    y=-0.14,  # below the α axis title
    x=0,
    bgcolor="#343a40",
    font=dict(color="#f8f9fa"),
    bordercolor="#343a40",
    borderwidth=4,
)


def map_base(
    alphas: np.ndarray,
    betas: np.ndarray,
    loss: np.ndarray,
    s: np.ndarray,
    y: float,
    *,
    log_color: bool = True,
    truth: tuple[float, float] | None = None,
    grad: tuple[np.ndarray, np.ndarray] | None = None,
    arrows: bool = True,
    height: int = 560,
) -> go.Figure:
    """The map without paths: the loss contour in log and in linear colour (meta "log" /
    "linear", one of them visible), the zero-loss curve s = y, −∇L arrows (from ``grad`` =
    (∂L/∂α, ∂L/∂β) on the grid; "legendonly" unless ``arrows``) and the truth.

    Grids travel as float32: the map shows 4 significant digits, so float64 would only
    double the bytes.
    """
    fig = go.Figure()
    _add_contours(fig, alphas.astype(np.float32), betas.astype(np.float32), loss, s, y, log_color)
    if grad is not None:
        _add_arrows(fig, alphas, betas, grad, visible=True if arrows else "legendonly")
    if truth is not None:
        fig.add_trace(
            go.Scatter(
                x=[truth[0]],
                y=[truth[1]],
                mode="markers",
                marker=dict(
                    symbol="star", size=16, color="white", line=dict(color="black", width=1.5)
                ),
                name="true (α*, β*)",
                hovertemplate="true α*=%{x:.4g}, β*=%{y:.4g}<extra></extra>",
            )
        )
    fig.update_layout(
        height=height,
        margin=dict(l=50, r=10, t=10, b=40),
        xaxis=dict(title="α", range=[alphas[0], alphas[-1]], constrain="domain"),
        yaxis=dict(title="β", range=[betas[0], betas[-1]]),
        legend=LEGEND,
        dragmode="zoom",
        uirevision="map",
    )
    return fig


def _add_contours(fig: go.Figure, alphas, betas, loss, s, y: float, log_color: bool) -> None:
    """The loss in log and in linear colour (one visible) and the zero-loss curve s = y."""
    for meta, z, title in (
        ("log", log_loss(loss), "log₁₀ L"),
        ("linear", loss, "L"),
    ):
        fig.add_trace(
            go.Contour(
                x=alphas,
                y=betas,
                z=np.asarray(z, dtype=np.float32),
                colorscale="Viridis",
                ncontours=30,
                colorbar=dict(title=dict(text=title), thickness=14),
                hovertemplate="α=%{x:.4g}<br>β=%{y:.4g}<br>"
                + title
                + "=%{z:.4g}<br>click: start here<extra></extra>",
                name="loss",
                meta=meta,
                visible=(meta == "log") == log_color,
                line=dict(width=0.5),
            )
        )
    if zero_curve_in_view(s, y):
        fig.add_trace(
            go.Contour(
                x=alphas,
                y=betas,
                z=np.asarray(s, dtype=np.float32),
                # coloring="lines" takes its colour from the colour scale, not line.color.
                contours=dict(start=y, end=y, size=1.0, coloring="lines", showlabels=False),
                colorscale=[[0, "white"], [1, "white"]],
                line=dict(width=3, dash="dash"),
                showscale=False,
                hoverinfo="skip",
                name="s = y: zero loss",
                showlegend=True,
            )
        )


def map_figure(
    alphas: np.ndarray,
    betas: np.ndarray,
    loss: np.ndarray,
    s: np.ndarray,
    y: float,
    *,
    log_color: bool = True,
    truth: tuple[float, float] | None = None,
    paths: Sequence[Path] = (),
    step: int | None = None,
    start: tuple[float, float] | None = None,
    grad: tuple[np.ndarray, np.ndarray] | None = None,
    height: int = 560,
) -> go.Figure:
    """The whole map as one static figure (the HTML download, the coarse first picture):
    :func:`map_base` plus the paths up to ``step``, where they left the box, and the start."""
    fig = map_base(
        alphas, betas, loss, s, y, log_color=log_color, truth=truth, grad=grad, height=height
    )
    box = (alphas[0], alphas[-1], betas[0], betas[-1])
    for path in paths:
        fig.add_trace(_path_trace(path, step))
        fig.add_trace(_head_trace(path, step))
        out = exit_point(_cut(path, step), box)
        if out is not None:
            fig.add_trace(_exit_trace(path.name, out[0]))
    if start is not None:
        fig.add_trace(
            go.Scatter(
                x=[start[0]],
                y=[start[1]],
                mode="markers",
                marker=dict(symbol="circle-open", size=14, color="white", line=dict(width=3)),
                name="start",
                hovertemplate="start α=%{x:.4g}, β=%{y:.4g}<extra></extra>",
            )
        )
    return fig


def _exit_trace(name: str, where: tuple[float, float]) -> go.Scatter:
    return go.Scatter(
        x=[where[0]],
        y=[where[1]],
        mode="markers",
        marker=dict(symbol="x", size=16, color=color_of(name), line=dict(color="white", width=1.5)),
        name=f"{name} left the box",
        legendgroup=name,
        showlegend=False,
    )


def _path_trace(path: Path, step: int | None) -> go.Scatter:
    xy = _cut(path, step)
    return go.Scatter(
        x=xy[:, 0],
        y=xy[:, 1],
        mode="lines+markers",
        line=dict(color=color_of(path.name), width=2.5),
        marker=dict(size=5, color=color_of(path.name)),
        name=path.name,
        legendgroup=path.name,
        hovertemplate=path.name + " step %{pointNumber}: α=%{x:.5g}, β=%{y:.5g}<extra></extra>",
    )


def _head_trace(path: Path, step: int | None) -> go.Scatter:
    xy = _cut(path, step)[-1:]
    return go.Scatter(
        x=xy[:, 0],
        y=xy[:, 1],
        mode="markers",
        marker=dict(size=13, color=color_of(path.name), line=dict(color="white", width=2)),
        showlegend=False,
        legendgroup=path.name,
        hoverinfo="skip",
        name=f"{path.name} now",
    )


def _add_arrows(fig: go.Figure, alphas, betas, grad, n: int = 16, visible=True) -> None:
    """−∇L as short arrows on an n × n subgrid, scaled in box units so both axes read alike."""
    ga, gb = grad
    ia = np.unique(np.linspace(0, len(alphas) - 1, min(n, len(alphas))).round().astype(int))
    ib = np.unique(np.linspace(0, len(betas) - 1, min(n, len(betas))).round().astype(int))
    span_a = float(alphas[-1] - alphas[0]) or 1.0
    span_b = float(betas[-1] - betas[0]) or 1.0
    xs, ys, tips_x, tips_y, angles = [], [], [], [], []
    for k in ib:
        for m in ia:
            u, v = -ga[k, m] / span_a, -gb[k, m] / span_b
            norm = np.hypot(u, v)
            if not np.isfinite(norm) or norm == 0:
                continue
            length = 0.5 / max(len(ia), len(ib))
            x0, y0 = alphas[m], betas[k]
            x1, y1 = x0 + length * u / norm * span_a, y0 + length * v / norm * span_b
            xs += [x0, x1, None]
            ys += [y0, y1, None]
            tips_x.append(x1)
            tips_y.append(y1)
            angles.append(float(np.degrees(np.arctan2(u, v))))
    style = dict(color="rgba(255,255,255,0.85)")
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            line=dict(width=1.2, **style),
            hoverinfo="skip",
            name="−∇L",
            legendgroup="arrows",
            visible=visible,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=tips_x,
            y=tips_y,
            mode="markers",
            hoverinfo="skip",
            showlegend=False,
            marker=dict(symbol="triangle-up", size=7, angle=angles, **style),
            legendgroup="arrows",
            visible=visible,
        )
    )


def surface_figure(
    alphas: np.ndarray,
    betas: np.ndarray,
    loss: np.ndarray,
    *,
    log_color: bool = True,
    paths: Sequence[Path] = (),
    step: int | None = None,
    height: int = 560,
) -> go.Figure:
    """3D surface of L (or log10 L) with the paths drawn on it."""
    z = log_loss(loss) if log_color else loss
    fig = go.Figure(
        go.Surface(x=alphas, y=betas, z=z, colorscale="Viridis", showscale=False, opacity=0.92)
    )
    for path in paths:
        k = len(_cut(path, step))
        pz = log_loss(path.loss[:k]) if log_color else path.loss[:k]
        fig.add_trace(
            go.Scatter3d(
                x=path.params[:k, 0],
                y=path.params[:k, 1],
                z=pz,
                mode="lines+markers",
                line=dict(color=color_of(path.name), width=5),
                marker=dict(size=2.5, color=color_of(path.name)),
                name=path.name,
            )
        )
    fig.update_layout(
        height=height,
        margin=dict(l=0, r=0, t=30, b=0),
        # Fixed to the box: a path that flew off would otherwise stretch the axes and
        # shrink the surface to a patch. Points outside are clipped (not drawn).
        scene=dict(
            xaxis=dict(title="α", range=[float(alphas[0]), float(alphas[-1])]),
            yaxis=dict(title="β", range=[float(betas[0]), float(betas[-1])]),
            zaxis=dict(title="log₁₀ L" if log_color else "L", range=_z_range(z)),
        ),
        uirevision="surface",
    )
    return fig


def nice_step(raw: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 25, 50, 100, ... that is >= raw: whole-step ticks."""
    if raw <= 1:
        return 1
    mag = 10 ** int(np.floor(np.log10(raw)))
    factors = (1, 2, 2.5, 5, 10) if mag >= 10 else (1, 2, 5, 10)
    return int(next(f * mag for f in factors if f * mag >= raw))


def _z_range(z: np.ndarray) -> list[float]:
    finite = z[np.isfinite(z)]
    return [float(finite.min()), float(finite.max())] if finite.size else [0.0, 1.0]


def loss_figure(paths: Sequence[Path], step: int | None = None, height: int = 300) -> go.Figure:
    """L against step for every path, log scale; a vertical line at the slider's step."""
    fig = go.Figure()
    for path in paths:
        fig.add_trace(
            go.Scatter(
                x=np.arange(len(path.loss)),
                y=path.loss,
                mode="lines",
                name=path.name,
                line=dict(color=color_of(path.name), width=2),
            )
        )
    if step is not None and step >= 0:
        fig.add_vline(x=step, line=dict(color="#868e96", dash="dot"))
    longest = max((len(p.loss) for p in paths), default=1)
    positive = [p.loss[(p.loss > 0) & np.isfinite(p.loss)] for p in paths]
    use_log = any(len(v) for v in positive)
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        # Steps are whole numbers: no tick at 2.5.
        xaxis=dict(title="step", tickformat="d", dtick=nice_step((longest - 1) / 8)),
        yaxis=dict(title="L", type="log" if use_log else "linear", exponentformat="power"),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
    )
    return fig


def basin_figure(
    alphas: np.ndarray,
    betas: np.ndarray,
    end: np.ndarray,
    final_loss: np.ndarray,
    converged: np.ndarray,
    *,
    name: str,
    height: int = 460,
) -> go.Figure:
    """Starts (Gb, Ga) coloured by where each run ended (its end α) and hatched when not converged.

    end : (Gb, Ga, 2); final_loss, converged : (Gb, Ga)
    """
    end_alpha = np.where(np.isfinite(end[..., 0]), end[..., 0], np.nan)
    # The colour range comes from the runs that converged: one far-off failure would
    # otherwise squeeze every converged end into one colour.
    good = end_alpha[converged.astype(bool) & np.isfinite(end_alpha)]
    zrange = dict(zmin=float(good.min()), zmax=float(good.max())) if good.size else {}
    fig = go.Figure(
        go.Heatmap(
            x=alphas,
            y=betas,
            z=end_alpha,
            colorscale="Viridis",  # sequential: end α is a linear quantity, not an angle
            **zrange,
            colorbar=dict(title=dict(text="end α"), thickness=14),
            customdata=np.stack([end[..., 1], final_loss, converged.astype(float)], axis=-1),
            hovertemplate="start α=%{x:.3g}, β=%{y:.3g}<br>"
            "ends at α=%{z:.4g}, β=%{customdata[0]:.4g}<br>"
            "final L=%{customdata[1]:.3g}<br>converged=%{customdata[2]}<extra></extra>",
            name="end α",
        )
    )
    A, B = np.meshgrid(alphas, betas)
    bad = ~converged.astype(bool)
    if bad.any():
        fig.add_trace(
            go.Scatter(
                x=A[bad],
                y=B[bad],
                mode="markers",
                marker=dict(symbol="x-thin", size=8, line=dict(width=1.5, color="black")),
                name="not converged",
                hoverinfo="skip",
            )
        )
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        title=dict(text=f"Basin map: where {name} ends from each start", x=0),
        xaxis_title="start α",
        yaxis_title="start β",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0.6),
    )
    return fig


def histogram_figure(I: np.ndarray, D: np.ndarray, height: int = 300) -> go.Figure:
    """Overlaid histograms of the present values of I and D."""
    fig = go.Figure()
    for name, arr, color in (("I", I, "#1971c2"), ("D", D, "#e8590c")):
        values = arr[np.isfinite(arr)]
        fig.add_trace(go.Histogram(x=values, name=name, opacity=0.6, marker_color=color, nbinsx=60))
    fig.update_layout(
        barmode="overlay",
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis_title="value",
        yaxis_title="events",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
    )
    return fig
