"""Researcher page "Sweeps and augmentation": the paper's hyperparameter study
of its configurable CNN (Figures 5-7) and its augmentation experiment, run as
background jobs (many trainings each), followed live, and read as reports
beside the paper's statements. Reports written headless by
`python -m study reproduce` show here too, the robustness report among them
(`--table robustness`: checkpoints under JPEG, blur, noise and rescaling)."""
import pandas as pd
import streamlit as st

from study import jobs
from study.data.active import DEMO_SOURCE
from study.errors import StudyError
from study.experiments.plan import Plan, trainings_planned
from ui.auth import require_researcher
from ui.jobs import job_card
from ui.pickers import data_select, device_select, model_select
from ui.reports import draw_report, report_picker
from ui.resources import engine as study_engine

require_researcher()
st.title("Sweeps and augmentation")
engine = study_engine()
POLL_SECONDS = 2.0
EXPERIMENTS = {"sweeps": "Sweeps of the configurable CNN (Figures 5–7)",
               "augment": "Augmentation: the same model trained without and with it"}
REPORTS = {**EXPERIMENTS, "robustness": "Robustness: accuracy and AUROC under JPEG, blur, noise and rescaling"}
jobs.reconcile(engine)

# ---------------------------------------------------------------- the form
full_sweep = Plan.make("sweeps")
st.caption(f"A sweep trains {trainings_planned(full_sweep)} models: conv layers {full_sweep.grid['n_conv']} × dense "
           f"layers {full_sweep.grid['n_dense']} × units {full_sweep.grid['dense_units']}, then L2 "
           f"{full_sweep.l2} and dropout {full_sweep.dropout} on the best of that grid (by validation accuracy). "
           "The augmentation experiment trains two. Headless: `python -m study reproduce --table sweeps|augment`.")

with st.form("experiment-form"):
    st.subheader("Run an experiment")
    table = st.radio("Experiment", list(EXPERIMENTS), format_func=EXPERIMENTS.get, key="ex-table")
    left, right = st.columns(2)
    source = data_select("experiment", engine, key="ex-data", container=left)
    model = model_select(key="ex-model", container=right, label="Model (augmentation; sweeps always train `cnn`)")
    epochs = left.number_input("Epochs per training", min_value=1, max_value=200, value=full_sweep.epochs,
                               key="ex-epochs")
    max_train = right.number_input("Use at most N train images (0 = all)", min_value=0, value=0, key="ex-max-train")
    device = device_select(key="ex-device", container=left)
    threads = right.number_input("CPU threads (0 = torch's choice)", min_value=0, value=0, key="ex-threads")
    quick = st.checkbox("Smoke run: small grids, batch 32, learning rate 1e-3", key="ex-quick")
    start = st.form_submit_button("Run experiment", type="primary")

if start:
    params = {"table": table, "data": source, "model": model if table == "augment" else None,
              "epochs": int(epochs), "max_train": int(max_train) or None, "quick": bool(quick) or None,
              "device": device, "threads": int(threads) or None}
    try:
        job_id = jobs.submit(params, kind="experiment", engine=engine,
                             label=f"{EXPERIMENTS[table]} · {'demo' if source == DEMO_SOURCE else 'CIFAKE'}")
    except StudyError as err:
        st.error(str(err))
    else:
        st.success(f"Job {job_id} queued; it starts when its device is free.")


# ---------------------------------------------------------------- running
@st.fragment(run_every=POLL_SECONDS)
def running_experiments() -> None:
    jobs.reconcile(engine)
    active = [j for j in jobs.list_jobs(engine, status=("queued", "running"), limit=50) if j["kind"] == "experiment"]
    st.subheader("Running and queued")
    if not active:
        st.caption("No experiment is running or queued.")
        return
    for job in reversed(active):
        with st.container(border=True):
            info = job_card(job, engine, key="ex")
            finished = ((info or {}).get("state") or {}).get("finished") or []
            if finished:
                st.dataframe(pd.DataFrame(finished).rename(columns={"label": "training", "train": "train %",
                                                                    "val": "val %", "test": "test %"}),
                             hide_index=True, key=f"ex-partial-{job['id']}-{len(finished)}")


running_experiments()

# ---------------------------------------------------------------- failures
failed = [j for j in jobs.list_jobs(engine, status="failed", limit=50) if j["kind"] == "experiment"][:5]
for job in failed:
    with st.expander(f"Job {job['id']} failed ({job['label']}): the end of its error output"):
        st.code(job["error_tail"] or "no error output", language=None)

# ---------------------------------------------------------------- reports
st.subheader("Reports")
chosen = report_picker(tuple(REPORTS), REPORTS, key="ex-report")
if chosen is None:
    st.info("No sweep or augmentation report yet. Run one above, or from a terminal: "
            "`python -m study reproduce --table sweeps --quick --data demo`; the robustness report of trained "
            "models: `python -m study reproduce --table robustness --checkpoint C [--checkpoint C2]`.")
else:
    draw_report(chosen, key="ex")
