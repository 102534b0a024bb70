"""Session state, initialised in one place, and the view <-> URL round trip.

Every page reads what it needs through the accessors here; nothing else writes
``st.session_state`` keys that other pages rely on.

Keys
----
dataset      core.Dataset           the data every page shows
source       dict                   how `dataset` was made: {"kind": "preset", "name", "seed"},
                                    {"kind": "generated", ...params}, {"kind": "upload", "files"}
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
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import streamlit as st

import core

DEFAULT_PRESET = "balanced"
DEFAULT_RES = 80
RES_RANGE = (10, 300)
DEFAULT_OPTIMIZERS = ["gd", "adam"]
DEFAULT_STEPS = 100
STEPS_RANGE = (1, 5000)


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
    notices: list[str] = []
    values.update(parse_query(dict(st.query_params), notices))
    values["notices"] = notices
    for key, value in values.items():
        ss[key] = value
    ss["dataset"] = build_source(ss["source"], notices)
    box, start = view_for(ss["dataset"], ss["box"])
    ss["box"] = box
    if ss["start"] is None:
        ss["start"] = start


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
    if box_problem(box) is not None:
        box = FALLBACK_BOX
    try:
        start = core.suggest_start(ds, box)
    except core.DataError:
        box = FALLBACK_BOX
        start = core.suggest_start(ds, box)
    return box, start


# Widget keys that mirror state set here (see dashboard.widgets): dropped so they re-seed.
_VIEW_WIDGETS = ("w_box_amin", "w_box_amax", "w_box_bmin", "w_box_bmax", "w_start_a", "w_start_b")


def build_source(source: dict, notices: list[str]) -> core.Dataset:
    """The dataset a source describes; on failure the default preset, with a notice."""
    try:
        if source["kind"] == "preset":
            return core.make_preset(source["name"], seed=int(source["seed"]))
        if source["kind"] == "generated":
            params = {k: v for k, v in source.items() if k != "kind"}
            return core.generate(**params)
    except (ValueError, TypeError, KeyError) as exc:
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
    reset_runs()
    for key in _VIEW_WIDGETS:
        ss.pop(key, None)
    sync_query()


def reset_runs() -> None:
    """Forget the trajectories."""
    st.session_state["runs"] = {}
    st.session_state["step_index"] = -1
    st.session_state.pop("w_step_index", None)


# -- the current point for the derivation page -----------------------------------------


def current_trajectory() -> np.ndarray | None:
    """(k+1, 2) parameters of the first optimizer's run, or None before any step."""
    runs = st.session_state.get("runs", {})
    for name in st.session_state.get("optimizers", []):
        run = runs.get(name)
        if run is not None:
            return np.asarray(run.params)
    return None


def current_point() -> tuple[float, float]:
    """Where the derivation is evaluated: a point set there, else the descent's current step."""
    ss = st.session_state
    if ss.get("point") is not None:
        return ss["point"]
    traj = current_trajectory()
    if traj is not None and len(traj):
        k = ss.get("step_index", -1)
        k = len(traj) - 1 if k < 0 or k >= len(traj) else k
        return float(traj[k, 0]), float(traj[k, 1])
    return tuple(ss["start"])


# -- URL ------------------------------------------------------------------------------


