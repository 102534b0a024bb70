"""Every cache of the dashboard, and every core call that reports progress, in one place.

The rule (why this module exists): a core call whose result must survive reruns -- it
is heavy (a landscape, a basin map, a sanity report, the derivation's checks) and the
page redraws on every click -- goes through here, behind ``st.cache_data`` or the
shared grid LRU (``_Grids``). Pages call core directly for everything else: constants
and descriptions (OPTIMIZERS, HYPERPARAMS, PRESETS), and one-shot actions that a click
triggers and whose result goes into session state (generate, load a file, start or
advance a run). Such calls would gain nothing from a wrapper here, and a wrapper that
only passes its arguments on is one more name to keep in step with core.

A Dataset is passed as ``_ds`` (not hashed: hashing megabytes on every rerun would
cost more than it saves) next to its content fingerprint, which is the real cache key.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import streamlit as st

import core


def warm_up_in_background() -> threading.Thread:
    """Start core's one background warm-up (once per process) after the first paint, so
    the first large grid does not wait for numba (small grids use numpy until then)."""
    return core.engine.warm_up_in_background()


def preload() -> None:
    """Import pandas (~1 s; tables and the Data page need it) after the first paint
    is on screen. Not in a thread: pandas half-imported in one thread breaks another."""
    import pandas  # noqa: F401


# -- fair sharing ------------------------------------------------------------------------

# Heavy jobs (a big grid, a basin map) that may run at once on this server; the rest wait
# their turn, so one user's 100,000-row grid leaves a core for everyone else's Step.
HEAVY_JOBS = max(1, int(os.environ.get("LOSSLENS_HEAVY_JOBS", "1")))


@st.cache_resource(show_spinner=False)
def _heavy_slots() -> threading.BoundedSemaphore:
    """One semaphore per server process, shared by every session."""
    return threading.BoundedSemaphore(HEAVY_JOBS)


@contextmanager
def heavy_job(waiting: Callable[[str], None] | None = None, poll: float = 0.5) -> Iterator[None]:
    """Hold one of the server's heavy-job slots for the block.

    waiting : called (again every ``poll`` seconds) while another session's job holds the
        slots. It should draw on the page: each draw is where Streamlit stops a script whose
        tab was closed or whose user moved on, so a waiting job never runs for nobody.
    """
    slots = _heavy_slots()
    if not slots.acquire(blocking=False):
        t0 = time.monotonic()
        while not slots.acquire(timeout=poll):
            if waiting is not None:
                waiting(
                    f"Waiting for another user's job to finish ({time.monotonic() - t0:.0f} s)…"
                )
    try:
        yield
    finally:
        slots.release()


def axes(box: tuple[float, float, float, float], res: int) -> tuple[np.ndarray, np.ndarray]:
    """(res,) α values and (res,) β values spanning ``box``."""
    amin, amax, bmin, bmax = box
    return np.linspace(amin, amax, res), np.linspace(bmin, bmax, res)


class _Grids:
    """A small LRU of finished grids (core.Landscape), shared by all sessions of this server.

    Why not ``st.cache_data``: the grid is computed in one core call (so the exp-table
    trick of its kernel works across the whole grid) with a progress callback that
    moves a bar on the page, and a cache_data function may not draw on elements
    created outside it (its replay would break). Grids are read-only arrays keyed by
    content, so sharing them is safe.
    """

    def __init__(self, max_bytes: int = 512 * 2**20) -> None:
        self.max_bytes = max_bytes
        self.items: OrderedDict[tuple, core.Landscape] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> core.Landscape | None:
        with self.lock:
            grid = self.items.get(key)
            if grid is not None:
                self.items.move_to_end(key)
            return grid

    def put(self, key: tuple, grid: core.Landscape) -> None:
        with self.lock:
            self.items[key] = grid
            self.items.move_to_end(key)
            while len(self.items) > 1 and sum(_nbytes(g) for g in self.items.values()) > (
                self.max_bytes
            ):
                self.items.popitem(last=False)


def _nbytes(grid: core.Landscape) -> int:
    arrays = (grid.s, grid.loss, grid.grad_alpha, grid.grad_beta)
    return sum(a.nbytes for a in arrays if a is not None)


@st.cache_resource(show_spinner=False)
def _grids() -> _Grids:
    return _Grids()


# Cells × events from which a coarse first picture is worth its cost (~1 s of work).
COARSE_FROM = 3e7
# Cells × events from which a grid counts as a heavy job (~0.3 s of work and more).
HEAVY_FROM = 1e7
# The first map of data on a cluster: at most this many points per axis.
CLUSTER_COARSE = 16


def landscape(
    ds: core.Dataset,
    box: tuple[float, float, float, float],
    res: int,
    gradient: bool,
    progress: Callable[[float], None] | None = None,
    coarse: Callable[[core.Landscape], None] | None = None,
    waiting: Callable[[str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> core.Landscape:
    """The (res, res) grid over ``box`` from the cache, or computed with progress.

    coarse : for a big grid that is not cached (N·E·res² > COARSE_FROM), called first
        with a quick coarse picture whose cells are cells of the full grid
        (core.landscape_progressive), so the values it shows are the final ones.

    waiting : shown while a big grid (N·E·res² > HEAVY_FROM) waits for a heavy-job slot.

    Data on a Dask cluster (core.PartitionedDataset) always get a CLUSTER_COARSE ×
    CLUSTER_COARSE map first: every pass over a cluster costs seconds of overhead alone.

    cancel : called while the grid is computed (about every 0.1 s on a cluster); True
        stops it with core.Cancelled, and nothing is cached.

    A rerun that Streamlit interrupts (the user moved a control) stops the
    computation at the next progress call, where the page draws (on a cluster: at the
    next ``cancel`` call too, and the cluster's tasks are cancelled).
    """
    key = (ds.fingerprint, tuple(float(v) for v in box), int(res), bool(gradient))
    grid = _grids().get(key)
    if grid is not None:
        return grid
    alphas, betas = axes(box, res)
    cluster = getattr(ds, "is_partitioned", False)
    big = coarse is not None and float(ds.N) * ds.E * res * res > COARSE_FROM
    # size=res: coarse_grid keeps every cell, so the generator yields the full grid only.
    size = (CLUSTER_COARSE if cluster else 25) if big or (cluster and coarse is not None) else res
    heavy = float(ds.N) * ds.E * res * res > HEAVY_FROM
    with heavy_job(waiting) if heavy else _nothing():
        for grid in core.landscape_progressive(
            ds, alphas, betas, size=size, gradient=gradient, progress=progress, cancel=cancel
        ):
            if grid.shape != (res, res):
                coarse(grid)
    _grids().put(key, grid)
    return grid


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def grid_key(ds: core.Dataset, box, res: int) -> str:
    """The name the browser keeps a grid's figure under (dashboard/explore_map.py)."""
    return repr((ds.fingerprint, tuple(float(v) for v in box), int(res)))


def map_base_for(grid: core.Landscape, ds: core.Dataset, key: str, log_color: bool, arrows: bool):
    """:func:`map_base` for ``ds``'s grid: its y (the grid's own: a landscape file may
    hold another) and ds's truth as the figure wants them."""
    truth = None if ds.truth is None else tuple(float(v) for v in ds.truth)
    return map_base(grid, key, float(grid.y), truth, log_color, arrows)


@st.cache_resource(show_spinner=False, max_entries=16)
def map_base(
    _grid: core.Landscape, key: str, y: float, truth, log_color: bool, arrows: bool
) -> dict:
    """The map's grid figure as JSON (what dashboard/explore_map.py sends once per grid),
    built once per grid and first view for all sessions (~40 ms each time otherwise).
    cache_resource: the dict is only read (serialised), so sessions share it uncopied."""
    # Not explore_map: the server imports this module outside a page run (dashboard/serve.py),
    # where the map's component files would not be registered.
    from dashboard import figures

    fig = figures.map_base(
        _grid.alphas,
        _grid.betas,
        _grid.loss,
        _grid.s,
        y,
        log_color=log_color,
        truth=truth,
        grad=(_grid.grad_alpha, _grid.grad_beta),
        arrows=arrows,
    )
    return json.loads(fig.to_json())  # arrays as typed-array specs (bdata, float32)


@st.cache_resource(show_spinner=False)
def _basins() -> tuple[threading.Lock, OrderedDict]:
    """Finished basin maps, shared by all sessions (read-only arrays), newest last."""
    return threading.Lock(), OrderedDict()


def basin(
    ds: core.Dataset,
    key: str,
    name: str,
    hp: tuple,
    box,
    n: int,
    steps: int,
    progress: Callable[[float], None] | None = None,
):
    """Run ``name`` from an n × n grid of starts: end (n, n, 2), loss, converged (n, n).

    A heavy job: it waits for a slot (a finished map never waits). ``progress`` draws on
    the page as steps finish: each draw is where Streamlit stops a run whose tab closed
    or whose user pressed something else, so an abandoned map stops within a step.
    """
    (lock, cache), cache_key = _basins(), (key, name, hp, tuple(box), n, steps)
    with lock:
        if cache_key in cache:
            cache.move_to_end(cache_key)
            return cache[cache_key]
    alphas, betas = axes(box, n)
    A, B = np.meshgrid(alphas, betas)
    starts = np.stack([A.ravel(), B.ravel()], axis=1)
    waiting = None if progress is None else (lambda text: progress(0.0))
    with heavy_job(waiting=waiting):
        res = core.descend_many(ds, name, starts, steps=steps, progress=progress, **dict(hp))
    out = (
        alphas,
        betas,
        np.asarray(res.end).reshape(n, n, 2),
        np.asarray(res.loss).reshape(n, n),
        np.asarray(res.converged).reshape(n, n),
    )
    with lock:
        cache[cache_key] = out
        while len(cache) > 16:
            cache.popitem(last=False)
    return out


@st.cache_data(show_spinner=False, max_entries=64)
def default_hyperparams(_ds: core.Dataset, key: str, name: str, start: tuple) -> dict:
    """core.default_hyperparams, once per data, optimizer and start: on a cluster each
    call is a pass over the data, and the page asks on every rerun."""
    return core.default_hyperparams(name, _ds, start)


# -- data ------------------------------------------------------------------------------


@st.cache_resource(show_spinner="Opening the partitioned data on the cluster…")
def cluster_data(path: str, y: float, scheduler: str) -> core.PartitionedDataset:
    """Once per server: the partitions stay persisted on the workers between reruns and
    sessions (a PartitionedDataset is read-only)."""
    return core.open_dataset(path, y=y, client=scheduler or None)


@st.cache_data(show_spinner=False, max_entries=16)
def grid_matches(_ds: core.Dataset, key: str, _grid: core.Landscape, grid_key: str) -> bool:
    """Whether ``_ds`` gives the landscape file's s at three of its cells (its minimum and
    two corners, to 1e-9 relative): then the file is a map of these data, and descent on
    them can be drawn over it. One pass over the data (a cluster's: one task a partition)."""
    rows, cols = _grid.loss.shape
    k, m = np.unravel_index(int(np.nanargmin(_grid.loss)), _grid.loss.shape)
    cells = [(k, m), (0, 0), (rows - 1, cols - 1)]
    a = np.array([_grid.alphas[j] for _, j in cells])
    b = np.array([_grid.betas[i] for i, _ in cells])
    want = np.array([_grid.s[i, j] for i, j in cells])
    if not np.isclose(float(_ds.y), float(_grid.y), rtol=1e-12, atol=0):
        return False
    got = core.evaluate_points(_ds, a, b).s
    return bool(np.allclose(got, want, rtol=1e-9, atol=1e-300))


@st.cache_data(show_spinner=False, max_entries=32)
def preset(name: str, seed: int) -> core.Dataset:
    return core.make_preset(name, seed=seed)


@st.cache_data(show_spinner=False, max_entries=32)
def report(_ds: core.Dataset, key: str, box):
    return core.sanity_report(_ds, box=tuple(box))


@st.cache_resource(show_spinner=False)
def _reports() -> tuple[threading.Lock, OrderedDict]:
    """Finished sanity reports of data on a cluster, shared by all sessions, newest last."""
    return threading.Lock(), OrderedDict()


def cluster_report(
    ds: core.PartitionedDataset, box, compute_it: bool = False
) -> core.Report | None:
    """The sanity report of data on a cluster from the cache, else (``compute_it``)
    computed, else None. Not st.cache_data: the caller's progress bar moves while it
    runs (core.partitioned.watching), and a cache_data replay cannot draw on it."""
    (lock, cache), key = _reports(), (ds.fingerprint, tuple(float(v) for v in box))
    with lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    if not compute_it:
        return None
    rep = core.sanity_report(ds, box=tuple(box))
    with lock:
        cache[key] = rep
        while len(cache) > 16:
            cache.popitem(last=False)
    return rep


def landscape_cached(ds: core.Dataset, box, res: int, gradient: bool) -> bool:
    """Whether :func:`landscape` has this grid (then it returns it at once)."""
    key = (ds.fingerprint, tuple(float(v) for v in box), int(res), bool(gradient))
    return _grids().get(key) is not None


# -- the derivation page ---------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=32)
def derive(_ds: core.Dataset, key: str, alpha: float, beta: float, dalpha: float, dbeta: float):
    return core.derive(_ds, alpha, beta, dalpha=dalpha, dbeta=dbeta)


@st.cache_data(show_spinner=False, max_entries=32)
def gradient_check(_ds: core.Dataset, key: str, alpha: float, beta: float):
    return core.gradient_check(_ds, alpha, beta)


@st.cache_data(show_spinner=False, max_entries=8)
def trajectory_check(_ds: core.Dataset, key: str, params: np.ndarray, max_points: int):
    """params (k+1, 2): the descent's path; at most ``max_points`` of it are checked."""
    return core.trajectory_check(_ds, params, max_points=max_points)


@st.cache_data(show_spinner=False, max_entries=32)
def s_forms(_ds: core.Dataset, key: str, alpha: float, beta: float):
    return core.s_forms(_ds, alpha, beta)


@st.cache_data(show_spinner=False, max_entries=4)
def default_step(_ds: core.Dataset, key: str, x_step: float) -> tuple[float, float]:
    """(dα, dβ) that move no entry of X by more than ``x_step``."""
    h = core.default_step(_ds, x_step)
    return float(h[0]), float(h[1])
