"""The app's pages, one file each (streamlit_app.py runs them by path). A package
only so that the import contracts (.importlinter) can name it."""
