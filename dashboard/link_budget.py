"""Links that ask for a lot of work wait for a click (issue 12).

Anyone can send a link. ``?gen=N=1000000,E=20`` generated 20M cells on open (89 s,
2.5 GB) and ``?preset=large&res=300&arrows=1`` drew a map of 100,000 × 8 cells at
90,000 points (over 120 s). A link's work is estimated before it is done: past the
budget the page shows what it would compute and waits for the user's click. Views the
user makes by hand are never held back (the sliders already say what they cost).

    values = defer(values, notices)   # in state.init_state: a big generated source waits
    pending_data()                    # on every page (state.show_notices): its button
    if not map_allowed(ds, res, arrows): st.stop()   # the landscape page, before the map
"""

from __future__ import annotations

from typing import Any

import streamlit as st

import core

# A generated data set of more cells than this waits for a click (about a second).
GEN_BUDGET_CELLS = 2_000_000
# A map of more cell evaluations (N·E·res²) than this waits for a click (~10 s here).
MAP_BUDGET = 1e10

_PENDING = "link_pending_source"  # a generated source the link asked for, not yet built
_LINK_MAP = "link_map_unconfirmed"  # the map still comes from the link (not confirmed)


def gen_cells(source: dict[str, Any]) -> int:
    """N·E of a generated source (core.generate's defaults where the link says nothing)."""
    return int(source.get("N", 200)) * int(source.get("E", 8))


def map_work(ds: core.Dataset, res: int) -> float:
    """Cell evaluations of a res × res map of ``ds``."""
    return float(ds.N) * ds.E * res * res


def defer(values: dict[str, Any], link: bool) -> dict[str, Any]:
    """``values`` decoded from a link, minus a generated source over the budget (kept in
    the session until the user asks for it). Marks the map as the link's when ``link``."""
    ss = st.session_state
    ss[_LINK_MAP] = link
    source = values.get("source") or {}
    if source.get("kind") == "generated" and gen_cells(source) > GEN_BUDGET_CELLS:
        view = ("source", "box", "start")  # the box and start belong to that data
        ss[_PENDING] = {k: values[k] for k in view if k in values}
        values = {k: v for k, v in values.items() if k not in view}
    return values


def pending_data() -> None:
    """The link's generated data set, described, with a button that builds it."""
    pending = st.session_state.get(_PENDING)
    if not pending:
        return
    source = pending["source"]
    params = {k: v for k, v in source.items() if k != "kind"}
    cells = gen_cells(source)
    with st.container(border=True):
        st.info(
            f"This link asks to generate N = {int(params.get('N', 200)):,} rows × E = "
            f"{int(params.get('E', 8))} events: {cells:,} cells, about "
            f"{cells * 16 * 4 / 1e9:.1f} GB while it is made, and a while to compute. The "
            "default data is shown until you ask for it.",
            icon=":material/hourglass_top:",
        )
        if st.button("Generate the link's data", key="link_generate"):
            from dashboard import state  # state imports this module
            from dashboard.ui import guard
            from dashboard.widgets import refresh

            del st.session_state[_PENDING]
            with guard("Generating the link's data"):
                state.set_dataset(core.generate(**params), source)
                view = {k: v for k, v in pending.items() if k != "source"}
                st.session_state.update(view)
                refresh(*view)
                st.rerun()


def map_allowed(ds: core.Dataset, res: int) -> bool:
    """False (and a button that allows it) while the link's own map is over the budget."""
    ss = st.session_state
    view = (ds.fingerprint, int(res))
    if ss.get(_LINK_MAP) is True:  # the first map since the link opened
        ss[_LINK_MAP] = view if map_work(ds, res) > MAP_BUDGET else None
    if ss.get(_LINK_MAP) != view:  # confirmed, within budget, or changed by the user
        ss[_LINK_MAP] = None
        return True
    with st.container(border=True):
        st.info(
            f"This link asks for a {res} × {res} map of {ds.N:,} rows × {ds.E} events: "
            f"{map_work(ds, res):.2g} cell evaluations, which may take minutes. Lower the "
            "resolution in the sidebar, or compute it as linked.",
            icon=":material/hourglass_top:",
        )
        if st.button("Compute the map", type="primary", key="link_map_go"):
            ss[_LINK_MAP] = None
            st.rerun()
    return False
