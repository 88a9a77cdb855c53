"""Entry point: `streamlit run streamlit_app.py`.

Participants only ever see the survey (no navigation at all); the login page is
reachable at /login. Researcher pages join the navigation after login, so their
URLs lead nowhere for anyone else. Icons are Streamlit's Material Symbols (a
font the app serves itself), not emoji: lab machines and kiosks often lack an
emoji font and would show empty boxes."""
import streamlit as st

from study.labels import ANSWER_NAMES, FAKE, REAL
from ui.auth import current_secret, is_researcher
from ui.resources import engine

TITLE = f"{ANSWER_NAMES[REAL]} or {ANSWER_NAMES[FAKE]}?"
ICON = ":material/image_search:"


@st.cache_resource(show_spinner=False)
def _prepare_once() -> None:
    engine()  # creates or upgrades the database before the first page needs it
    current_secret()  # generates the researcher secret on first start, prints where


def main() -> None:
    _prepare_once()

    survey = st.Page("app_pages/survey.py", title="Survey", icon=ICON, default=True)
    login = st.Page("app_pages/login.py", title="Researcher login", icon=":material/key:", url_path="login")
    researcher_pages = []

    if is_researcher():
        researcher_pages = [
            st.Page("app_pages/setup.py", title="Setup", icon=":material/settings:", url_path="setup"),
            st.Page("app_pages/survey_admin.py", title="Survey sets", icon=":material/folder_open:",
                    url_path="survey-sets"),
            st.Page("app_pages/results.py", title="Results", icon=":material/bar_chart:", url_path="results"),
            st.Page("app_pages/predict.py", title="Live predictions", icon=":material/search:", url_path="predict"),
            st.Page("app_pages/training.py", title="Training", icon=":material/fitness_center:", url_path="training"),
            st.Page("app_pages/filters.py", title="Filter experiments", icon=":material/tune:", url_path="filters"),
            st.Page("app_pages/experiments.py", title="Sweeps and augmentation", icon=":material/monitoring:",
                    url_path="experiments"),
        ]
        page = st.navigation(
            {"Participants": [survey], "Researcher": researcher_pages, "Account": [login]},
            position="sidebar",
        )
    else:
        page = st.navigation([survey, login], position="hidden")

    # Which page runs decides the layout: a participant reads one centred column;
    # the researcher pages' tables and figures need the window's width.
    st.set_page_config(page_title=TITLE, page_icon=ICON, layout="wide" if page in researcher_pages else "centered")
    page.run()


# Streamlit runs this file as __main__; a process pool started from a page (dataset
# decoding, on machines with cores to spare) re-runs the parent's main file in each
# child as __mp_main__, where it must not open the database or draw pages.
if __name__ != "__mp_main__":
    main()
