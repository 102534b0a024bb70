"""Landscape & descent: the contour map, optimizers stepping over it, the basin map."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

import core
from core.validation import BOX_LIMIT, box_problem
from dashboard import compute, export, figures, link_budget, state
from dashboard.figures import Path
from dashboard.ui import fmt, guard, guarded, literal
from dashboard.widgets import bound, refresh

ss = st.session_state
ds: core.Dataset = ss["dataset"]

st.title("Landscape & descent")
state.show_notices()
st.caption(
    f"Data: **{literal(ds.name or 'uploaded')}**, N = {ds.N:,} rows × E = {ds.E} events, "
    f"y = {fmt(ds.y)}. "
    "Change it on the **Data** page."
)

# -- view controls -----------------------------------------------------------------------


def _box_notice(box: tuple[float, ...]) -> str | None:
    problem = box_problem(box, limit=BOX_LIMIT)
    return None if problem is None else f"Kept the old box: {problem}."


with st.sidebar:
    st.subheader("View")
    c1, c2 = st.columns(2)
    for i, label in enumerate(("α min", "α max", "β min", "β max")):
        with c1 if i % 2 == 0 else c2:
            bound(st.number_input, label, "box", part=i, check=_box_notice, step=0.5, format="%.3f")
    bound(
        st.slider,
        "Resolution (points per axis)",
        "res",
        min_value=state.RES_RANGE[0],
        max_value=state.RES_RANGE[1],
        step=10,
    )
    bound(st.toggle, "Log colour (log₁₀ L)", "log_color")
    bound(st.toggle, "Gradient arrows (−∇L)", "arrows")
    show_3d = st.toggle("3D surface", key="show_3d", value=False)

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


if not link_budget.map_allowed(ds, res):  # a link's map over the budget waits for a click
    st.stop()

grid = None
with guard("Computing the landscape"):
    bar = st.progress(0.0, text="Computing the landscape…")
    grid = compute.landscape(
        ds,
        box,
        res,
        ss["arrows"],
        progress=lambda f: bar.progress(f, text=f"Landscape {f:.0%}"),
        coarse=_draw_coarse,
    )
    bar.empty()
    map_slot.empty()
if grid is None:
    st.stop()  # the message is on the page; nothing below can be drawn without the grid

st.caption(
    "The white dashed curve is **s(α, β) = y**: every point on it fits the count exactly. One "
    "number y cannot pin down two parameters, so the minima form a curve, not a point."
    if figures.zero_curve_in_view(grid.s, ds.y)
    else f"y = {fmt(ds.y)} lies outside the range of s over this box "
    f"([{fmt(np.nanmin(grid.s))}, {fmt(np.nanmax(grid.s))}]): the loss has no zero here."
)

# -- optimizer controls -------------------------------------------------------------------


def _take_click() -> bool:
    """Set the start from a new click on the map's invisible grid; True when it did.

    The chart's selection persists in its key ("map"), so only a selection that
    differs from the last one taken counts as a click.
    """
    event = ss.get("map") or {}
    points = (event.get("selection") or {}).get("points") or []
    if not points:
        return False
    click = (float(points[0]["x"]), float(points[0]["y"]))
    if click == ss.get("_last_click"):
        return False
    ss["_last_click"] = click
    ss["start"] = (round(click[0], 4), round(click[1], 4))
    refresh("start")
    state.reset_runs()
    return True


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
        base = core.default_hyperparams(name, ds, ss["start"])
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


_take_click()  # a selection injected into the chart's state (tests, restored sessions)

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


def _hp_for(name: str) -> dict:
    return dict(ss["hp"].get(name, {}))


def _path(name: str, run: core.Run) -> Path:
    """A run as the figures draw it."""
    return Path(name, run.params, run.loss, run.grad, run.stop_reason or "")


@st.fragment
@guarded("Descent")
def descent(grid: core.Landscape) -> None:
    if _take_click():
        st.rerun()  # the whole page: the start inputs live outside this fragment
    names = ss["optimizers"]
    b1, b2, b3, _ = st.columns([1, 1, 1, 3])
    step_clicked = b1.button("Step", type="primary", help="One more step of every optimizer")
    run_clicked = b2.button(f"Run {ss['steps']} steps", help="Many steps at once")
    if b3.button("Reset", help="Back to the start"):
        state.reset_runs()
    if step_clicked or run_clicked:
        k = 1 if step_clicked else int(ss["steps"])
        for name in names:
            run = ss["runs"].get(name) or core.start_run(ds, name, ss["start"], **_hp_for(name))
            ss["runs"][name] = core.advance(ds, run, k)
        ss["step_index"] = -1
        refresh("step_index")

    paths = [_path(n, ss["runs"][n]) for n in names if n in ss["runs"]]
    longest = max((len(p.params) for p in paths), default=1)
    step = None
    if longest > 1:
        k = state.current_step(longest)
        if k != ss["step_index"]:
            ss["step_index"] = k
            refresh("step_index")
        step = bound(
            st.slider, "Scrub through the steps", "step_index", min_value=0, max_value=longest - 1
        )

    fig = figures.map_figure(
        grid.alphas,
        grid.betas,
        grid.loss,
        grid.s,
        ds.y,
        log_color=ss["log_color"],
        truth=ds.truth,
        paths=paths,
        step=step,
        start=ss["start"],
        grad=None if grid.grad_alpha is None else (grid.grad_alpha, grid.grad_beta),
    )
    if paths:
        figures.add_animation(fig, paths)
    st.plotly_chart(
        fig, key="map", on_select="rerun", selection_mode="points", config={"displaylogo": False}
    )
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
        st.info("Press **Step** (one step) or **Run** to watch the optimizers move.")
        return
    _results(paths, step, grid, fig)


def _results(paths: list[Path], step: int | None, grid: core.Landscape, fig) -> None:
    """Below the map: why each run stopped, the loss chart, the iterates, the downloads."""
    for p in paths:
        if p.stop_reason:
            if p.stop_reason.startswith("converged"):
                icon = ":material/check_circle:"
            elif p.stop_reason.startswith(("diverged", "left")):
                icon = ":material/warning:"
            else:
                icon = ":material/pause_circle:"
            st.markdown(f"{icon} **{p.name}**: {p.stop_reason}")
    st.plotly_chart(figures.loss_figure(paths, step), key="loss_chart")
    table = export.iterates(paths, upto=step)
    st.dataframe(table, hide_index=True, height=240)
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
        lambda: export.figure_html(fig),
        file_name="losslens_map.html",
        mime="text/html",
    )


descent(grid)

# -- basin map -----------------------------------------------------------------------------

with st.expander("Basin map: where does each start end?", expanded=False):
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
    elif req:
        name, n, steps = b_name, b_n, b_steps
        with guard("Basin map"), st.spinner(f"Running {name} from {n * n} starts…"):
            alphas, betas, end, loss, conv = compute.basin(
                ds, ds.fingerprint, name, hp, box, n, steps
            )
            st.plotly_chart(
                figures.basin_figure(alphas, betas, end, loss, conv, name=name), key="basin_chart"
            )
            st.caption(
                f"{int(conv.sum())} of {conv.size} starts converged. Colour: the α where the run "
                "ended; starts that end on different parts of the zero-loss curve get different "
                "colours, so the picture shows which start leads where."
            )
