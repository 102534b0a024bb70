import streamlit as st

st.header("derivation")
st.info("Coming soon.")