def _floats(text: str, n: int) -> tuple[float, ...]:
    try:
        parts = [float(v) for v in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != n or not all(math.isfinite(v) for v in parts):
        raise ValueError(f"expected {n} finite numbers separated by commas")
    return tuple(parts)


BOX_LIMIT = 1e4


def box_problem(box: tuple[float, ...]) -> str | None:
    """What is wrong with a box (amin, amax, bmin, bmax), in words; None when it is fine."""
    amin, amax, bmin, bmax = box
    if not all(math.isfinite(v) for v in box):
        return "expected finite numbers"
    if max(abs(v) for v in box) > BOX_LIMIT:
        return f"expected values within ±{BOX_LIMIT:,.0f}"
    if not (amin < amax and bmin < bmax):
        return "expected α min < α max and β min < β max"
    if min(amax - amin, bmax - bmin) < 1e-9 * max(1.0, *(abs(v) for v in box)):
        return "the box is too narrow to draw"
    return None


def _box(text: str) -> tuple[float, float, float, float]:
    box = _floats(text, 4)
    problem = box_problem(box)
    if problem is not None:
        raise ValueError(problem)
    return box  # type: ignore[return-value]


def _int_in(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise ValueError(f"expected a whole number from {lo} to {hi}")
        return value

    return parse


def _optimizers(text: str) -> list[str]:
    names = [v for v in text.split(",") if v]
    bad = [v for v in names if v not in core.OPTIMIZERS]
    if bad or not names:
        raise ValueError(f"unknown optimizer {bad}; known: {', '.join(core.OPTIMIZERS)}")
    return list(dict.fromkeys(names))


def _hp(text: str) -> dict[str, float]:
    out = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ValueError(f"expected name=number pairs separated by commas; {item!r} is not")
        out[key.strip()] = number
    return out


_GEN_NUMBERS = {"N": int, "E": int, "alpha": float, "beta": float, "seed": int}
_GEN_WORDS = {"I": "DISTRIBUTIONS", "D": "DISTRIBUTIONS", "y": ("expected", "sampled")}


def _gen(text: str) -> dict[str, Any]:
    """Parameters of core.generate from ``N=200,E=8,alpha=1,beta=-1,I=normal,...``."""
    out: dict[str, Any] = {"name": "generated"}
    for item in text.split(","):
        key, _, value = item.partition("=")
        if key in _GEN_NUMBERS:
            try:
                number = _GEN_NUMBERS[key](value)
            except ValueError:
                raise ValueError(f"{key} must be a number, got {value!r}") from None
            if not math.isfinite(number):
                raise ValueError(f"{key} must be finite")
            out[key] = number
        elif key in _GEN_WORDS:
            allowed = _GEN_WORDS[key]
            allowed = core.DISTRIBUTIONS if allowed == "DISTRIBUTIONS" else allowed
            if value not in allowed:
                raise ValueError(f"{key} must be one of {', '.join(allowed)}; got {value!r}")
            out[key] = value
        elif key == "events":
            lo, _, hi = value.partition("-")
            try:
                out["events"] = (int(lo), int(hi))
            except ValueError:
                raise ValueError(f"events must look like 2-8, got {value!r}") from None
        else:
            raise ValueError(f"unknown generator parameter {key!r}")
    if not 1 <= out.get("N", 200) <= 1_000_000 or not 1 <= out.get("E", 8) <= 200:
        raise ValueError("N must be 1 to 1,000,000 and E 1 to 200")
    return out


def _gen_text(source: dict) -> str:
    parts = []
    for key, value in source.items():
        if key in ("kind", "name"):
            continue
        if key == "events":
            parts.append(f"events={value[0]}-{value[1]}")
        elif isinstance(value, float):
            parts.append(f"{key}={_num(value)}")
        else:
            parts.append(f"{key}={value}")
    return ",".join(parts)


def _bool(text: str) -> bool:
    if text not in ("0", "1"):
        raise ValueError("expected 0 or 1")
    return text == "1"


_PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "box": ("box", _box),
    "res": ("res", _int_in(*RES_RANGE)),
    "log": ("log_color", _bool),
    "arrows": ("arrows", _bool),
    "opt": ("optimizers", _optimizers),
    "start": ("start", lambda t: _floats(t, 2)),
    "steps": ("steps", _int_in(*STEPS_RANGE)),
}


def parse_query(params: dict[str, str], notices: list[str]) -> dict[str, Any]:
    """Session values from URL parameters; a bad value falls back to its default with a notice."""
    out: dict[str, Any] = {}
    for param, (key, parse) in _PARSERS.items():
        if param in params:
            try:
                out[key] = parse(params[param])
            except (ValueError, TypeError) as exc:
                notices.append(f"Ignored `{param}={params[param]}` in the link: {exc}.")
    if "preset" in params:
        name = params["preset"]
        if name in core.PRESETS:
            seed = 0
            if "seed" in params:
                try:
                    seed = _int_in(0, 2**31 - 1)(params["seed"])
                except ValueError as exc:
                    notices.append(f"Ignored `seed={params['seed']}` in the link: {exc}.")
            out["source"] = {"kind": "preset", "name": name, "seed": seed}
        else:
            notices.append(
                f"Ignored `preset={name}` in the link: no such preset "
                f"(known: {', '.join(core.PRESETS)})."
            )
    if "gen" in params and "source" not in out:
        try:
            out["source"] = {"kind": "generated", **_gen(params["gen"])}
        except (ValueError, TypeError) as exc:
            notices.append(f"Ignored `gen={params['gen']}` in the link: {exc}.")
    hp: dict[str, dict[str, float]] = {}
    for param, value in params.items():
        if param.startswith("hp."):
            name = param[3:]
            try:
                if name not in core.OPTIMIZERS:
                    raise ValueError(f"unknown optimizer {name!r}")
                hp[name] = _hp(value)
            except (ValueError, TypeError) as exc:
                notices.append(f"Ignored `{param}={value}` in the link: {exc}.")
    if hp:
        out["hp"] = hp
    return out


def _num(v: float) -> str:
    return f"{v:.6g}"


def query_for_state() -> dict[str, str]:
    """The URL parameters that reopen the current view."""
    ss = st.session_state
    q: dict[str, str] = {}
    src = ss["source"]
    if src.get("kind") == "preset":
        q["preset"] = src["name"]
        q["seed"] = str(src["seed"])
    elif src.get("kind") == "generated":
        q["gen"] = _gen_text(src)
    q["box"] = ",".join(_num(v) for v in ss["box"])
    q["res"] = str(ss["res"])
    q["log"] = "1" if ss["log_color"] else "0"
    q["arrows"] = "1" if ss["arrows"] else "0"
    q["opt"] = ",".join(ss["optimizers"])
    q["start"] = ",".join(_num(v) for v in ss["start"])
    q["steps"] = str(ss["steps"])
    for name, values in ss["hp"].items():
        if values and name in ss["optimizers"]:
            q[f"hp.{name}"] = ",".join(f"{k}={_num(v)}" for k, v in values.items())
    return q


def sync_query() -> None:
    """Write the view into the URL (only what changed, to keep history quiet)."""
    want = query_for_state()
    have = dict(st.query_params)
    if want != have:
        st.query_params.from_dict(want)


def show_notices() -> None:
    notices = st.session_state.get("notices", [])
    for text in notices:
        st.warning(text, icon=":material/warning:")
    st.session_state["notices"] = []
