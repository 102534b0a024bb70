"""Helpers for AppTest: run the app, read Plotly specs (base64 arrays decoded)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


def new_app(query: dict[str, str] | None = None) -> AppTest:
    """A fresh session of the app (data and resource caches cleared), run once."""
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    return at


def decode(value):
    """Plotly's typed arrays ({dtype, bdata[, shape]}) as numpy; anything else as is."""
    if isinstance(value, dict) and "bdata" in value:
        arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        if "shape" in value:
            shape = value["shape"]
            shape = [int(k) for k in shape.split(",")] if isinstance(shape, str) else shape
            arr = arr.reshape(shape)
        return arr
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def chart_spec(at: AppTest, key_suffix: str) -> dict:
    """The spec of the plotly chart whose element id ends with ``key_suffix``."""
    for chart in at.get("plotly_chart"):
        if chart.proto.id.endswith(key_suffix):
            return json.loads(chart.proto.spec)
    ids = [c.proto.id for c in at.get("plotly_chart")]
    raise AssertionError(f"no plotly chart with key {key_suffix!r}; charts: {ids}")


def traces(spec: dict) -> dict[str, dict]:
    return {t.get("name"): t for t in spec["data"]}


def assert_clean(at: AppTest) -> None:
    """No exception and no error box on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def button(at: AppTest, label: str):
    for b in at.button:
        if b.label == label:
            return b
    raise AssertionError(f"no button {label!r}; have {[b.label for b in at.button]}")


def widget(elements, label: str):
    for w in elements:
        if w.label == label:
            return w
    raise AssertionError(f"no widget {label!r}; have {[w.label for w in elements]}")


def maps(at: AppTest) -> list:
    """The landscape map components of the last run (dashboard/explore_map.py), without
    the preloader the page mounts first (it only loads Plotly's code)."""
    return [
        c for c in at.get("bidi_component") if not json.loads(c.proto.json or "{}").get("preload")
    ]
