"""Data on a Dask cluster, and landscape files, on every page (core does the work).

``losslens app --data DIR --y COUNT`` (or LOSSLENS_DATA / LOSSLENS_Y, and optionally
LOSSLENS_DASK_SCHEDULER) makes the Data page offer that partitioned Parquet data
(:func:`cluster_section`). Chosen, it becomes the session's ``dataset`` (a
core.PartitionedDataset, source kind "cluster"): the Landscape page's map, Step / Run and
the Data page's sanity report then run on the cluster, with progress bars and a Cancel
button (:func:`status`, :func:`watch`). Parts that need the rows in memory say so
(:func:`needs_rows`). Nothing of size N × E reaches this process.

A landscape .npz (``losslens landscape ... --out grid.npz``) opens through the Data page's
Upload tab (:func:`open_grid_file`) and is shown by the Landscape page
(:func:`grid_file`): its map and minimum; Step only when the current data reproduce the
file (then the file is a map of them), else a note that descent needs data.
"""

from __future__ import annotations

import hashlib
import os
import time

import numpy as np
import streamlit as st

import core
from dashboard import compute, state
from dashboard.ui import fmt, guard, literal
from dashboard.widgets import refresh

ss = st.session_state
GRID_FILE = "grid_file"  # {"name", "grid", "key"}: the landscape file the map shows
CANCELLED = "cluster_cancelled"  # the grid key whose computation the user cancelled
CANCEL_KEY = "cluster_cancel"


def is_cluster(ds) -> bool:
    return bool(getattr(ds, "is_partitioned", False))


# -- the Data page ----------------------------------------------------------------------------


def server_data() -> tuple[str, core.PartitionedDataset] | None:
    """(path, data) of the partitioned data this server was started with (LOSSLENS_DATA,
    LOSSLENS_Y), opened once per server; None when it was started without."""
    path = os.environ.get("LOSSLENS_DATA", "").strip()
    if not path:
        return None
    y = float(os.environ.get("LOSSLENS_Y", "nan"))
    return path, compute.cluster_data(path, y, os.environ.get(core.partitioned.ENV_SCHEDULER, ""))


def cluster_section() -> None:
    """The Data page's section: the partitioned data the app was started with."""
    if not os.environ.get("LOSSLENS_DATA", "").strip():
        return
    st.divider()
    st.subheader("Data on a Dask cluster")
    with guard("The partitioned data"):
        path, pds = server_data()
        _sizes(pds)
        st.markdown(f"Partitioned Parquet at {literal(path)}{_dashboard_words(pds)}.")
        if is_cluster(ss["dataset"]) and ss["dataset"].fingerprint == pds.fingerprint:
            st.success(
                "In use: the Landscape page's map, Step / Run and the sanity report above "
                "run on the cluster.",
                icon=":material/check_circle:",
            )
        elif st.button("Use the cluster data", type="primary", key="cluster_use"):
            state.set_dataset(pds, {"kind": "cluster", "path": path})
            st.rerun()


def _sizes(pds: core.PartitionedDataset) -> None:
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("N (rows)", f"{pds.N:,}")
    c2.metric("events", f"{pds.n_present:,}")
    c3.metric("partitions", f"{len(pds.blocks):,}")
    c4.metric("y (observed count)", fmt(pds.y))


def _dashboard_words(pds: core.PartitionedDataset) -> str:
    link = pds.dashboard_link
    return f"; workers and tasks on the [Dask dashboard]({link})" if link else ""


def report(ds) -> core.Report | None:
    """The Data page's sanity report (cached). On a cluster it runs only on a click, with
    a progress bar and the Cancel button: it is several passes over the data (2 × 10⁶
    events: ~3 min on 2 cores), which choosing the data must not start. None until then
    (the page says so)."""
    box = tuple(ss["box"])
    if not is_cluster(ds):
        return compute.report(ds, ds.fingerprint, box)
    rep = compute.cluster_report(ds, box)
    if rep is not None:
        return rep
    if ss.get(CANCEL_KEY):  # the click that stopped it: its run starts nothing
        st.info("Cancelled the sanity report: nothing runs on the cluster.",
                icon=":material/cancel:")  # fmt: skip
    st.caption(
        "On the cluster the report is several passes over the data (minutes for millions of "
        "events): it runs when you ask."
    )
    if not st.button("Sanity report on the cluster", type="primary", key="cluster_report_go"):
        return None
    _cancel_button()
    bar = st.progress(0.0, text="Sanity report on the cluster…")
    with watch(bar, "Sanity report on the cluster (several passes)"):
        rep = compute.cluster_report(ds, box, compute_it=True)
    bar.empty()
    return rep


