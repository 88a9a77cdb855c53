"""Entry point: `streamlit run streamlit_app.py`.

Participants only ever see the survey (no navigation at all); the login page is
reachable at /login. Researcher pages join the navigation after login, so their
URLs lead nowhere for anyone else."""
import streamlit as st

from ui.auth import current_secret, is_researcher
from ui.resources import engine

st.set_page_config(page_title="Real photo or AI-generated?", page_icon="🖼️", layout="centered")


@st.cache_resource(show_spinner=False)
def _prepare_once() -> None:
    engine()  # creates or upgrades the database before the first page needs it
    current_secret()  # generates the researcher secret on first start, prints where


_prepare_once()

survey = st.Page("app_pages/survey.py", title="Survey", icon="🖼️", default=True)
login = st.Page("app_pages/login.py", title="Researcher login", icon="🔑", url_path="login")

if is_researcher():
    researcher_pages = [
        st.Page("app_pages/setup.py", title="Setup", icon="🛠️", url_path="setup"),
        st.Page("app_pages/survey_admin.py", title="Survey sets", icon="🗂️", url_path="survey-sets"),
        st.Page("app_pages/results.py", title="Results", icon="📊", url_path="results"),
        st.Page("app_pages/predict.py", title="Live predictions", icon="🔍", url_path="predict"),
        st.Page("app_pages/training.py", title="Training", icon="🏋️", url_path="training"),
        st.Page("app_pages/filters.py", title="Filter experiments", icon="🎛️", url_path="filters"),
        st.Page("app_pages/experiments.py", title="Sweeps and augmentation", icon="📈", url_path="experiments"),
    ]
    page = st.navigation(
        {"Participants": [survey], "Researcher": researcher_pages, "Account": [login]},
        position="sidebar",
    )
else:
    page = st.navigation([survey, login], position="hidden")
page.run()
