"""Session state, initialised in one place, and the view <-> URL round trip.

Every page reads what it needs through the accessors here; nothing else writes
``st.session_state`` keys that other pages rely on.

Keys
----
dataset      core.Dataset           the data every page shows
source       dict                   how `dataset` was made: {"kind": "preset", "name", "seed"},
                                    {"kind": "generated", ...params}, {"kind": "upload", "files"},
                                    {"kind": "sample", "name"} (core.SAMPLES); an uploaded or
                                    sample source may carry "intercept": True (D replaced by 1)
box          (amin, amax, bmin, bmax) the (α, β) box of the map
res          int                    grid points per axis
log_color    bool                   colour the map by log10 L
arrows       bool                   draw −∇L arrows
optimizers   list[str]              optimizers shown side by side
hp           dict[str, dict]        hyper-parameters per optimizer (only the user's overrides)
start        (alpha, beta)          where every optimizer starts
steps        int                    steps for "Run"
runs         dict[str, Run]         one trajectory per optimizer (core.optim.Run)
step_index   int                    the step the slider shows (-1: the last)
point        (alpha, beta) | None   a point set on the derivation page (None: follow the descent)
notices      list[str]              messages to show once (bad link values, replaced data)
grid_file    dict | None            a landscape file the map shows (dashboard/cluster_view.py)

``dataset`` may be a core.PartitionedDataset (data on a Dask cluster, source
{"kind": "cluster", "path"}); pages that need its rows in memory say so
(cluster_view.needs_rows).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

import core
from core.validation import BOX_LIMIT, box_problem
from dashboard import link_budget, urlcodec
from dashboard.urlcodec import RES_RANGE as RES_RANGE  # the pages read them here
from dashboard.urlcodec import STEPS_RANGE as STEPS_RANGE
from dashboard.widgets import refresh

DEFAULT_PRESET = "balanced"
DEFAULT_RES = 80
DEFAULT_OPTIMIZERS = ["gd", "adam"]
DEFAULT_STEPS = 100


def defaults() -> dict[str, Any]:
    return {
        "source": {"kind": "preset", "name": DEFAULT_PRESET, "seed": 0},
        "box": None,  # from the dataset (core.default_box) unless the link sets it
        "res": DEFAULT_RES,
        "log_color": True,
        "arrows": False,
        "optimizers": list(DEFAULT_OPTIMIZERS),
        "hp": {},
        "start": None,  # core.suggest_start on the box unless the link sets it
        "steps": DEFAULT_STEPS,
        "runs": {},
        "step_index": -1,
        "point": None,
        "notices": [],
    }


def init_state() -> None:
    """Create every key once per session: from the URL where it has a value, else defaults."""
    ss = st.session_state
    if "dataset" in ss:
        return
    values = defaults()
    decoded, notices = urlcodec.decode(dict(st.query_params))
    values.update(link_budget.defer(decoded, link=bool(st.query_params)))
    values["notices"] = notices
    for key, value in values.items():
        ss[key] = value
    ss["dataset"] = build_source(ss["source"], notices)
    box, start = view_for(ss["dataset"], ss["box"])
    ss["box"] = box
    if ss["start"] is None:
        ss["start"] = start


def default_page() -> tuple[core.Dataset, tuple[float, float, float, float], int, dict]:
    """What a link-less first visit shows: (dataset, box, res, the other defaults). The
    server computes its landscape before anyone asks (dashboard/serve.py)."""
    values = defaults()
    source = values["source"]
    ds = core.make_preset(source["name"], seed=int(source["seed"]))
    box, _ = view_for(ds, values["box"])
    return ds, box, int(values["res"]), values


FALLBACK_BOX = (-3.0, 3.0, -3.0, 3.0)


def view_for(
    ds: core.Dataset, box: tuple[float, float, float, float] | None = None
) -> tuple[tuple[float, float, float, float], tuple[float, float]]:
    """The box (``box``, else around the truth) and a start that suit ``ds``.

    Falls back to a box around (0, 0) where the data's own one cannot be drawn
    (a truth beyond ±10,000, say), so a session never holds half a view.
    """
    if box is None:
        box = tuple(float(v) for v in core.default_box(ds))
    if box_problem(box, limit=BOX_LIMIT) is not None:
        box = FALLBACK_BOX
    try:
        start = core.suggest_start(ds, box)
    except core.DataError:
        box = FALLBACK_BOX
        start = core.suggest_start(ds, box)
    return box, start


def build_source(source: dict, notices: list[str]) -> core.Dataset:
    """The dataset a source describes; on failure the default preset, with a notice."""
    try:
        if source["kind"] == "preset":
            return core.make_preset(source["name"], seed=int(source["seed"]))
        if source["kind"] == "generated":
            params = {k: v for k, v in source.items() if k != "kind"}
            return core.generate(**params)
        if source["kind"] == "sample":
            ds = core.load_sample(source["name"])
            return core.with_intercept(ds) if source.get("intercept") else ds
        if source["kind"] == "cluster":
            from dashboard import cluster_view  # it imports this module

            found = cluster_view.server_data()
            if found is not None:
                st.session_state["source"] = {"kind": "cluster", "path": found[0]}
                return found[1]
            notices.append(
                "This link was made on data on a Dask cluster, and this server was started "
                "without any (losslens app --data DIR --y COUNT); showing the default data."
            )
    except (ValueError, TypeError, KeyError, core.DataError) as exc:
        notices.append(f"Could not rebuild the dataset from the link ({exc}); showing the default.")
    st.session_state["source"] = defaults()["source"]
    return core.make_preset(DEFAULT_PRESET, seed=0)


def set_dataset(ds: core.Dataset, source: dict) -> None:
    """Replace the data. Trajectories, box and start belong to the old data, so they go."""
    ss = st.session_state
    box, start = view_for(ds)  # first: if this raises, nothing has changed
    ss["dataset"] = ds
    ss["source"] = source
    ss["box"], ss["start"] = box, start
    ss["point"] = None
    ss.pop("grid_file", None)  # a landscape file's map belongs to no data until reopened
    reset_runs()
    refresh("box", "start", "hp")  # their widgets show the old data's view: re-seed them


def reset_runs() -> None:
    """Forget the trajectories."""
    st.session_state["runs"] = {}
    st.session_state["step_index"] = -1
    refresh("step_index")


# -- the current point for the derivation page -----------------------------------------


def current_trajectory() -> np.ndarray | None:
    """(k+1, 2) parameters of the first optimizer's run, or None before any step."""
    runs = st.session_state.get("runs", {})
    for name in st.session_state.get("optimizers", []):
        run = runs.get(name)
        if run is not None:
            return np.asarray(run.params)
    return None