def needs_rows(ds, what: str) -> bool:
    """True (and a note on the page) when ``ds`` is on a cluster: ``what`` needs its rows
    in memory. Why not a sample: every number of these parts is meant to be the data's own,
    the ones the map and the descent show; a sample's would differ without saying so."""
    if not is_cluster(ds):
        return False
    st.info(
        f"{what} needs the data's rows in memory; the cluster data ({ds.N:,} rows) stay on "
        "the workers. Load in-memory data (a preset, a generated set or an upload) on the "
        "**Data** page to see it.",
        icon=":material/memory:",
    )
    return True


# -- landscape files (the Upload tab) ---------------------------------------------------------


def is_grid_file(data: bytes, name: str) -> bool:
    """Whether an uploaded .npz is a landscape file (it has a loss grid), not I and D."""
    if not name.lower().endswith(".npz"):
        return False
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False  # core.load_bytes says what is wrong with it
    return {"loss.npy", "alphas.npy", "betas.npy"} <= names


def open_grid_file(data: bytes, name: str) -> core.Landscape:
    """Show the landscape file on the Landscape page (DataError when it is not one)."""
    grid = core.load_landscape(data, name)
    key = hashlib.blake2b(data, digest_size=8).hexdigest()
    ss[GRID_FILE] = {"name": name, "grid": grid, "key": key}
    ss["box"] = (
        float(grid.alphas[0]), float(grid.alphas[-1]), float(grid.betas[0]),
        float(grid.betas[-1]),
    )  # fmt: skip
    state.reset_runs()
    refresh("box")
    return grid


def grid_file() -> dict | None:
    """The opened landscape file ({"name", "grid", "key"}), shown instead of a computed
    map until closed; a caption with its minimum and a Close button."""
    item = ss.get(GRID_FILE)
    if item is None:
        return None
    grid = item["grid"]
    a, b = grid.argmin()
    st.info(
        f"Showing the landscape file **{literal(item['name'])}**: {grid.shape[1]} × "
        f"{grid.shape[0]} cells, y = {fmt(grid.y)}, smallest L = "
        f"{fmt(float(np.nanmin(grid.loss)))} at (α, β) = ({a:g}, {b:g}). The View box and "
        "resolution apply again when you close it.",
        icon=":material/description:",
    )
    if st.button("Close the landscape file", key="grid_file_close"):
        ss.pop(GRID_FILE, None)
        state.reset_runs()
        st.rerun()
    return item


def descent_note(ds, item: dict | None) -> str | None:
    """Why there is no Step on this map, or None. A landscape file holds a grid, not the
    data: a step needs the gradient where the grid has no cell, so Step runs on the
    current data, and only when they reproduce the file (else the path would be drawn
    over another data set's map)."""
    if item is None:
        return None
    with guard("Checking the landscape file against the current data"):
        if compute.grid_matches(ds, ds.fingerprint, item["grid"], item["key"]):
            return None
    return (
        "Descent needs data: this map comes from a file, and the current data "
        f"({literal(ds.name or 'unnamed')}) do not give its values. To step on it, load "
        "the data it was computed from (for data on a cluster: `losslens app --data DIR "
        "--y COUNT`, then **Use the cluster data**), then open the file again."
    )


# -- the Landscape page -----------------------------------------------------------------------


def status(ds) -> bool:
    """For cluster data: what runs where, the Dask dashboard link and the Cancel button.
    Returns whether Cancel was pressed in this run (the page then starts no new work)."""
    if not is_cluster(ds):
        return False
    st.info(
        f"**Cluster data**: N = {ds.N:,} rows, {ds.n_present:,} events in "
        f"{len(ds.blocks):,} partitions. The map, Step and Run are computed on the Dask "
        f"cluster{_dashboard_words(ds)}.",
        icon=":material/hub:",
    )
    return _cancel_button()


