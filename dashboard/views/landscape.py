"""Landscape & descent: the contour map, optimizers stepping over it, the basin map."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

import core
from core.validation import BOX_LIMIT, box_problem
from dashboard import cluster_view, compute, explore_map, export, figures, link_budget, state
from dashboard.figures import Path
from dashboard.ui import fmt, guard, guarded, literal
from dashboard.widgets import bound, refresh

ss = st.session_state
ds: core.Dataset = ss["dataset"]

# First of all: the browser starts loading Plotly's code (and the map's module) while the
# rest of the page is computed and drawn (an element that hides itself).
explore_map.preload()
st.title("Landscape & descent")
state.show_notices()
st.caption(
    f"Data: **{literal(ds.name or 'uploaded')}**, N = {ds.N:,} rows × E = {ds.E} events, "
    f"y = {fmt(ds.y)}. "
    "Change it on the **Data** page."
)
cancel_clicked = cluster_view.status(ds)  # data on a cluster: where it runs, and Cancel

# -- view controls -----------------------------------------------------------------------


def _box_notice(box: tuple[float, ...]) -> str | None:
    problem = box_problem(box, limit=BOX_LIMIT)
    return None if problem is None else f"Kept the old box: {problem}."


def _view_controls() -> None:
    """The sidebar's box, resolution and 3D switch."""
    with st.sidebar:
        st.subheader("View")
        c1, c2 = st.columns(2)
        for i, label in enumerate(("α min", "α max", "β min", "β max")):
            with c1 if i % 2 == 0 else c2:
                bound(
                    st.number_input,
                    label,
                    "box",
                    part=i,
                    check=_box_notice,
                    step=0.5,
                    format="%.3f",
                )
        bound(
            st.slider,
            "Resolution (points per axis)",
            "res",
            min_value=state.RES_RANGE[0],
            max_value=state.RES_RANGE[1],
            step=10,
        )
        # Log or linear colour and the −∇L arrows are switched on the map itself, in the
        # browser (no rerun); a link's log= and arrows= set how the map first shows.
        st.caption(
            "Colour scale: the **log₁₀ colour** box above the map. Arrows: **−∇L** in its legend."
        )
        st.toggle("3D surface", key="show_3d", value=False)


def _hp_notice(name: str, spec: core.Hyperparam) -> Callable[[dict], str | None]:
    def check(hp: dict) -> str | None:
        if spec.contains(hp[name][spec.name]):
            return None
        return f"{name}: {spec.name} must lie in {spec.interval()}; kept the previous value."

    return check


def _hyperparameters(name: str) -> None:
    """One input per hyper-parameter of ``name``: the user's override, else the default
    core derives for this data and start (shown, not stored)."""
    with st.expander(f"{name}: hyper-parameters", expanded=False):
        base = compute.default_hyperparams(ds, ds.fingerprint, name, tuple(ss["start"]))
        for spec in core.HYPERPARAMS[name]:
            lo, hi = spec.bounds
            bound(
                st.number_input,
                spec.name,
                "hp",
                part=(name, spec.name),
                default={name: {spec.name: float(base[spec.name])}},
                check=_hp_notice(name, spec),
                on_set=lambda name=name: ss["runs"].pop(name, None),
                help=f"{spec.help}." + (f" Default: {spec.derived}." if spec.derived else ""),
                format="%.6g",
                min_value=float(lo) if np.isfinite(lo) else None,
                max_value=float(hi) if np.isfinite(hi) else None,
            )
        if ss["hp"].get(name) and st.button("Back to defaults", key=f"reset_hp_{name}"):
            ss["hp"] = {**ss["hp"], name: {}}
            ss["runs"].pop(name, None)
            refresh("hp")
            st.rerun()


def _descent_controls() -> None:
    """The sidebar's optimizers, start, steps per Run and hyper-parameters."""
    with st.sidebar:
        st.subheader("Descent")
        bound(
            st.multiselect,
            "Optimizers (side by side)",
            "optimizers",
            options=list(core.OPTIMIZERS),
            on_set=state.reset_runs,
        )
        c1, c2 = st.columns(2)
        for i, (col, label) in enumerate(((c1, "start α"), (c2, "start β"))):
            with col:
                bound(
                    st.number_input,
                    label,
                    "start",
                    part=i,
                    on_set=state.reset_runs,
                    step=0.1,
                    format="%.4f",
                )
        st.caption("Or click anywhere on the map to start there.")
        bound(
            st.number_input,
            "steps per Run",
            "steps",
            min_value=state.STEPS_RANGE[0],
            max_value=state.STEPS_RANGE[1],
            step=10,
        )
        for name in ss["optimizers"]:
            _hyperparameters(name)


def controls() -> None:
    """The sidebar, drawn after the map: the browser builds a page's elements in the order
    the script sends them, and the map is what a reload waits for. Its widgets only write
    the state through callbacks, which run before the script, so the map above them
    already shows their values. Call before every st.stop() as well."""
    _view_controls()
    _descent_controls()


