"""The fields that the forms share (Training, Filter experiments, Sweeps, Survey
sets): the model, the data, the device, the image filter and a trained model,
each written once. The choices come from the domain: the zoo's models with the
paper's recipe's model preselected (study.ml.recipe.TrainConfig), the devices
study.ml.devices knows, the sources a job of this kind can use
(study.jobs.data_choices), the finished runs with a checkpoint (study.ml.runs)."""
from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from models.zoo import list_models
from study import jobs
from study.data import filters
from study.data.active import DEMO_SOURCE
from study.data.image_sets import is_image_set, name_of
from study.ml.devices import CHOICES as DEVICE_CHOICES
from study.ml.recipe import TrainConfig
from study.ml.runs import usable_runs
from ui.formatting import pct

NO_FILTER = "none"
TRAIN_COMMAND = "python -m study train --model lenet --data demo --epochs 3"
NO_USABLE_RUN = (
    "No finished training run with a checkpoint exists yet. Train one on the **Training** page, or from the "
    f"command line: `{TRAIN_COMMAND}` (a LeNet on the synthetic demo pool, about a minute on a laptop); "
    "it is offered here when it finishes."
)


def source_label(source: str) -> str:
    if source == DEMO_SOURCE:
        return "demo (synthetic, not CIFAKE)"
    if is_image_set(source):
        return f"image set {name_of(source)}"
    return source


def model_select(*, key: str, container=st, label: str = "Model") -> str:
    """The zoo's models; preselected: the paper's recipe's model (TrainConfig.model)."""
    models, recipe = list_models(), TrainConfig()
    index = models.index(recipe.model) if recipe.model in models else 0
    return container.selectbox(label, models, index=index, key=key)


def device_select(*, key: str, container=st) -> str:
    """auto (CUDA, then MPS, then the CPU), or one named."""
    return container.selectbox("Device", DEVICE_CHOICES, key=key)


def filter_select(*, key: str, container=st, choices: Sequence[str] | None = None) -> str | None:
    """An image filter by its label in the paper; None for no filter. Without
    `choices`: every filter, and "none" first."""
    options = [NO_FILTER, *filters.names()] if choices is None else list(choices)
    chosen = container.selectbox("Filter", options, key=key,
                                 format_func=lambda f: NO_FILTER if f == NO_FILTER else filters.get(f).label)
    return None if chosen == NO_FILTER else chosen


def data_select(kind: str, engine, *, key: str, container=st, default: str | None = None) -> str:
    """The "Data" select box of a job form: only the sources that have the splits
    a job of this kind needs (study.jobs.data_choices), with a line under it for
    each source left out and why. Preselected: default, else the configured CIFAKE
    where it qualifies."""
    offered, left_out = jobs.data_choices(kind, engine)
    index = offered.index(default) if default in offered else len(offered) - 1
    chosen = st.session_state.get(key)
    if isinstance(chosen, str) and chosen not in offered:
        # Chosen while it still qualified (a stale form): keep it, so that the
        # submission is refused with its reason rather than quietly run on another source.
        offered = [*offered, chosen]
    choice = container.selectbox("Data", offered, index=index, format_func=source_label, key=key)
    for reason in left_out:
        container.caption(f"Not offered: {reason}.")
    return choice


def usable_run_select(engine, *, key: str, label: str, help: str | None = None, container=st) -> int | None:
    """A finished training run with its checkpoint on disk, newest first and
    preselected; None, after a line saying how to train one, when there is none."""
    runs = {run.run_id: run for run in usable_runs(engine)}
    if not runs:
        container.warning(f"**{label}:** {NO_USABLE_RUN}")
        return None

    def describe(run_id: int) -> str:
        run = runs[run_id]
        accuracy = "" if run.test_accuracy is None else f" · test accuracy {pct(run.test_accuracy)}"
        return f"run {run_id} · {run.model} on {source_label(run.data) if run.data else 'unknown data'}{accuracy}"

    return container.selectbox(label, list(runs), key=key, format_func=describe, help=help)
