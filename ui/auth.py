"""Researcher login state. Researcher pages are only added to the navigation after
login, and each also calls require_researcher(), so a direct URL shows nothing."""
from __future__ import annotations

import streamlit as st

from study.auth import check_password, researcher_secret

SESSION_KEY = "researcher"


def _secret_from_toml() -> str | None:
    try:
        value = st.secrets.get("RESEARCHER_PASSWORD")
    except Exception:  # no secrets.toml at all: Streamlit raises rather than returning None
        return None
    return str(value) if value else None


def current_secret() -> str:
    return researcher_secret(_secret_from_toml())


def is_researcher() -> bool:
    return bool(st.session_state.get(SESSION_KEY))


def _client_address() -> str:
    """Who is guessing, for the per-client slow-down. Localhost (and AppTest) give
    no usable address: those attempts share one bucket, which still slows them."""
    address = getattr(st.context, "ip_address", None)
    return address if isinstance(address, str) and address else "unknown"


def log_in(attempt: str) -> bool:
    client = _client_address()
    ok = check_password(attempt, current_secret(), client=client)
    if ok:
        st.session_state[SESSION_KEY] = True
    return ok


def log_out() -> None:
    st.session_state.pop(SESSION_KEY, None)


def require_researcher() -> None:
    if not is_researcher():
        st.error("This page is for researchers. Please log in first.")
        st.stop()
