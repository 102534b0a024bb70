"""Widgets bound to session-state keys that outlive page switches.

Streamlit drops a widget's own key when a run does not draw it (e.g. on another
page), so each widget gets a private key ``w_<state key>`` seeded from the
durable state key, and a callback copies changes back and updates the URL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from dashboard import state


def _wkey(key: str) -> str:
    return f"w_{key}"


def bound(widget: Callable[..., Any], label: str, key: str, *, on_set=None, **kwargs) -> Any:
    """Draw ``widget`` showing ``st.session_state[key]``; changes write back to it."""
    ss = st.session_state
    wkey = _wkey(key)
    if wkey not in ss:
        ss[wkey] = ss[key]

    def copy() -> None:
        ss[key] = ss[wkey]
        if on_set is not None:
            on_set()
        state.sync_query()

    return widget(label, key=wkey, on_change=copy, **kwargs)


def refresh(*keys: str) -> None:
    """Re-seed widgets from state after code changed the state (call before drawing them)."""
    for key in keys:
        st.session_state.pop(_wkey(key), None)
