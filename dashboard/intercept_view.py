"""Data page: "Add an intercept (D = 1)" for an uploaded dataset, in one click.

The model X = αI + βD has no constant term. When I and D are both centred, every row has
events of both signs and no (α, β) brings s down to a small y (the report's y_range error,
from core.reach). Replacing D by 1 at every present event makes β an intercept. Called from
dashboard/views/data.py under the sanity report.
"""

from __future__ import annotations

import streamlit as st

import core
from dashboard import state


def _add(ds: core.Dataset) -> None:
    source = {**st.session_state["source"], "intercept": True}
    state.set_dataset(core.with_intercept(ds), source)
    st.toast("D replaced by 1 at every event: β is now an intercept.", icon=":material/add:")


def offer_intercept(ds: core.Dataset, report: core.Report) -> None:
    """The one-click remedy, for an uploaded (or sample) dataset that has no intercept yet."""
    source = st.session_state.get("source", {})
    if source.get("kind") not in ("upload", "sample") or source.get("intercept"):
        return
    unreachable = "y_range" in report and report["y_range"].severity == "error"
    unreachable = unreachable and "no intercept" in report["y_range"].message
    with st.container(border=True):
        st.markdown(
            "**No (α, β) reaches y on these data: the model has no intercept.**"
            if unreachable
            else "**Intercept.** X = αI + βD has no constant term."
        )
        st.caption(
            "Replace D by 1 at every present event (absent events stay absent): then "
            "X = αI + β, so β shifts every event's log-odds and α weighs I. The old D is "
            "dropped; upload it again to get it back."
        )
        st.button(
            "Add an intercept (D = 1)",
            key="add_intercept",
            type="primary" if unreachable else "secondary",
            on_click=_add,
            args=(ds,),
        )
