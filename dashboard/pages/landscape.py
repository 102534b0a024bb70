import streamlit as st

st.header("landscape")
st.info("Coming soon.")
