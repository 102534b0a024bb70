"""Exports: trajectories and the grid as CSV, a figure as a standalone HTML file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from dashboard.figures import Path

if TYPE_CHECKING:
    import pandas as pd


def iterates(paths: Sequence[Path], upto: int | None = None) -> pd.DataFrame:
    """One row per optimizer and step: step, α, β, L, |∇L| (as the run recorded them)."""
    import pandas as pd  # here, not at import: pandas costs ~1 s and the first paint needs none

    frames = []
    for p in paths:
        k = len(p.params) if upto is None or upto < 0 else min(upto + 1, len(p.params))
        params = p.params[:k]
        gnorm = np.hypot(p.grad[:k, 0], p.grad[:k, 1]) if p.grad is not None else np.nan
        frames.append(
            pd.DataFrame(
                {
                    "optimizer": p.name,
                    "step": np.arange(k),
                    "alpha": params[:, 0],
                    "beta": params[:, 1],
                    "loss": p.loss[:k],
                    "grad_norm": gnorm,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["optimizer", "step", "alpha", "beta", "loss", "grad_norm"])
    return pd.concat(frames, ignore_index=True)


def grid_csv(grid) -> str:
    """The landscape in long form: alpha, beta, s, loss (one line per cell)."""
    import pandas as pd

    A, B = np.meshgrid(grid.alphas, grid.betas)
    df = pd.DataFrame(
        {"alpha": A.ravel(), "beta": B.ravel(), "s": grid.s.ravel(), "loss": grid.loss.ravel()}
    )
    return df.to_csv(index=False, float_format="%.17g")


def figure_html(fig: go.Figure) -> str:
    """A file that opens offline: plotly.js is embedded."""
    return fig.to_html(include_plotlyjs=True, full_html=True)
