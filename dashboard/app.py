"""losslens entry point: set the page up, initialise state once, route, write the URL.

Run with `streamlit run dashboard/app.py` (the project must be installed: scripts/run).

The URL is written in one place: :func:`state.sync_query` at the end of every run,
after the page (and its widget callbacks, which run before it) changed the state; in
``finally``, so a page that stops early still leaves the URL in step. Fragment reruns
(the descent on the Landscape page) do not rerun this file, and need no hook of their
own: a fragment changes only ``runs`` and ``step_index``, which the URL does not hold,
and a click on its map that moves the start asks for a full rerun (st.rerun()).
"""

from pathlib import Path

import streamlit as st

from dashboard import compute, state
from dashboard.ui import guard

HERE = Path(__file__).parent

st.set_page_config(page_title="losslens", page_icon=":material/troubleshoot:", layout="wide")

with guard("Starting losslens"):
    state.init_state()

pages = [
    st.Page(
        HERE / "views" / "landscape.py",
        title="Landscape & descent",
        icon=":material/landscape:",
        default=True,
    ),
    st.Page(
        HERE / "views" / "data.py", title="Data", icon=":material/table_chart:", url_path="data"
    ),
    st.Page(
        HERE / "views" / "derivation.py",
        title="Derivation",
        icon=":material/function:",
        url_path="derivation",
    ),
]
page = st.navigation(pages)
try:
    with guard(page.title):
        page.run()
finally:
    if "dataset" in st.session_state:  # init_state succeeded
        with guard("Updating the link"):
            state.sync_query()
# After the first paint, not before it:
compute.warm_up_in_background()
compute.preload()
