"""Things a Streamlit process opens once and shares between sessions."""
from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from db import open_database
from study.config import ensure_home, get_settings


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    ensure_home()
    return open_database(url)


def engine() -> Engine:
    """The study database, created or upgraded on first use in this process.
    Keyed by URL so a changed DATABASE_URL (e.g. in tests) opens the right one."""
    return _engine_for(get_settings().database_url)
