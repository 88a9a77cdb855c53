"""Links from a researcher page to another page of the app that stay in this tab. The
researcher login lives in the tab's Streamlit session, so a link that opens a
new tab (a markdown link, a LinkColumn) lands on the participants' consent
form; st.page_link navigates inside the session, query parameters included."""
from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from study.ml.live import LiveLink

LIVE_PAGE = "app_pages/predict.py"  # as streamlit_app.py registers it, relative to the entry point
SURVEY_PAGE = "app_pages/survey.py"


def live_prediction_link(link: LiveLink, label: str) -> None:
    """A same-tab link to the Live predictions page showing what link names."""
    try:
        st.page_link(LIVE_PAGE, label=label, icon=":material/search:", query_params=link.query_params())
    except StreamlitPageNotFoundError:
        # The page runs on its own (`streamlit run app_pages/...`, a page test):
        # there is no navigation to link into, so say where to look instead.
        st.caption(f"{label}: the Live predictions page, ?{urlencode(link.query_params())}")


def survey_link(token: str, label: str) -> None:
    """A same-tab link to the survey as the participant with this token sees it
    (?p=TOKEN), so that a researcher's preview keeps the login."""
    try:
        st.page_link(SURVEY_PAGE, label=label, icon=":material/visibility:", query_params={"p": token})
    except StreamlitPageNotFoundError:
        st.caption(f"{label}: the survey page, ?{urlencode({'p': token})}")
