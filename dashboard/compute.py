"""The dashboard's only door to `core`: cached calls, and adapters to figure inputs.

Heavy results sit behind ``st.cache_data``. A Dataset is passed as ``_ds`` (not
hashed: hashing megabytes on every rerun would cost more than it saves) next to
its content fingerprint, which is the real cache key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st

import core
from dashboard.figures import Path

# Rows of the β axis per cached chunk: small enough for a smooth progress bar.
CHUNK_CELLS = 2_000_000  # N·E·Ga·rows per chunk, roughly a tenth of a second


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
    """Once per server process: load (first time after an install: compile) the numba
    kernels in a thread, so the first large grid does not wait for them. Small grids
    use numpy until then."""
    thread = threading.Thread(target=core.warm_up, name="losslens-warm-up", daemon=True)
    thread.start()
    return thread


def axes(box: tuple[float, float, float, float], res: int) -> tuple[np.ndarray, np.ndarray]:
    amin, amax, bmin, bmax = box
    return np.linspace(amin, amax, res), np.linspace(bmin, bmax, res)


@st.cache_data(show_spinner=False, max_entries=64)
def _grid_rows(_ds: core.Dataset, key: str, alphas: np.ndarray, betas: np.ndarray, gradient: bool):
    g = core.landscape(_ds, alphas, betas, gradient=gradient)
    grad = (g.grad_alpha, g.grad_beta) if gradient else None
    return g.s, g.loss, grad


def grid_is_cached(ds: core.Dataset, box, res: int, gradient: bool) -> bool:
    return (ds.fingerprint, tuple(box), res, gradient) in st.session_state.setdefault(
        "_grids", set()
    )


def landscape(
    ds: core.Dataset,
    box: tuple[float, float, float, float],
    res: int,
    gradient: bool,
    progress: Callable[[float], None] | None = None,
) -> Grid:
    """The grid over ``box``, in cached chunks of β rows so a progress bar can move
    between them (and Streamlit can interrupt a stale computation there)."""
    alphas, betas = axes(box, res)
    rows = max(1, min(res, CHUNK_CELLS // max(1, ds.N * ds.E * res)))
    s_parts, loss_parts, ga, gb = [], [], [], []
    for k0 in range(0, res, rows):
        s, loss, grad = _grid_rows(ds, ds.fingerprint, alphas, betas[k0 : k0 + rows], gradient)
        s_parts.append(s)
        loss_parts.append(loss)
        if grad is not None:
            ga.append(grad[0])
            gb.append(grad[1])
        if progress is not None:
            progress(min(1.0, (k0 + rows) / res))
    st.session_state.setdefault("_grids", set()).add((ds.fingerprint, tuple(box), res, gradient))
    grad = (np.vstack(ga), np.vstack(gb)) if gradient else None
    return Grid(alphas, betas, np.vstack(s_parts), np.vstack(loss_parts), grad)


def coarse_landscape(ds: core.Dataset, box, size: int = 25) -> Grid:
    """A quick first picture while the full grid computes."""
    return landscape(ds, box, size, gradient=False)


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
