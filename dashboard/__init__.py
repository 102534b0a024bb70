"""losslens dashboard: Streamlit pages over `core`."""
