"""The landscape map as a client-side view: a Streamlit custom component (components v2).

Why a component and not Plotly frames inside ``st.plotly_chart``: a plotly_chart element is
re-sent whole on every rerun (grid, colour bar and frames: 0.2-1 MB per Step), one Plotly
slider cannot drive a second chart (the loss curve) or the iterate read-out, and Plotly's
``animate`` with ``redraw=True`` wipes the contour while it plays. Here:

- The grid's figure (:func:`dashboard.figures.map_base`, float32) travels once per grid
  key: the browser keeps it (``window.__losslens.grids``) and later runs send only the
  trajectories (float32, base64: a few KB). Should the browser lack it (a reloaded
  module), it asks with the ``need_grid`` trigger and the next run sends it.
- Play, pause, the one step slider (map markers, loss-chart cursor, iterate read-out), log
  or linear colour and every legend toggle (arrows, the zero-loss curve, each optimizer)
  happen in the browser: no script run, no message to the server. Play moves only the
  scatter traces (``animate`` with ``redraw: false``); the contour is never redrawn.
- A click on the map is a trigger (``click``): it reaches Python inside the descent fragment.
- The module itself (dashboard/explore_assets/explore_map.js) is served as a file: the mount
  call carries only a three-line loader, since a mount call's code is re-sent every run.

Plotly's JavaScript and the module come from this server, never the network: which
bundle, and how they are served and cached, is dashboard/assets.py.
"""

from __future__ import annotations

import base64
import os

import numpy as np
import streamlit as st
import streamlit.components.v1 as components_v1

from dashboard import assets
from dashboard.figures import Path, color_of, exit_point

# A (v1) component path makes Streamlit serve a folder's files at /component/<name>/...,
# with the right content type: where the server has no route of its own (plain
# `streamlit run`), the map's files come from there.
_ASSETS = components_v1.declare_component("explore_assets", path=str(assets.ASSETS))


def asset_url(path) -> str:
    """Where the browser loads one of the map's files (dashboard/assets.py)."""
    if os.environ.get(assets.ROUTE_ENV) == "1":  # dashboard/serve.py serves and caches it
        return assets.route_url(path)
    if path.parent == assets.ASSETS:
        name = _ASSETS.name
    else:  # plotly.py's own bundle
        name = components_v1.declare_component("plotly_files", path=str(path.parent)).name
    return f"./component/{name}/{path.name}?v={assets.version(path)}"


PLOTLY_URL = asset_url(assets.plotly_file())
# The mount call's js travels with every run of the fragment, so it is only a loader: the
# module (markup, style, logic) comes once per page load.
LOADER = (
    "export default async function (component) {\n"
    f"  const url = new URL('{asset_url(assets.MODULE)}', document.baseURI);\n"
    "  return (await import(url.href)).default(component);\n"
    "}\n"
)

_MOUNT = st.components.v2.component(
    "losslens_explore_map",
    js=LOADER,
    isolate_styles=False,  # Plotly styles its modebar and hover labels from document.head
)


def _b64(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=np.float32).tobytes()).decode()


def path_payload(path: Path, box) -> dict:
    """One trajectory as the browser draws it: float32 (α, β) pairs and L, base64."""
    out = exit_point(np.asarray(path.params, dtype=float), box)
    return {
        "name": path.name,
        "color": color_of(path.name),
        "xy": _b64(path.params),
        "loss": _b64(path.loss),
        "exit": None if out is None else list(out[0]),
        "exit_step": None if out is None else out[1],
    }


def explore_map(
    *,
    grid_key: str,
    base,
    paths: list[Path],
    box,
    start: tuple[float, float],
    log_color: bool,
    arrows: bool,
    step: int,
    names: list[str] | None = None,
    key: str = "explore_map",
):
    """Mount the map. ``base``: the grid's figure as JSON (:func:`dashboard.compute.map_base`;
    sent) or None (the browser has it). ``names``: the optimizers the legend lists (default:
    the paths'); listing them before they have run keeps the first Step from redrawing
    the map for its legend.

    Returns the component's result: ``.click`` ({alpha, beta, n} for one run after a click on
    the map), ``.need_grid`` (the grid key the browser lacks) and ``.view`` ({log, arrows}:
    the view this tab chose on the map, after a page change or reload showed another).
    """
    data = {
        "plotly": PLOTLY_URL,
        "key": grid_key,
        "base": base,
        "paths": [path_payload(p, box) for p in paths],
        "legend": [
            {"name": n, "color": color_of(n)}
            for n in (names if names is not None else [p.name for p in paths])
        ],
        "start": [float(start[0]), float(start[1])],
        "log": bool(log_color),
        "arrows": bool(arrows),
        "step": int(step),
    }
    return _MOUNT(
        key=key,
        data=data,
        on_click_change=lambda: None,
        on_need_grid_change=lambda: None,
        on_view_change=lambda: None,
    )


def preload(key: str = "explore_map_preload") -> None:
    """Mount an empty map that only loads Plotly's code and the module into the browser:
    placed before a slow grid, the browser parses them while the server computes."""
    _MOUNT(key=key, data={"plotly": PLOTLY_URL, "preload": True})


# Reads the step the map shows from the tab (the map keeps it in sessionStorage: scrubbing
# sends nothing to the server) and asks for a rerun with it when it is not the server's.
_STEP_BRIDGE = st.components.v2.component(
    "losslens_step_bridge",
    js="""export default function ({ data, setTriggerValue }) {
  let seen = null;
  try { seen = JSON.parse(window.sessionStorage.getItem("losslens.step") || "null"); }
  catch (e) { return; }
  if (seen && JSON.stringify(seen.runs) === JSON.stringify(data.runs) && seen.k !== data.step)
    setTriggerValue("step", seen.k);
}""",
)


def scrubbed_step(runs: list[tuple[str, int]], step: int) -> int | None:
    """The step the map in this tab shows for these runs ((name, points) in the map's
    order), when it is not ``step`` (the server's); else None. Mounts an invisible element."""
    result = _STEP_BRIDGE(
        key="step_bridge",
        data={"runs": [[name, int(n)] for name, n in runs], "step": int(step)},
        on_step_change=lambda: None,
    )
    k = result.step if result is not None else None
    return int(k) if isinstance(k, (int, float)) else None
