import streamlit as st

from study.data import admin as dataset_admin
from study.data import image_sets
from study.data.imports import DEFAULT_MAX_SIDE, NothingImported, import_images
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

st.subheader("Your own image sets")
st.markdown(
    "Import your own photos and generator outputs at their own resolution: a folder, `.zip` or `.tar.gz` "
    "with label folders (`REAL`/`FAKE`, or `real`, `human`, `fake`, `ai`, `generated`, any case; folders "
    "around them become categories) or a CSV manifest at its top (`path,label[,generator][,category]`). "
    "JPEG, PNG and WebP; each image is checked, turned upright by its EXIF tag, shrunk to the long-side cap "
    "if larger, and stored once as a PNG of its pixels alone (no EXIF, no GPS, no file name)."
)
with st.form("import"):
    import_source = st.text_input("Folder or archive on the server")
    name = st.text_input("Name of the image set", help="letters, digits, - _ .")
    max_side = st.number_input("Long-side cap (pixels)", min_value=32, max_value=8192, value=DEFAULT_MAX_SIDE,
                               help="larger images are shrunk to this (LANCZOS); smaller ones stay as they are")
    imported = st.form_submit_button("Import")
if imported and import_source.strip():
    bar = st.progress(0.0, text="Reading the source…")

    def _import_progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Checked and stored {done:,} of {total:,} files")

    try:
        report = import_images(engine(), import_source.strip(), name.strip(), max_side=int(max_side),
                               progress=_import_progress)
    except NothingImported as err:
        bar.empty()
        st.error(str(err))
        st.dataframe(err.report["failed"], hide_index=True)
    except StudyError as err:
        bar.empty()
        st.error(str(err))
    else:
        bar.empty()
        counts = ", ".join(f"{label} {n:,}" for label, n in report["by_label"].items())
        if report["unchanged"]:
            st.info(f"Image set **{report['name']}** was already imported from this source: nothing changed.")
        else:
            st.success(f"Imported **{report['name']}**: {report['imported']:,} images ({counts}).")
        st.caption(f"{len(report['converted']):,} converted, {len(report['duplicates']):,} duplicates kept once, "
                   f"{len(report['failed']):,} could not be imported.")
        for title, rows in (("Could not be imported", report["failed"]), ("Duplicates kept once", report["duplicates"]),
                            ("Converted", [{"path": c["path"], "steps": "; ".join(c["steps"])}
                                           for c in report["converted"]])):
            if rows:
                with st.expander(f"{title} ({len(rows):,})"):
                    st.dataframe(rows, hide_index=True)
listed = image_sets.summaries(engine())  # after the import, so a new set is in the list at once
if listed:
    st.dataframe(listed, hide_index=True)
