"""Researcher login state. Researcher pages are only added to the navigation after
login, and each also calls require_researcher(), so a direct URL shows nothing.

A login lives in the tab's session and, for RESEARCHER_SESSION_HOURS, in a signed
cookie (study/sessions.py), so a reload, a new tab or a researcher page's link
keeps it. Every run checks it again: "Log out" in any tab, or a new password,
ends it in every tab. The cookie is written by the page (SameSite=Strict; Secure
over https); JavaScript can read it, which is why no page renders HTML from data."""
from __future__ import annotations

import streamlit as st

from study import sessions
from study.auth import check_password, client_key, researcher_secret
from ui.cookies import read_cookie, write_cookie
from ui.resources import engine

SESSION_KEY = "researcher"
SESSION_COOKIE = "researcher_session"
_TOKEN, _EPOCH, _SECRET, _COOKIE_STATE = "researcher_token", "researcher_epoch", "researcher_secret_id", \
    "researcher_cookie"


def _secret_from_toml() -> str | None:
    try:
        value = st.secrets.get("RESEARCHER_PASSWORD")
    except Exception:  # no secrets.toml at all: Streamlit raises rather than returning None
        return None
    return str(value) if value else None


def current_secret() -> str:
    return researcher_secret(_secret_from_toml())


def _secrets_section(name: str) -> dict:
    try:
        section = st.secrets.get(name)
    except Exception:  # no secrets.toml at all
        return {}
    return dict(section) if section else {}


def sso_configured() -> bool:
    """Single sign-on through the institution's OpenID Connect provider (st.login):
    configured by an [auth] section in .streamlit/secrets.toml (see the README)."""
    return bool(_secrets_section("auth"))


def sso_researchers() -> set[str]:
    """The e-mail addresses that single sign-on admits as researchers ([researchers] emails)."""
    return {str(e).strip().lower() for e in _secrets_section("researchers").get("emails", []) if str(e).strip()}


def sso_user_email() -> str | None:
    """The signed-in account's e-mail, when single sign-on is configured and used."""
    if not sso_configured() or not st.user.get("is_logged_in"):
        return None
    return str(st.user.get("email") or "").strip().lower() or None


def _sso_researcher() -> bool:
    email = sso_user_email()
    return email is not None and email in sso_researchers() and st.user.get("email_verified") is not False


def is_researcher() -> bool:
    if _sso_researcher():
        return True
    if st.session_state.get(SESSION_KEY):
        if _still_valid():
            return True
        _forget_here()  # logged out in another tab, or the password changed
        return False
    token = read_cookie(SESSION_COOKIE)
    if token and st.session_state.get(_COOKIE_STATE) != "delete" and \
            sessions.is_valid(engine(), current_secret(), token):
        _remember(token, written=True)
        return True
    return False


def _still_valid() -> bool:
    # A flag set without a login's marks (tests set only the flag) is checked for the epoch alone.
    if st.session_state.get(_EPOCH, 0) != sessions.current_epoch(engine()):
        return False
    known = st.session_state.get(_SECRET)
    return known is None or known == sessions.secret_fingerprint(current_secret())


def _remember(token: str, *, written: bool) -> None:
    st.session_state[SESSION_KEY] = True
    st.session_state[_TOKEN] = token
    st.session_state[_EPOCH] = sessions.current_epoch(engine())
    st.session_state[_SECRET] = sessions.secret_fingerprint(current_secret())
    st.session_state[_COOKIE_STATE] = "written" if written else "to write"


def _forget_here() -> None:
    for key in (SESSION_KEY, _TOKEN, _EPOCH, _SECRET):
        st.session_state.pop(key, None)
    st.session_state[_COOKIE_STATE] = "delete"


def sync_cookie() -> None:
    """Write the login's cookie after a login, delete it after a logout. Called by the
    login page on the run after the action (the action's own run ends in st.rerun,
    which would drop the cookie writer before the browser saw it)."""
    state = st.session_state.get(_COOKIE_STATE)
    if state == "to write" and st.session_state.get(_TOKEN):
        write_cookie(SESSION_COOKIE, st.session_state[_TOKEN], max_age_s=int(sessions.session_hours() * 3600),
                     key="researcher-cookie-write", same_site="Strict")
        st.session_state[_COOKIE_STATE] = "written"
    elif state == "delete":
        write_cookie(SESSION_COOKIE, "", max_age_s=0, key="researcher-cookie-delete", same_site="Strict")


def _client_address() -> str:
    """Who is guessing, for the per-client slow-down: study.auth.client_key decides,
    from the direct peer (None for loopback and in AppTest) and X-Forwarded-For."""
    peer = getattr(st.context, "ip_address", None)
    return client_key(peer if isinstance(peer, str) and peer else None,
                      st.context.headers.get_all("X-Forwarded-For"))


def log_in(attempt: str) -> bool:
    """True when right; False when wrong (after the slow-down); raises StudyError
    (too many attempts at once, a bad TRUSTED_PROXIES) with a message to show."""
    secret = current_secret()
    ok = check_password(attempt, secret, client=_client_address())
    if ok:
        _remember(sessions.issue(engine(), secret), written=False)
    return ok


def log_out() -> None:
    """End the login in this tab and everywhere else (every tab, every browser); a
    single sign-on login is ended with the provider's session cookie (st.logout)."""
    sessions.end_all(engine())
    _forget_here()
    if sso_user_email() is not None:
        st.logout()


def require_researcher() -> None:
    if not is_researcher():
        st.error("This page is for researchers. Please log in first.")
        st.stop()
