"""The browser remembers its participant: a first-party cookie, written as soon as
the consent page is shown (before the participant row exists), plus this tab's
session state. So `/`, the Back button, a reload right after "Continue" and a
double click come back to the same participant instead of starting a new one.

Streamlit reads cookies once, when the tab connects (st.context.cookies), so a
cookie written during this session is seen by the next one (a reload, a new
tab); within the session, session state carries the token."""
from __future__ import annotations

import streamlit as st

COOKIE = "survey_participant"
MAX_AGE_S = 90 * 24 * 3600  # a study's field period, with room to spare
_SESSION_KEY = "participant_token"
_WRITTEN_KEY = "participant_cookie_written"


def _cookie() -> str | None:
    value = st.context.cookies.get(COOKIE)
    return value if isinstance(value, str) else None  # AppTest has no real client


def remembered_tokens() -> list[str | None]:
    """This tab's token first (it is the newest), then the cookie's."""
    return [st.session_state.get(_SESSION_KEY), _cookie()]


# Constant code; the token travels as the component's data, never spliced into markup.
_COOKIE_WRITER = st.components.v2.component(
    "participant_cookie",
    js="""
export default function ({ data }) {
    const secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `${data.name}=${encodeURIComponent(data.token)}; Path=/; Max-Age=${data.max_age}; SameSite=Lax${secure}`;
}
""",
)


def remember(token: str) -> None:
    """Keep `token` in this tab and in the browser's cookie."""
    st.session_state[_SESSION_KEY] = token
    if st.session_state.get(_WRITTEN_KEY) == token or _cookie() == token:
        return
    st.session_state[_WRITTEN_KEY] = token
    _COOKIE_WRITER(data={"name": COOKIE, "token": token, "max_age": MAX_AGE_S}, key="participant-cookie")
