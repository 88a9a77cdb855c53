"""What the Training and experiment pages share about background jobs: one job
as it runs (who it is, a Cancel button, its progress bar). Their forms' fields
are in ui/pickers.py."""
from __future__ import annotations

import streamlit as st

from study import jobs


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
