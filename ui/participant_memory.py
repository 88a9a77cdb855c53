"""The browser remembers its participant: a first-party cookie, written as soon as
the consent page is shown (before the participant row exists), plus this tab's
session state. So `/`, the Back button, a reload right after "Continue" and a
double click come back to the same participant instead of starting a new one.

Streamlit reads cookies once, when the tab connects (st.context.cookies), so a
cookie written during this session is seen by the next one (a reload, a new
tab); within the session, session state carries the token."""
from __future__ import annotations

import streamlit as st

from ui.cookies import read_cookie, write_cookie

COOKIE = "survey_participant"
MAX_AGE_S = 90 * 24 * 3600  # a study's field period, with room to spare
_SESSION_KEY = "participant_token"
_WRITTEN_KEY = "participant_cookie_written"


def _cookie() -> str | None:
    return read_cookie(COOKIE)


def remembered_tokens() -> list[str | None]:
    """This tab's token first (it is the newest), then the cookie's."""
    return [st.session_state.get(_SESSION_KEY), _cookie()]


def remember(token: str) -> None:
    """Keep `token` in this tab and in the browser's cookie."""
    st.session_state[_SESSION_KEY] = token
    if st.session_state.get(_WRITTEN_KEY) == token or _cookie() == token:
        return
    st.session_state[_WRITTEN_KEY] = token
    write_cookie(COOKIE, token, max_age_s=MAX_AGE_S, key="participant-cookie")
