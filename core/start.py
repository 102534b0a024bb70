"""Where a descent should start by default: somewhere it has a hill to come down."""

from __future__ import annotations

import numpy as np

from .landscape import landscape
from .model import Dataset

__all__ = ["suggest_start"]

_ROWS = 20_000


def suggest_start(
    ds: Dataset, box: tuple[float, float, float, float], n: int = 21
) -> tuple[float, float]:
    """A start in ``box`` = (amin, amax, bmin, bmax) from which descent shows something.

    The box's corners are often plateaus where σ saturates and ∇L ≈ 0 (a click
    there moves nothing), and near the valley floor there is little left to
    descend. So on an n × n grid over the inner 60% of the box, among the cells whose loss is in the
    upper half and whose slope (in box units: each axis scaled by its width, as the
    map shows it) is at least 30% of the steepest, take the highest.
    """
    amin, amax, bmin, bmax = (float(v) for v in box)
    if getattr(ds, "is_partitioned", False):  # on a Dask cluster: a sample, in memory
        return suggest_start(ds.sample(_ROWS), box, n)
    if ds.N > _ROWS:
        # A heuristic needs the shape of the landscape, not every row: every k-th row
        # with y scaled alike keeps it, for a fraction of the time on large data.
        k = -(-ds.N // _ROWS)
        sub = Dataset(ds.I[::k], ds.D[::k], ds.y * len(ds.I[::k]) / ds.N)
        return suggest_start(sub, box, n)
    # The inner 60% of the box: a path that starts there tends to stay in view.
    wa, wb = 0.2 * (amax - amin), 0.2 * (bmax - bmin)
    alphas = np.linspace(amin + wa, amax - wa, n)
    betas = np.linspace(bmin + wb, bmax - wb, n)
    grid = landscape(ds, alphas, betas, gradient=True)
    slope = np.hypot(grid.grad_alpha * (amax - amin), grid.grad_beta * (bmax - bmin))
    slope = np.where(np.isfinite(slope), slope, 0.0)
    steep = slope >= 0.3 * slope.max()
    high = grid.loss >= np.median(grid.loss)
    pick = steep & high if (steep & high).any() else steep
    score = np.where(pick, grid.loss, -np.inf)
    k, m = np.unravel_index(int(np.argmax(score)), score.shape)
    return float(np.round(alphas[m], 3)), float(np.round(betas[k], 3))
