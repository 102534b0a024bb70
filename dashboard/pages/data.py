import streamlit as st

st.header("data")
st.info("Coming soon.")
