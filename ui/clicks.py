"""Buttons that act once however fast they are clicked again.

A second click that lands while the first click's run is still working (a double
click, an impatient click during a spinner) asks Streamlit for another run with
the same button pressed, so an action taken on `st.button(...)` would run twice.
Here the button's key carries a number that the first click moves on before it
acts: the second click names a button that is no longer on the page, and
Streamlit drops it."""
from __future__ import annotations

import streamlit as st

_COUNTS = "once_button_counts"


def once_button(label: str, *, key: str, container=st, **options) -> bool:
    """st.button (options as st.button takes them) that is True once per click."""
    counts = st.session_state.setdefault(_COUNTS, {})
    clicked = container.button(label, key=f"{key}-{counts.get(key, 0)}", **options)
    if clicked:
        counts[key] = counts.get(key, 0) + 1  # before acting: a second click now names a stale button
    return clicked
