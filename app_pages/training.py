"""Researcher page "Training": start a training as a background job, watch it
live, cancel it, and read the finished runs. Jobs run in their own processes
(study/jobs.py), so they go on across reruns, page switches and a closed tab;
this page only submits, polls the database and draws."""
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from study.ml.runs import list_runs
from models.zoo import list_models
from study import jobs
from study.data import filters
from study.errors import StudyError
from study.ml.live import LiveLink
from ui.auth import require_researcher
from ui.jobs import data_select, job_card
from ui.links import live_prediction_link
from ui.resources import engine as study_engine

require_researcher()
st.title("Training")
engine = study_engine()
POLL_SECONDS = 2.0
FILTER_CHOICES = ["none", *filters.names()]

jobs.reconcile(engine)  # settle jobs whose processes died, restart an idle queue

# ---------------------------------------------------------------- the form
models = list_models()

with st.form("train-form"):
    st.subheader("Start a training")
    left, right = st.columns(2)
    model = left.selectbox("Model", models, index=models.index("lenet") if "lenet" in models else 0, key="train-model")
    source = data_select("train", engine, key="train-data", container=right)
    image_filter = left.selectbox("Filter", FILTER_CHOICES,
                                  format_func=lambda f: "none" if f == "none" else filters.get(f).label,
                                  key="train-filter")
    device = right.selectbox("Device", ["auto", "cpu", "cuda", "mps"], key="train-device")
    epochs = left.number_input("Epochs", min_value=1, max_value=500, value=10, key="train-epochs")
    batch_size = right.number_input("Batch size", min_value=1, max_value=4096, value=100)
    lr = left.number_input("Learning rate", min_value=1e-6, max_value=1.0, value=2e-4, format="%.5f")
    val_split = right.number_input("Validation split", min_value=0.0, max_value=0.9, value=0.2, step=0.05)
    seed = left.number_input("Seed", min_value=0, value=0)
    augment = right.checkbox("Augmentation (rotations, shifts, flips)")
    with st.expander("Quick runs"):
        max_train = st.number_input("Use at most N train images (0 = all)", min_value=0, value=0, key="train-max-train")
        threads = st.number_input("CPU threads (0 = torch's choice)", min_value=0, value=0, key="train-threads")
    start = st.form_submit_button("Start training", type="primary")

if start:
    params = {"model": model, "data": source, "epochs": int(epochs), "batch_size": int(batch_size),
              "lr": float(lr), "val_split": float(val_split), "seed": int(seed), "augment": bool(augment),
              "filter": None if image_filter == "none" else image_filter, "device": device,
              "max_train": int(max_train) or None, "threads": int(threads) or None}
    try:
        job_id = jobs.submit(params, engine=engine)
    except StudyError as err:
        st.error(str(err))
    else:
        st.success(f"Job {job_id} queued; it starts when its device is free.")


# ---------------------------------------------------------------- live jobs
def curves(history: list[dict]) -> go.Figure:
    epochs = [r["epoch"] for r in history]
    fig = go.Figure()
    for key, name in (("train_loss", "train loss"), ("val_loss", "validation loss"),
                      ("train_acc", "train accuracy"), ("val_acc", "validation accuracy")):
        fig.add_scatter(x=epochs, y=[r.get(key) for r in history], name=name, mode="lines+markers")
    fig.update_layout(height=280, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="epoch")
    return fig


@st.fragment(run_every=POLL_SECONDS)
def live_jobs() -> None:
    jobs.reconcile(engine)  # a queue whose worker died restarts while someone watches
    active = jobs.list_jobs(engine, status=("queued", "running"), limit=50)
    st.subheader("Running and queued")
    if not active:
        st.caption("No job is running or queued.")
        return
    for job in reversed(active):  # oldest first: the order they will run in
        with st.container(border=True):
            info = job_card(job, engine, key="train")
            if info and info["history"]:
                st.plotly_chart(curves(info["history"]), key=f"curves-{job['id']}-{len(info['history'])}")


live_jobs()


# ---------------------------------------------------------------- finished runs
def pct(value) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"


st.subheader("Finished runs")
ended = jobs.list_jobs(engine, status=("finished", "failed", "cancelled"), limit=200)
runs = [r for r in list_runs(engine, limit=200) if r["status"] != "running"]
if not runs and not ended:
    st.info("No finished runs yet. Start one above, or from a terminal: "
            "`python -m study train --model lenet --data demo`.")
else:
    job_of_run = {j["run_id"]: j for j in ended if j["run_id"]}
    rows = []
    for run in runs:
        m, cfg = run["metrics"] or {}, run["config"] or {}
        rows.append({"run": run["id"], "model": run["model"], "status": run["status"],
                     "filter": cfg.get("filter") or "none", "data": run["dataset_source"] or cfg.get("data") or "",
                     "device": run["device"] or "", "epochs": len(run["history"] or []),
                     "train acc": pct(m.get("train_acc")), "val acc": pct(m.get("val_acc")),
                     "test acc": pct(m.get("test_accuracy")),
                     "finished": run["finished_at"]})
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="runs-table")

    failed_jobs = [j for j in ended if j["status"] == "failed" and j["error_tail"]][:5]
    for job in failed_jobs:
        with st.expander(f"Job {job['id']} failed ({job['label']}): the end of its error output"):
            st.code(job["error_tail"], language=None)

    chosen = st.selectbox("Details of run", [r["id"] for r in runs], key="run-detail") if runs else None
    run = next((r for r in runs if r["id"] == chosen), None)
    if run is not None:
        test = (run["metrics"] or {}).get("test")
        if run["status"] == "failed":
            job = job_of_run.get(run["id"])
            st.error(f"Run {run['id']} failed.")
            st.code((job or {}).get("error_tail") or run["error"] or "no error output", language=None)
        elif not test:
            st.caption(f"Run {run['id']} ended {run['status']}; it has no test metrics.")
        else:
            st.markdown(f"Test accuracy **{pct(test['accuracy'])}** on {test['n']:,} images"
                        + (f" ({pct(test['accuracy_leak_free'])} without the {test['n_leaked']:,} test images "
                           "also in train)" if test.get("accuracy_leak_free") is not None else ""))
            (tn, fp), (fn, tp) = test["confusion_matrix"]
            fig = go.Figure(go.Heatmap(z=[[tn, fp], [fn, tp]], x=["predicted REAL", "predicted FAKE"],
                                       y=["true REAL", "true FAKE"], text=[[tn, fp], [fn, tp]],
                                       texttemplate="%{text}", colorscale="Blues", showscale=False))
            fig.update_layout(height=260, margin=dict(l=10, r=10, t=10, b=10), yaxis_autorange="reversed")
            left, right = st.columns(2)
            left.plotly_chart(fig, key=f"confusion-{run['id']}")
            report = pd.DataFrame([{"class": name, **{k: round(v, 4) if isinstance(v, float) else v
                                                     for k, v in c.items()}}
                                   for name, c in test["per_class"].items()])
            right.dataframe(report, hide_index=True, key=f"report-{run['id']}")
            right.caption(f"macro F1 {test['macro_f1']:.4f}")
            job = job_of_run.get(run["id"])
            original = ((job or {}).get("result") or {}).get("original_test")
            if original and "accuracy" in original:
                st.markdown(f"On the **unfiltered** test images: {pct(original['accuracy'])}")
        if run["status"] == "finished" and run["checkpoint_path"]:
            live_prediction_link(LiveLink(run_id=run["id"]), f"Open run {run['id']} in Live predictions")