def _cancel_button() -> bool:
    """A click reruns the page: Streamlit stops the running script at its next draw
    (:func:`watch` draws every few tenths of a second), and core cancels the cluster's
    tasks on the way out. The new run sees the click and starts nothing."""
    return st.button(
        "Cancel", key=CANCEL_KEY, icon=":material/cancel:",
        help="Stop the landscape, descent or report running on the cluster",
    )  # fmt: skip


def cancelled(ds, box, res: int, clicked: bool) -> bool:
    """True while the map of (``ds``, ``box``, ``res``) stays cancelled: after a Cancel
    click that found it not computed, until the user asks for it again (a button) or
    asks for another map. A map already computed is shown (the click stopped a descent)."""
    key = repr((ds.fingerprint, tuple(float(v) for v in box), int(res)))
    if clicked and not compute.landscape_cached(ds, box, res, True):
        ss[CANCELLED] = key
    elif clicked:  # the map was there: the click stopped a descent, whose steps are kept
        st.toast("Cancelled: nothing runs on the cluster; the steps done are kept.",
                 icon=":material/cancel:")  # fmt: skip
    if ss.get(CANCELLED) != key:
        return False
    st.info(
        "Cancelled: nothing runs on the cluster. Your data, settings and steps are kept.",
        icon=":material/cancel:",
    )
    if st.button("Compute the map", type="primary", key="cluster_map_go"):
        ss.pop(CANCELLED, None)
        st.rerun()
    return True


def step_runs(ds, names: list[str], k: int, hp_for) -> None:
    """``k`` more steps of each optimizer in ``names`` (into ``runs``). On a cluster one
    step at a time (each a pass over the data), with a progress bar; every finished step
    is kept, so a Cancel keeps the steps done so far."""
    runs = ss["runs"]
    if not is_cluster(ds):
        for name in names:
            run = runs.get(name) or core.start_run(ds, name, ss["start"], **hp_for(name))
            runs[name] = core.advance(ds, run, k)
        return
    done, total = [0], k * len(names)
    ticker = Ticker(st.progress(0.0, text="Descent on the cluster…"), "Descent on the cluster")
    # a pass of a step moves the bar within that step's share
    progress = lambda f: ticker.progress((done[0] + f) / total)  # noqa: E731
    with core.partitioned.watching(progress=progress, cancel=ticker.tick):
        for name in names:
            runs[name] = runs.get(name) or core.start_run(ds, name, ss["start"], **hp_for(name))
            for _ in range(k):
                if runs[name].stopped:
                    break
                runs[name] = core.advance(ds, runs[name], 1)
                done[0] += 1
    ticker.bar.empty()


class Ticker:
    """A progress bar for work on a cluster: :meth:`progress` moves it, :meth:`tick`
    (core's ``cancel`` hook, called about every 0.1 s while tasks run) redraws its text
    with the elapsed seconds every ~0.3 s. Each draw is where Streamlit stops a script
    whose user pressed Cancel (or anything else); core then cancels the cluster's tasks."""

    def __init__(self, bar, what: str) -> None:
        self.bar, self.what = bar, what
        self.t0 = self.drawn = time.monotonic()
        self.fraction = 0.0

    def progress(self, f: float) -> None:
        self.fraction = min(max(float(f), 0.0), 1.0)
        self.drawn = time.monotonic()
        text = f"{self.what}: {self.fraction:.0%} ({self.drawn - self.t0:.0f} s)"
        self.bar.progress(self.fraction, text=text)

    def tick(self) -> bool:
        if time.monotonic() - self.drawn > 0.3:
            self.progress(self.fraction)
        return False  # a Cancel click stops the script at the draw, not through this


def watch(bar, what: str):
    """core.partitioned.watching with a :class:`Ticker` on ``bar``: for core calls that
    take no progress or cancel of their own (the sanity report, descent steps)."""
    ticker = Ticker(bar, what)
    return core.partitioned.watching(progress=ticker.progress, cancel=ticker.tick)
