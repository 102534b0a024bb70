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
CLICK_TRACE = "click to start here"


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


def log_loss(loss: np.ndarray) -> np.ndarray:
    """log10 L with a floor far below the data's scale, so exact zeros stay finite."""
    top = float(np.nanmax(loss)) if np.size(loss) else 1.0
    floor = max(top * 1e-14, 1e-300)
    return np.log10(np.maximum(loss, floor))


def _cut(path: Path, step: int | None) -> np.ndarray:
    k = len(path.params) - 1 if step is None or step < 0 else min(step, len(path.params) - 1)
    return path.params[: k + 1]


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
    click_points: int = 40,
    height: int = 560,
) -> go.Figure:
    """Contour map of L (Gb, Ga) over the box, the zero-loss curve s = y, paths and markers.

    ``grad`` = (∂L/∂α, ∂L/∂β) on the same grid draws −∇L arrows. An invisible
    ``click_points`` × ``click_points`` scatter on top makes the map clickable
    (Plotly contours emit no click events).
    """
    z = log_loss(loss) if log_color else loss
    fig = go.Figure()
    fig.add_trace(
        go.Contour(
            x=alphas,
            y=betas,
            z=z,
            colorscale="Viridis",
            ncontours=30,
            colorbar=dict(title=dict(text="log₁₀ L" if log_color else "L"), thickness=14),
            hovertemplate="α=%{x:.4g}<br>β=%{y:.4g}<br>"
            + ("log₁₀ L" if log_color else "L")
            + "=%{z:.4g}<extra></extra>",
            name="loss",
            line=dict(width=0.5),
        )
    )
    if zero_curve_in_view(s, y):
        fig.add_trace(
            go.Contour(
                x=alphas,
                y=betas,
                z=s,
                contours=dict(start=y, end=y, size=1.0, coloring="lines", showlabels=False),
                line=dict(color="white", width=3, dash="dash"),
                showscale=False,
                hoverinfo="skip",
                name="s = y: zero loss",
                showlegend=True,
            )
        )
    if grad is not None:
        _add_arrows(fig, alphas, betas, grad)
    fig.add_trace(_click_grid(alphas, betas, click_points))
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
    for path in paths:
        fig.add_trace(_path_trace(path, step))
        fig.add_trace(_head_trace(path, step))
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
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis=dict(title="α", range=[alphas[0], alphas[-1]], constrain="domain"),
        yaxis=dict(title="β", range=[betas[0], betas[-1]]),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0),
        clickmode="event+select",
        dragmode="zoom",
        uirevision="map",
    )
    return fig


def _path_trace(path: Path, step: int | None) -> go.Scatter:
    xy = _cut(path, step)
    return go.Scatter(
        x=xy[:, 0],
        y=xy[:, 1],
        mode="lines+markers",
        line=dict(color=color_of(path.name), width=2.5),
        marker=dict(size=5, color=color_of(path.name)),
        unselected=dict(marker=dict(opacity=1)),
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
        unselected=dict(marker=dict(opacity=1)),
        showlegend=False,
        legendgroup=path.name,
        hoverinfo="skip",
        name=f"{path.name} now",
    )


def _click_grid(alphas: np.ndarray, betas: np.ndarray, n: int) -> go.Scatter:
    ga = np.linspace(alphas[0], alphas[-1], n)
    gb = np.linspace(betas[0], betas[-1], n)
    A, B = np.meshgrid(ga, gb)
    invisible = dict(marker=dict(opacity=0))
    return go.Scatter(
        x=A.ravel(),
        y=B.ravel(),
        mode="markers",
        marker=dict(size=max(6, 480 // n), opacity=0, color="white"),
        selected=invisible,
        unselected=invisible,
        hovertemplate="click: start at α=%{x:.3g}, β=%{y:.3g}<extra></extra>",
        name=CLICK_TRACE,
        showlegend=False,
    )


def _add_arrows(fig: go.Figure, alphas, betas, grad, n: int = 16) -> None:
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
        )
    )


def add_animation(fig: go.Figure, paths: Sequence[Path], max_frames: int = 120) -> go.Figure:
    """Plotly frames that replay the paths step by step (client side, Play / Pause).

    Frames replace only the path traces; ``redraw=True`` keeps the contour drawn.
    """
    if not paths:
        return fig
    names = [t.name for t in fig.data]
    idx = []
    for path in paths:
        idx += [names.index(path.name), names.index(f"{path.name} now")]
    longest = max(len(p.params) for p in paths)
    steps = np.unique(np.linspace(0, longest - 1, min(max_frames, longest)).round().astype(int))
    frames = []
    for k in steps:
        data = []
        for path in paths:
            data += [_path_trace(path, int(k)), _head_trace(path, int(k))]
        frames.append(go.Frame(data=data, traces=idx, name=str(k)))
    fig.frames = frames
    play = dict(frame=dict(duration=80, redraw=True), fromcurrent=True, transition=dict(duration=0))
    fig.update_layout(
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0.0,
                y=-0.13,
                xanchor="left",
                yanchor="top",
                showactive=False,
                buttons=[
                    dict(label="▶ Play", method="animate", args=[None, play]),
                    dict(
                        label="■ Pause",
                        method="animate",
                        args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")],
                    ),
                ],
            )
        ],
        sliders=[
            dict(
                active=len(steps) - 1,
                x=0.18,
                y=-0.09,
                len=0.8,
                currentvalue=dict(prefix="step "),
                steps=[
                    dict(
                        label=str(k),
                        method="animate",
                        args=[
                            [str(k)],
                            dict(mode="immediate", frame=dict(duration=0, redraw=True)),
                        ],
                    )
                    for k in steps
                ],
            )
        ],
    )
    fig.update_layout(margin=dict(b=120))
    return fig


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
        scene=dict(xaxis_title="α", yaxis_title="β", zaxis_title="log₁₀ L" if log_color else "L"),
        uirevision="surface",
    )
    return fig


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
    positive = [p.loss[(p.loss > 0) & np.isfinite(p.loss)] for p in paths]
    use_log = any(len(v) for v in positive)
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        xaxis_title="step",
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
    fig = go.Figure(
        go.Heatmap(
            x=alphas,
            y=betas,
            z=end_alpha,
            colorscale="Twilight",
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
