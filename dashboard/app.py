"""losslens: entry point. Run with `streamlit run dashboard/app.py`."""

import streamlit as st

st.set_page_config(page_title="losslens", layout="wide")
st.title("losslens")
st.write("The loss surface of the noisy-OR count model.")
