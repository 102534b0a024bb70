"""The Data page's section for data on a Dask cluster, and for landscape files.

``losslens app --data DIR --y COUNT`` (or LOSSLENS_DATA / LOSSLENS_Y, and optionally
LOSSLENS_DASK_SCHEDULER) makes it offer that partitioned Parquet data: its size, a link
to the Dask dashboard, the sanity report, a landscape and descent steps, each computed on
the cluster with a progress bar (core does the work; this module only draws). Any
landscape .npz (``losslens landscape ... --out grid.npz``) can be opened here as well.
"""

from __future__ import annotations

import io
import os

import numpy as np
import streamlit as st

import core
from dashboard import compute, figures
from dashboard.ui import fmt, guard

ss = st.session_state
GRID = "cluster_grid"  # session keys of this section's results
RUN = "cluster_run"


@st.cache_resource(show_spinner="Opening the partitioned data on the cluster…")
def _open(path: str, y: float, scheduler: str) -> core.PartitionedDataset:
    """Once per server: the partitions stay persisted on the workers between reruns."""
    return core.open_dataset(path, y=y, client=scheduler or None)


def cluster_section() -> None:
    """The whole section (the Data page calls this)."""
    path = os.environ.get("LOSSLENS_DATA", "").strip()
    st.divider()
    st.subheader("Data on a Dask cluster")
    if not path:
        st.caption(
            "Start with `losslens app --data DIR --y COUNT` to work on a directory of long "
            "Parquet files on a Dask cluster. A landscape computed there "
            "(`losslens landscape DIR --y COUNT --box A,B,C,D --out grid.npz`) opens below."
        )
    else:
        with guard("The partitioned data"):
            _cluster(path)
    _grid_file()
    _show()


def _cluster(path: str) -> None:
    y = float(os.environ.get("LOSSLENS_Y", "nan"))
    pds = _open(path, y, os.environ.get(core.partitioned.ENV_SCHEDULER, ""))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("N (rows)", f"{pds.N:,}")
    c2.metric("events", f"{pds.n_present:,}")
    c3.metric("partitions", f"{len(pds.blocks):,}")
    c4.metric("y (observed count)", fmt(pds.y))
    if pds.dashboard_link:
        st.markdown(f"{path}: workers and tasks on the [Dask dashboard]({pds.dashboard_link}).")
    box = tuple(ss["box"])
    st.caption(f"Over the map's box α ∈ [{box[0]:g}, {box[1]:g}], β ∈ [{box[2]:g}, {box[3]:g}].")
    c1, c2, c3, c4 = st.columns(4)
    res = c1.number_input("Grid cells per axis", 8, 256, 48, key="cluster_res")
    name = c2.selectbox("Optimizer", list(core.REGISTRY), index=5, key="cluster_opt")
    steps = c3.number_input("Steps", 1, 500, 20, key="cluster_steps")
    start = ss.get("start") or (0.0, 0.0)
    c4.caption(f"Descent starts at the map's start ({start[0]:g}, {start[1]:g}).")
    c1, c2, c3 = st.columns(3)
    if c1.button("Landscape on the cluster", type="primary", key="cluster_grid_go"):
        bar = st.progress(0.0, text="Landscape on the cluster: 0%")
        alphas, betas = compute.axes(box, int(res))
        progress = lambda f: bar.progress(f, text=f"Landscape on the cluster: {f:.0%}")  # noqa: E731
        ss[GRID] = core.landscape(pds, alphas, betas, gradient=True, progress=progress)
    if c2.button("Descent on the cluster", key="cluster_run_go"):
        bar = st.progress(0.0, text="Descent on the cluster: step 0")
        run = core.start_run(pds, name, start)
        for k in range(int(steps)):
            run = core.advance(pds, run)
            bar.progress((k + 1) / int(steps), text=f"Descent on the cluster: step {k + 1}")
            if run.stopped:
                break
        ss[RUN] = run
    if c3.button("Sanity report on the cluster", key="cluster_report_go"):
        with st.spinner("The sanity report on the cluster (three passes)…"):
            ss["cluster_report"] = core.sanity_report(pds, box)
    if "cluster_report" in ss:
        with st.expander("Sanity report of the partitioned data", expanded=True):
            st.code(ss["cluster_report"].to_text(), language=None)


def _grid_file() -> None:
    up = st.file_uploader(
        "Open a landscape file (.npz written by `losslens landscape`)", type=["npz"],
        key="cluster_grid_file",
    )  # fmt: skip
    if up is not None and st.button("Show this landscape", key="cluster_grid_open"):
        with guard(f"Opening {up.name}"):
            ss[GRID] = core.load_landscape(up.getvalue(), up.name)
            ss.pop(RUN, None)


def _show() -> None:
    grid, run = ss.get(GRID), ss.get(RUN)
    paths = []
    if run is not None:
        paths = [figures.Path(run.name, run.params, run.loss, run.grad, run.stop_reason)]
        st.caption(f"{run.name} on the cluster: {run.stop_reason}")
        if grid is None:  # no map yet: the loss per step
            st.plotly_chart(figures.loss_figure(paths), key="cluster_loss")
    if grid is None:
        return
    fig = figures.map_figure(
        grid.alphas, grid.betas, grid.loss, grid.s, grid.y, paths=paths,
        grad=None if grid.grad_alpha is None else (grid.grad_alpha, grid.grad_beta),
    )  # fmt: skip
    st.plotly_chart(fig, key="cluster_map")
    a, b = grid.argmin()
    buf = io.BytesIO()
    core.save_landscape(grid, buf)
    st.download_button(
        f"Landscape {grid.shape[1]}×{grid.shape[0]} as .npz (smallest L = "
        f"{fmt(float(np.min(grid.loss)))} at ({a:g}, {b:g}))",
        buf.getvalue(), file_name="losslens_landscape.npz", key="cluster_grid_npz",
    )  # fmt: skip
