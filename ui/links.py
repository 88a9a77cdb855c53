"""Links from one researcher page to another that stay in this tab. The
researcher login lives in the tab's Streamlit session, so a link that opens a
new tab (a markdown link, a LinkColumn) lands on the participants' consent
form; st.page_link navigates inside the session, query parameters included."""
from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from study.ml.live import LiveLink

LIVE_PAGE = "app_pages/predict.py"  # as streamlit_app.py registers it, relative to the entry point


def live_prediction_link(link: LiveLink, label: str) -> None:
    """A same-tab link to the Live predictions page showing what link names."""
    try:
        st.page_link(LIVE_PAGE, label=label, icon=":material/search:", query_params=link.query_params())
    except StreamlitPageNotFoundError:
        # The page runs on its own (`streamlit run app_pages/...`, a page test):
        # there is no navigation to link into, so say where to look instead.
        st.caption(f"{label}: the Live predictions page, ?{urlencode(link.query_params())}")
