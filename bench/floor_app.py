"""The floor for bench/survey_browser_load.py: the least a Streamlit page can do for
one survey click (a title, a progress bar, a 288 px PNG and two buttons; a click
moves to the next picture, kept in the session). Our survey's server CPU per
click is reported as a ratio to this page's, measured in the same run."""
import io

import numpy as np
import streamlit as st
from PIL import Image


@st.cache_resource
def pictures() -> list[bytes]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(16):
        small = Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
        buffer = io.BytesIO()
        small.resize((288, 288), Image.Resampling.NEAREST).save(buffer, format="PNG")
        out.append(buffer.getvalue())
    return out


def advance() -> None:
    st.session_state["k"] = st.session_state.get("k", 1) + 1


k = st.session_state.get("k", 1)
st.title("Real photo or AI-generated?")
if k > 15:
    st.success("Thank you!")
    st.stop()
st.progress((k - 1) / 15, text=f"Image {k} of 15")
st.image(pictures()[k], width=288, output_format="PNG")
left, right = st.columns(2)
left.button("Real photo", on_click=advance, key=f"real-{k}")
right.button("AI-generated", on_click=advance, key=f"ai-{k}")
