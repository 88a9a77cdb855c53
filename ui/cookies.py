"""First-party cookies written from the page (Streamlit's server sets none for us):
one component with constant code; the cookie's name, value and lifetime travel as
its data, never spliced into markup. Streamlit reads cookies once, when a tab
connects (st.context.cookies), so a cookie written now is seen by the next
connection: a reload, a new tab, a link opened later."""
from __future__ import annotations

import streamlit as st

_WRITER = st.components.v2.component(
    "first_party_cookie",
    js="""
export default function ({ data }) {
    const secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `${data.name}=${encodeURIComponent(data.value)}; Path=/; Max-Age=${data.max_age}; SameSite=${data.same_site}${secure}`;
}
""",
)


def read_cookie(name: str) -> str | None:
    value = st.context.cookies.get(name)
    return value if isinstance(value, str) else None  # AppTest has no real client


def write_cookie(name: str, value: str, *, max_age_s: int, key: str, same_site: str = "Lax") -> None:
    """Set (or, with max_age_s=0, delete) a cookie in this browser."""
    _WRITER(data={"name": name, "value": value, "max_age": int(max_age_s), "same_site": same_site}, key=key)
