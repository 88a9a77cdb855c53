"""Researcher page "Filter experiments": the paper's Table 2 as a preview grid
(sample FAKE and REAL images, original and each filter), and a filter
experiment run as a background job: train on filtered images, test on filtered
and on original images (Tables 3 and 4), beside the paper's numbers."""
import numpy as np
import pandas as pd
import streamlit as st

from study import jobs
from study.data import filters
from study.data.active import active_dataset
from study.data.demo import DEMO_NOTE
from study.errors import StudyError
from study.experiments.view import filter_results
from study.labels import FAKE, REAL
from study.ml.recipe import TrainConfig
from ui.auth import require_researcher
from ui.pickers import data_select, device_select, filter_select, model_select
from ui.reports import draw_report, report_picker
from ui.resources import engine as study_engine

require_researcher()
st.title("Filter experiments")
engine = study_engine()
SCALE = 4  # 32 px -> 128 px, nearest neighbour: never blur what we study
jobs.reconcile(engine)

dataset = active_dataset(engine)
if dataset.is_demo:
    st.info(f"Images: {DEMO_NOTE}. Prepare CIFAKE on the Setup page to see the real ones.")


@st.cache_data(show_spinner=False, max_entries=8)
def sample(fingerprint: str, per_class: int, seed: int) -> dict[int, np.ndarray]:
    part = dataset.split("test") if np.any(dataset.splits == "test") else dataset
    rng = np.random.default_rng(seed)
    return {label: part.images[rng.choice(np.flatnonzero(part.labels == label), per_class, replace=False)]
            for label in (FAKE, REAL)}


def enlarge(images: np.ndarray) -> list[np.ndarray]:
    big = images.repeat(SCALE, axis=1).repeat(SCALE, axis=2)
    return [im[..., 0] if im.shape[-1] == 1 else im for im in big]  # one channel shows as grey


# ---------------------------------------------------------------- Table 2
st.subheader("Preview (the paper's Table 2)")
left, right = st.columns(2)
per_class = left.slider("Images per class", 1, 4, 2, key="preview-n")
seed = right.number_input("Sample seed", min_value=0, value=0, key="preview-seed")
samples = sample(dataset.fingerprint, per_class, int(seed))
head = st.columns([1, 2, 2])
head[1].markdown("**Fake**")
head[2].markdown("**Real**")
for name in [None, *filters.PAPER_FILTERS]:
    row = st.columns([1, 2, 2])
    row[0].markdown("Original" if name is None else filters.get(name).label)
    for column, label in zip(row[1:], (FAKE, REAL)):
        column.image(enlarge(filters.apply(name, samples[label])), width=32 * SCALE)
st.caption("SRM: the mean of the three SRM noise residuals of the luma, one channel; mid-grey = no residual.")

# ---------------------------------------------------------------- run one
with st.form("filter-form"):
    st.subheader("Run a filter experiment")
    left, right = st.columns(2)
    model = model_select(key="fx-model", container=left)
    image_filter = filter_select(key="fx-filter", container=right, choices=[*filters.PAPER_FILTERS, "srm3"])
    source = data_select("filter", engine, key="fx-data", container=left, default=dataset.source)
    epochs = left.number_input("Epochs", min_value=1, max_value=200, value=TrainConfig().epochs, key="fx-epochs")
    device = device_select(key="fx-device", container=right)
    max_train = left.number_input("Use at most N train images (0 = all)", min_value=0, value=0, key="fx-max-train")
    threads = right.number_input("CPU threads (0 = torch's choice)", min_value=0, value=0, key="fx-threads")
    all_four = st.checkbox("All four filters and a no-filter reference in one job, written up as a report "
                           "(the paper's Tables 3 and 4; the filter choice above is then ignored)", key="fx-all")
    start = st.form_submit_button("Run experiment", type="primary")
if start:
    common = {"model": model, "data": source, "epochs": int(epochs), "device": device,
              "max_train": int(max_train) or None, "threads": int(threads) or None}
    try:
        if all_four:
            job_id = jobs.submit({**common, "table": "3"}, kind="experiment", engine=engine,
                                 label=f"{model} · all four filters (Tables 3 and 4)")
        else:
            job_id = jobs.submit({**common, "filter": image_filter}, kind="filter", engine=engine,
                                 label=f"{model} · {image_filter} (filter experiment)")
    except StudyError as err:
        st.error(str(err))
    else:
        st.success(f"Job {job_id} queued; follow it on the Training page.")

# ---------------------------------------------------------------- results
st.subheader("Results beside the paper")
table3, table4 = filter_results(engine, jobs.list_jobs(engine, limit=200))
if table3:
    st.markdown("Trained and tested on filtered images (the paper's Table 3)")
    st.dataframe(pd.DataFrame(table3), hide_index=True, key="filter-results")
    st.markdown("Tested on the original test images (the paper's Table 4)")
    st.dataframe(pd.DataFrame(table4), hide_index=True, key="filter-results-original")
else:
    st.caption("No single-filter experiment yet.")

st.subheader("Tables 3 and 4 reports")
chosen = report_picker(("3", "4"), {"3": "Tables 3 and 4", "4": "Tables 3 and 4"}, key="fx-report")
if chosen is None:
    st.caption("No report yet: tick \"All four filters\" above, or from a terminal "
               "`python -m study reproduce --table 3 --quick --data demo`.")
else:
    draw_report(chosen, key="fx")
