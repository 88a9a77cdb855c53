import streamlit as st

from study.data import admin as dataset_admin
from study.errors import StudyError
from ui.auth import require_researcher
from ui.resources import engine

require_researcher()
st.title("Setup")

st.subheader("Dataset")
status = dataset_admin.status(engine())
if status["prepared"]:
    st.success(f"Serving CIFAKE from `{status['source']}`"
               + (" (set by CIFAKE_ROOT)" if status["source_from"] == "CIFAKE_ROOT" else ""))
    counts = status.get("counts", {})
    st.table({split: {label: f"{n:,}" for label, n in by_label.items()} for split, by_label in counts.items()})
    dup = status.get("duplicates", {})
    st.write(
        f"Exact duplicates: {dup.get('groups', 0):,} contents occur more than once "
        f"({dup.get('images_in_groups', 0):,} images); {dup.get('across_splits', 0):,} test images also occur in train. "
        f"Converted to 32x32 RGB: {status.get('converted', {}).get('count', 0):,}."
    )
    st.caption(f"Cache: {status.get('cache_path', '')}")
else:
    st.warning(status["message"])

st.markdown(
    "Point the app at CIFAKE: a folder with Kaggle's layout (`train|test/REAL|FAKE/*.jpg`), "
    "Kaggle's zip, a `.tar.gz` of that layout, or a folder holding such archives. "
    "Get it with `python -m study data download` or from Kaggle "
    "(`birdy654/cifake-real-and-ai-generated-synthetic-images`)."
)
with st.form("prepare"):
    source = st.text_input("Path on the server", value=status.get("source") or "")
    submitted = st.form_submit_button("Prepare")
if submitted and source.strip():
    bar = st.progress(0.0, text="Reading images…")

    def _progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Decoded {done:,} of {total:,} images")

    try:
        dataset = dataset_admin.prepare(engine(), source.strip(), progress=_progress)
    except StudyError as err:
        bar.empty()
        st.error(str(err))
    else:
        bar.progress(1.0, text=f"Ready: {len(dataset):,} images")
        st.rerun()
