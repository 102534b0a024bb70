"""The dashboard's only door to `core`: cached calls, and adapters to figure inputs.

Heavy results sit behind ``st.cache_data`` (the landscape behind a small shared
LRU, see ``_Grids``). A Dataset is passed as ``_ds`` (not hashed: hashing
megabytes on every rerun would cost more than it saves) next to its content
fingerprint, which is the real cache key.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st

import core
from dashboard.figures import Path


@dataclass(frozen=True)
class Grid:
    """What the map needs: axes (Ga,), (Gb,); s, loss (Gb, Ga); the gradient field or None."""

    alphas: np.ndarray
    betas: np.ndarray
    s: np.ndarray
    loss: np.ndarray
    grad: tuple[np.ndarray, np.ndarray] | None


@st.cache_resource(show_spinner=False)
def warm_up_in_background() -> threading.Thread:
    """Once per server process, in a thread: load (the first time after an install,
    compile) the numba kernels, so the first large grid does not wait for them (small
    grids use numpy until then)."""
    thread = threading.Thread(target=core.warm_up, name="losslens-warm-up", daemon=True)
    thread.start()
    return thread


def preload() -> None:
    """Import pandas (~1 s; tables and the Data page need it) after the first paint
    is on screen. Not in a thread: pandas half-imported in one thread breaks another."""
    import pandas  # noqa: F401


def axes(box: tuple[float, float, float, float], res: int) -> tuple[np.ndarray, np.ndarray]:
    amin, amax, bmin, bmax = box
    return np.linspace(amin, amax, res), np.linspace(bmin, bmax, res)


class _Grids:
    """A small LRU of finished grids, shared by all sessions of this server.

    Why not ``st.cache_data``: the grid is computed in one ``core.landscape`` call
    (so the exp-table trick of its kernel works across the whole grid) with a
    progress callback that moves a bar on the page, and a cache_data function
    may not draw on elements created outside it (its replay would break). Grids
    are read-only arrays keyed by content, so sharing them is safe.
    """

    def __init__(self, max_bytes: int = 512 * 2**20) -> None:
        self.max_bytes = max_bytes
        self.items: OrderedDict[tuple, Grid] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> Grid | None:
        with self.lock:
            grid = self.items.get(key)
            if grid is not None:
                self.items.move_to_end(key)
            return grid

    def put(self, key: tuple, grid: Grid) -> None:
        with self.lock:
            self.items[key] = grid
            self.items.move_to_end(key)
            while len(self.items) > 1 and sum(_nbytes(g) for g in self.items.values()) > (
                self.max_bytes
            ):
                self.items.popitem(last=False)


def _nbytes(grid: Grid) -> int:
    extra = 0 if grid.grad is None else grid.grad[0].nbytes + grid.grad[1].nbytes
    return grid.s.nbytes + grid.loss.nbytes + extra


@st.cache_resource(show_spinner=False)
def _grids() -> _Grids:
    return _Grids()


def _key(ds: core.Dataset, box, res: int, gradient: bool) -> tuple:
    return (ds.fingerprint, tuple(float(v) for v in box), int(res), bool(gradient))


def grid_is_cached(ds: core.Dataset, box, res: int, gradient: bool) -> bool:
    return _grids().get(_key(ds, box, res, gradient)) is not None


def landscape(
    ds: core.Dataset,
    box: tuple[float, float, float, float],
    res: int,
    gradient: bool,
    progress: Callable[[float], None] | None = None,
) -> Grid:
    """The grid over ``box`` from the cache, or computed in one core call with progress.

    A rerun that Streamlit interrupts (the user moved a control) stops the
    computation at the next progress call, where the page draws.
    """
    key = _key(ds, box, res, gradient)
    grid = _grids().get(key)
    if grid is None:
        alphas, betas = axes(box, res)
        g = core.landscape(ds, alphas, betas, gradient=gradient, progress=progress)
        grad = (g.grad_alpha, g.grad_beta) if gradient else None
        grid = Grid(alphas, betas, g.s, g.loss, grad)
        _grids().put(key, grid)
    return grid


def coarse_landscape(ds: core.Dataset, box, res: int, size: int = 25) -> Grid:
    """A quick first picture while the full grid computes: every few cells of the
    full grid (core.coarse_grid), so the values it shows are the final ones."""
    alphas, betas = core.coarse_grid(*axes(box, res), size=size)
    g = core.landscape(ds, alphas, betas)
    return Grid(alphas, betas, g.s, g.loss, None)


def cost(ds: core.Dataset, res: int) -> float:
    """Cells × events: what the full grid costs, to decide on a coarse first paint."""
    return float(ds.N) * ds.E * res * res


# -- optimizers ----------------------------------------------------------------------


def hyperparams(name: str) -> list:
    """The optimizer's hyper-parameter specs (name, default, range, help)."""
    return list(core.HYPERPARAMS[name])


def defaults(ds: core.Dataset, name: str, start: tuple[float, float]) -> dict[str, float]:
    return dict(core.default_hyperparams(name, ds, start))


def new_run(ds: core.Dataset, name: str, start, hp: dict):
    return core.start_run(ds, name, start, **hp)


def advance(ds: core.Dataset, run, k: int):
    return core.advance(ds, run, k)


def path_of(name: str, run) -> Path:
    return Path(name, run.params, run.loss, run.grad, run.stop_reason or "")


@st.cache_data(show_spinner=False, max_entries=16)
def basin(_ds: core.Dataset, key: str, name: str, hp: tuple, box, n: int, steps: int):
    """Run ``name`` from an n × n grid of starts: end (n, n, 2), loss, converged (n, n)."""
    alphas, betas = axes(box, n)
    A, B = np.meshgrid(alphas, betas)
    starts = np.stack([A.ravel(), B.ravel()], axis=1)
    res = core.descend_many(_ds, name, starts, steps=steps, **dict(hp))
    return (
        alphas,
        betas,
        np.asarray(res.end).reshape(n, n, 2),
        np.asarray(res.loss).reshape(n, n),
        np.asarray(res.converged).reshape(n, n),
    )


# -- data ------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=32)
def preset(name: str, seed: int) -> core.Dataset:
    return core.make_preset(name, seed=seed)


@st.cache_data(show_spinner=False, max_entries=32)
def report(_ds: core.Dataset, key: str, box):
    return core.sanity_report(_ds, box=tuple(box))
