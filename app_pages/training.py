"""Researcher page "Training": start a training as a background job, watch it
live, cancel it, and read the finished runs. Jobs run in their own processes
(study/jobs.py), so they go on across reruns, page switches and a closed tab;
this page only submits, polls the database and draws."""
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from study import jobs
from study.errors import StudyError
from study.labels import CLASS_NAMES
from study.ml import runs
from study.ml.live import LiveLink
from study.ml.recipe import AUGMENTS, PRESETS, TrainConfig
from ui.auth import require_researcher
from ui.formatting import pct, percent_columns
from ui.jobs import job_card
from ui.links import live_prediction_link
from ui.pickers import data_select, device_select, filter_select, model_select
from ui.resources import engine as study_engine

require_researcher()
st.title("Training")
engine = study_engine()
POLL_SECONDS = 2.0
RECIPE = TrainConfig()  # the paper's recipe; a model with a preset has its own (study/ml/recipe.py)
FAST = TrainConfig.for_model(next(iter(PRESETS)))
RECIPE_WORD = "empty: the model's recipe"

jobs.reconcile(engine)  # settle jobs whose processes died, restart an idle queue

# ---------------------------------------------------------------- the form
with st.form("train-form"):
    st.subheader("Start a training")
    left, right = st.columns(2)
    model = model_select(key="train-model", container=left)
    source = data_select("train", engine, key="train-data", container=right)
    image_filter = filter_select(key="train-filter", container=left)
    device = device_select(key="train-device", container=right)
    # Empty fields take the chosen model's recipe: the paper's, or the fast detector's for cifake_resnet*.
    epochs = left.number_input("Epochs", min_value=1, max_value=500, value=None, placeholder=RECIPE_WORD,
                               key="train-epochs", help=f"paper {RECIPE.epochs}, fast detector {FAST.epochs}")
    batch_size = right.number_input("Batch size", min_value=1, max_value=4096, value=None, placeholder=RECIPE_WORD,
                                    key="train-batch-size",
                                    help=f"paper {RECIPE.batch_size}, fast detector {FAST.batch_size}")
    lr = left.number_input("Learning rate (peak, for one-cycle)", min_value=1e-6, max_value=1.0, value=None,
                           format="%.5f", placeholder=RECIPE_WORD, key="train-lr",
                           help=f"paper {RECIPE.lr} (Adam), fast detector {FAST.lr} (SGD, one-cycle)")
    val_split = right.number_input("Validation split", min_value=0.0, max_value=0.9, value=None, step=0.05,
                                   placeholder=RECIPE_WORD, key="train-val-split",
                                   help=f"paper {RECIPE.val_split}, fast detector {FAST.val_split}; the "
                                        "temperature of P(AI) is fitted on it")
    seed = left.number_input("Seed", min_value=0, value=RECIPE.seed)
    augment = right.selectbox("Augmentation", [None, *AUGMENTS], key="train-augment",
                              format_func=lambda a: "the model's recipe" if a is None else {
                                  "none": "none", "paper": "the paper's (rotations, shifts, flips)",
                                  "flip": "flips", "robust": "flips + JPEG, blur, noise, rescaling"}[a])
    resolution = left.number_input("Resolution for an image set (px; empty: the model's input size)", min_value=8,
                                   max_value=1024, value=None, placeholder="the model's input size",
                                   key="train-resolution",
                                   help="Each picture's centre square is brought to this side (LANCZOS) before "
                                        "the model; CIFAKE is always 32x32.")
    with st.expander("Quick runs"):
        max_train = st.number_input("Use at most N train images (0 = all)", min_value=0, value=0, key="train-max-train")
        threads = st.number_input("CPU threads (0 = torch's choice)", min_value=0, value=0, key="train-threads")
    start = st.form_submit_button("Start training", type="primary")

if start:
    params = {"model": model, "data": source, "seed": int(seed), "filter": image_filter, "device": device,
              "max_train": int(max_train) or None, "threads": int(threads) or None,
              "resolution": int(resolution) if resolution is not None else None}
    given = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "val_split": val_split}
    params.update({key: int(value) if key in ("epochs", "batch_size") else float(value)
                   for key, value in given.items() if value is not None})
    if augment is not None:
        params["augment"] = augment
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
def confusion_figure(matrix: list[list[int]]) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=matrix, x=[f"predicted {name}" for name in CLASS_NAMES],
                               y=[f"true {name}" for name in CLASS_NAMES],
                               text=matrix, texttemplate="%{text}", colorscale="Blues", showscale=False))
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=10, b=10), yaxis_autorange="reversed")
    return fig


st.subheader("Finished runs")
ended = jobs.list_jobs(engine, status=("finished", "failed", "cancelled"), limit=200)
rows = runs.finished_runs(engine)
if not rows and not ended:
    st.info("No finished runs yet. Start one above, or from a terminal: "
            "`python -m study train --model lenet --data demo`.")
else:
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="runs-table",
                 column_config=percent_columns("train acc", "val acc", "test acc"))

    failed_jobs = [j for j in ended if j["status"] == "failed" and j["error_tail"]][:5]
    for job in failed_jobs:
        with st.expander(f"Job {job['id']} failed ({job['label']}): the end of its error output"):
            st.code(job["error_tail"], language=None)

    chosen = st.selectbox("Details of run", [r["run"] for r in rows], key="run-detail") if rows else None
    detail = runs.run_detail(engine, chosen, ended) if chosen is not None else None
    if detail is not None:
        test = detail.test
        if detail.status == "failed":
            st.error(f"Run {detail.run_id} failed.")
            st.code(detail.error, language=None)
        elif not test:
            st.caption(f"Run {detail.run_id} ended {detail.status}; it has no test metrics.")
        else:
            st.markdown(f"Test accuracy **{pct(test['accuracy'], 2)}** on {test['n']:,} images"
                        + (f" ({pct(test['accuracy_leak_free'], 2)} without the {test['n_leaked']:,} test images "
                           "also in train)" if test.get("accuracy_leak_free") is not None else ""))
            left, right = st.columns(2)
            left.plotly_chart(confusion_figure(detail.confusion), key=f"confusion-{detail.run_id}")
            right.dataframe(pd.DataFrame(detail.per_class_rows), hide_index=True, key=f"report-{detail.run_id}")
            right.caption(f"macro F1 {test['macro_f1']:.4f}")
            if "accuracy" in detail.original:
                st.markdown(f"On the **unfiltered** test images: {pct(detail.original['accuracy'], 2)}")
        if detail.has_checkpoint:
            live_prediction_link(LiveLink(run_id=detail.run_id), f"Open run {detail.run_id} in Live predictions")