box, res = ss["box"], ss["res"]

# -- the landscape: cached; a coarse first paint for big jobs; progress while computing -----

map_slot = st.empty()


def _draw_coarse(coarse: core.Landscape) -> None:
    fig = figures.map_figure(
        coarse.alphas,
        coarse.betas,
        coarse.loss,
        coarse.s,
        ds.y,
        log_color=ss["log_color"],
        truth=ds.truth,
    )
    map_slot.plotly_chart(fig, key="map_coarse")


file_item = cluster_view.grid_file()  # a landscape file opened on the Data page
if file_item is None and cluster_view.cancelled(ds, box, res, cancel_clicked):
    controls()
    st.stop()  # the message and a button to compute it are on the page
if file_item is None and not link_budget.map_allowed(ds, res):  # a link's big map waits
    controls()
    st.stop()

grid = None if file_item is None else file_item["grid"]
with guard("Computing the landscape"):
    bar = st.progress(0.0, text="Computing the landscape…")
    ticker = cluster_view.Ticker(bar, "Landscape")
    grid = grid or compute.landscape(
        ds,
        box,
        res,
        True,  # −∇L is cheap next to L, and the browser shows or hides the arrows
        progress=ticker.progress,
        coarse=_draw_coarse,
        waiting=lambda text: bar.progress(0.0, text=text),
        cancel=ticker.tick if cluster_view.is_cluster(ds) else None,
    )
    bar.empty()
    map_slot.empty()
if grid is None:
    controls()
    st.stop()  # the message is on the page; nothing below can be drawn without the grid

st.caption(
    "The white dashed curve is **s(α, β) = y**: every point on it fits the count exactly. One "
    "number y cannot pin down two parameters, so the minima form a curve, not a point."
    if figures.zero_curve_in_view(grid.s, grid.y)
    else f"y = {fmt(grid.y)} lies outside the range of s over this box "
    f"([{fmt(np.nanmin(grid.s))}, {fmt(np.nanmax(grid.s))}]): the loss has no zero here."
)

# -- optimizer controls -------------------------------------------------------------------


def _take_click(click: dict | None) -> bool:
    """Set the start from a click on the map ({alpha, beta}); True when it moved.

    ``click`` is the map's one-run trigger, or ``ss["map_click"]`` (tests and restored
    sessions put a click there).
    """
    click = click or ss.pop("map_click", None)
    if not click:
        return False
    new = (round(float(click["alpha"]), 4), round(float(click["beta"]), 4))
    if new == tuple(ss["start"]):
        return False
    ss["start"] = new
    refresh("start")
    state.reset_runs()
    return True


def _take_view(view: dict | None) -> bool:
    """Take the colour and arrows this tab chose on the map (explore_map.js sends them once,
    when a page change or reload brought the server's own); True when they changed."""
    if not view:
        return False
    wanted = bool(view.get("log")), bool(view.get("arrows"))
    if wanted == (ss["log_color"], ss["arrows"]):
        return False
    ss["log_color"], ss["arrows"] = wanted
    return True


def _hp_for(name: str) -> dict:
    return dict(ss["hp"].get(name, {}))


def _path(name: str, run: core.Run) -> Path:
    """A run as the figures draw it."""
    return Path(name, run.params, run.loss, run.grad, run.stop_reason or "")


def _grid_key() -> str:
    key = compute.grid_key(ds, box, res)
    file_key = (ss.get(cluster_view.GRID_FILE) or {}).get("key")  # a landscape file's map
    return key if file_key is None else repr((key, file_key))


@st.fragment
@guarded("Descent")
def descent(grid: core.Landscape) -> None:
    names = ss["optimizers"]
    note = cluster_view.descent_note(ds, ss.get(cluster_view.GRID_FILE))  # a file's map
    with st.container(horizontal=True, gap="small"):  # one group, not spread over the page
        step_clicked = st.button(
            "Step", type="primary", help="One more step of every optimizer", disabled=bool(note)
        )
        run_clicked = st.button(
            f"Run {ss['steps']} steps", help="Many steps at once", disabled=bool(note)
        )
        reset_clicked = st.button("Reset", help="Back to the start")
    if reset_clicked:
        state.reset_runs()
    if step_clicked or run_clicked:
        k = 1 if step_clicked else int(ss["steps"])
        cluster_view.step_runs(ds, names, k, _hp_for)  # on a cluster: with progress
        ss["step_index"] = -1

    paths = [_path(n, ss["runs"][n]) for n in names if n in ss["runs"]]
    key = _grid_key()
    # The grid travels once per grid key; the browser keeps it (see dashboard/explore_map.py).
    send = ss.get("_map_sent") != key or ss.get("explore_map", {}).get("need_grid") == key
    base = None
    if send:
        base = compute.map_base_for(grid, ds, key, ss["log_color"], ss["arrows"])
        ss["_map_sent"] = key
    result = explore_map.explore_map(
        grid_key=key,
        base=base,
        paths=paths,
        box=box,
        start=ss["start"],
        log_color=ss["log_color"],
        arrows=ss["arrows"],
        step=ss["step_index"],
        names=list(names),
    )
    if _take_click(result.click) or _take_view(result.view):
        st.rerun()  # the whole page: the start inputs and the link live outside this fragment
    step = None
    if paths:
        step = state.current_step(max(len(p.params) for p in paths))
    if ss.get("show_3d"):
        st.plotly_chart(
            figures.surface_figure(
                grid.alphas,
                grid.betas,
                grid.loss,
                log_color=ss["log_color"],
                paths=paths,
                step=step,
            ),
            key="surface",
        )

    if not paths:
        st.info(note or "Press **Step** (one step) or **Run** to watch the optimizers move.")
        return
    _results(paths, grid)


