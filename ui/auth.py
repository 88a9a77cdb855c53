"""Researcher login state. Researcher pages are only added to the navigation after
login, and each also calls require_researcher(), so a direct URL shows nothing."""
from __future__ import annotations

import streamlit as st

from study.auth import check_password, client_key, researcher_secret

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
    """Who is guessing, for the per-client slow-down: study.auth.client_key decides,
    from the direct peer (None for loopback and in AppTest) and X-Forwarded-For."""
    peer = getattr(st.context, "ip_address", None)
    return client_key(peer if isinstance(peer, str) and peer else None,
                      st.context.headers.get_all("X-Forwarded-For"))


def log_in(attempt: str) -> bool:
    """True when right; False when wrong (after the slow-down); raises StudyError
    (too many attempts at once, a bad TRUSTED_PROXIES) with a message to show."""
    ok = check_password(attempt, current_secret(), client=_client_address())
    if ok:
        st.session_state[SESSION_KEY] = True
    return ok


def log_out() -> None:
    st.session_state.pop(SESSION_KEY, None)


def require_researcher() -> None:
    if not is_researcher():
        st.error("This page is for researchers. Please log in first.")
        st.stop()
