"""Streamlit helpers shared by the pages: the login gate and cached resources.
The only place besides app_pages/ and streamlit_app.py that imports streamlit."""