def _results(paths: list[Path], grid: core.Landscape) -> None:
    """Below the map: why each run stopped and the downloads. The loss chart and the
    iterates at the slider's step are drawn by the map component, in the browser."""
    for p in paths:
        if p.stop_reason:
            if p.stop_reason.startswith("converged"):
                icon = ":material/check_circle:"
            elif p.stop_reason.startswith(("diverged", "left")):
                icon = ":material/warning:"
            else:
                icon = ":material/pause_circle:"
            st.markdown(f"{icon} **{p.name}**: {p.stop_reason}")
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "Trajectories (CSV)",
        lambda: export.iterates(paths).to_csv(index=False),
        file_name="losslens_trajectories.csv",
        mime="text/csv",
    )
    c2.download_button(
        "Landscape grid (CSV)",
        lambda: export.grid_csv(grid),
        file_name="losslens_landscape.csv",
        mime="text/csv",
    )
    c3.download_button(
        "Figure (HTML)",
        lambda: export.figure_html(_static_map(paths, grid)),
        file_name="losslens_map.html",
        mime="text/html",
    )


def _static_map(paths: list[Path], grid: core.Landscape):
    """The map with the paths as one Plotly figure (for the HTML download)."""
    return figures.map_figure(
        grid.alphas,
        grid.betas,
        grid.loss,
        grid.s,
        ds.y,
        log_color=ss["log_color"],
        truth=ds.truth,
        paths=paths,
        start=ss["start"],
        grad=None if not ss["arrows"] else (grid.grad_alpha, grid.grad_beta),
    )


_take_click(None)  # a click injected into the state (tests, restored sessions)
descent(grid)
controls()

# -- basin map -----------------------------------------------------------------------------

with st.expander("Basin map: where does each start end?", expanded=False):
    if cluster_view.needs_rows(ds, "The basin map (hundreds of descents at once)"):
        st.stop()
    c1, c2, c3 = st.columns(3)
    b_name = c1.selectbox("Optimizer", list(core.OPTIMIZERS), key="basin_opt")
    b_n = c2.slider("Starts per axis", 5, 40, 15, key="basin_n")
    b_steps = c3.slider("Steps", 10, 1000, 200, step=10, key="basin_steps")
    hp = tuple(sorted(_hp_for(b_name).items()))
    # A basin map is run only on a click, for exactly the settings of that click: moving
    # the box or the data later must not rerun hundreds of descents behind the user's back.
    wanted = (b_name, b_n, b_steps, hp, ds.fingerprint, tuple(box))
    if st.button("Compute basin map", key="basin_go"):
        ss["basin_request"] = wanted
    req = ss.get("basin_request")
    if req and req != wanted:
        st.caption("The settings changed since the last basin map: press **Compute** again.")
    elif req and ss.get("basin_cancel"):  # pressed while it ran: that run stopped there
        ss.pop("basin_request", None)
        st.info("Basin map cancelled. Press **Compute basin map** to start it again.")
    elif req:
        name, n, steps = b_name, b_n, b_steps
        with guard("Basin map"):
            bar = st.progress(0.0, text=f"Running {name} from {n * n} starts…")
            stop = st.empty()  # a Cancel button while it runs (not for a map in the cache)

            def progress(f: float) -> None:
                bar.progress(f, text=f"Running {name} from {n * n} starts: {f:.0%}")
                if "basin_cancel" not in shown:
                    shown.add("basin_cancel")
                    stop.button("Cancel", key="basin_cancel", help="Stop this basin map")

            shown: set[str] = set()
            alphas, betas, end, loss, conv = compute.basin(
                ds, ds.fingerprint, name, hp, box, n, steps, progress=progress
            )
            bar.empty()
            stop.empty()
            st.plotly_chart(
                figures.basin_figure(alphas, betas, end, loss, conv, name=name), key="basin_chart"
            )
            st.caption(
                f"{int(conv.sum())} of {conv.size} starts converged. Colour: the α where the run "
                "ended; starts that end on different parts of the zero-loss curve get different "
                "colours, so the picture shows which start leads where."
            )
