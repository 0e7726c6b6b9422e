"""Streamlit helpers shared by app.py and the pages: session keys, loading, sidebar."""
