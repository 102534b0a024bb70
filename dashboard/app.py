"""losslens entry point: set the page up, initialise state once, route. Nothing else.

Run with `streamlit run dashboard/app.py` (the project must be installed: scripts/run).
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
with guard(page.title):
    page.run()
# After the first paint, not before it:
compute.warm_up_in_background()
compute.preload()
