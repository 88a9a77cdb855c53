"""What the Training and experiment pages share about background jobs: the
data field of their forms, and one job as it runs (who it is, a Cancel button,
its progress bar)."""
from __future__ import annotations

import streamlit as st

from study import jobs
from study.data.active import DEMO_SOURCE


def source_label(source: str) -> str:
    return "demo (synthetic, not CIFAKE)" if source == DEMO_SOURCE else source


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


def job_card(job: dict, engine, key: str) -> dict | None:
    """Draws the job's header, Cancel and progress inside the current container;
    returns jobs.progress() of a running job (for the page's own extras), else None."""
    head, button = st.columns([4, 1])
    head.markdown(f"**Job {job['id']}** · {job['label']} · {job['device']} · *{job['status']}*")
    if job["cancel_requested_at"]:
        button.caption("cancelling…")
    else:  # a callback: it runs before the rerun that draws "cancelling…"
        button.button("Cancel", key=f"{key}-cancel-{job['id']}", on_click=jobs.request_cancel,
                      args=(job["id"], engine))
    if job["status"] != "running":
        return None
    info = jobs.progress(job, engine)
    st.progress(info["fraction"], text=info["text"])
    return info
