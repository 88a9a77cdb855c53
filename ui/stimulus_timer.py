"""Display time (display_ms conditions): the survey's images are hidden once their
time is up; the person still answers. The server says how much time is left
(counted from the first time the image was sent, so a reload gives no second
look) and stops sending the image once it is 0; this component hides the images
already on the screen when the rest runs out."""
from __future__ import annotations

import streamlit as st

# Constant code: the time left travels as the component's data.
_TIMER = st.components.v2.component(
    "stimulus_timer",
    js="""
export default function ({ data }) {
    const hide = () => {
        for (const image of document.querySelectorAll('[data-testid="stImage"] img')) {
            image.style.visibility = "hidden";
        }
    };
    const timer = setTimeout(hide, Math.max(0, data.ms_left));
    return () => clearTimeout(timer);
}
""",
)


def hide_images_after(ms_left: int, key: str) -> None:
    _TIMER(data={"ms_left": int(ms_left)}, key=key)