def run_lengths() -> list[tuple[str, int]]:
    """(name, points) of each run, in the order the map draws them."""
    runs = st.session_state.get("runs", {})
    names = st.session_state.get("optimizers", [])
    return [(name, len(runs[name].params)) for name in names if name in runs]


def current_point() -> tuple[float, float]:
    """Where the derivation is evaluated: a point set there, else the descent's current step."""
    ss = st.session_state
    if ss.get("point") is not None:
        return ss["point"]
    traj = current_trajectory()
    if traj is not None and len(traj):
        k = current_step(len(traj))
        return float(traj[k, 0]), float(traj[k, 1])
    return tuple(ss["start"])


def current_step(length: int) -> int:
    """The step the slider shows in a trajectory of ``length`` points: ``step_index``,
    or the last step when it is -1 (follow the newest) or beyond the end."""
    k = st.session_state.get("step_index", -1)
    return length - 1 if k < 0 or k >= length else k


# -- URL (the codec itself is dashboard/urlcodec.py) ----------------------------------------


def query_for_state() -> dict[str, str]:
    """The URL parameters that reopen the current view."""
    return urlcodec.encode(st.session_state)


def sync_query() -> None:
    """Write the view into the URL (only what changed, to keep history quiet).

    Called once per run, at the end of app.py's; see its docstring for why fragment
    reruns need no call of their own.
    """
    want = query_for_state()
    have = dict(st.query_params)
    if want != have:
        st.query_params.from_dict(want)


def show_notices() -> None:
    notices = st.session_state.get("notices", [])
    for text in notices:
        st.warning(text, icon=":material/warning:")
    st.session_state["notices"] = []
    link_budget.pending_data()  # a link's big generated data, waiting for a click
