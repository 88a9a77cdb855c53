"""Researcher page "Survey sets": see the open set, create, open and close sets,
edit the consent text, download the answers. Logic in study/survey/."""
import streamlit as st

from study import survey
from study.data.active import active_dataset
from study.data.demo import DEMO_NOTE
from study.errors import StudyError
from ui.auth import require_researcher
from ui.resources import engine as study_engine

require_researcher()  # before anything is drawn: a refused visitor sees only the refusal
st.title("Survey sets")
engine = study_engine()
dataset = active_dataset(engine)


def attempt(action, success: str) -> None:
    """Run a researcher action; show its StudyError instead of a traceback."""
    try:
        action()
    except StudyError as err:
        st.error(str(err))
    else:
        st.toast(success)
        st.rerun()


# --- the open set -----------------------------------------------------------------
current = survey.open_summary(engine)
st.subheader("Open set")
if current is None:
    st.info("No set is open: participants are told the survey is not open."
            + (" (Before any set exists and while CIFAKE is not prepared, the first visitor opens a demo set.)" if dataset.is_demo else ""))
else:
    st.markdown(f"**Set {current.id}: {current.name}** — {current.size} images per participant, "
                + (f"drawn from a pool of {current.pool_size}" if current.design == "pool" else "the same for everyone")
                + f", split `{current.split}`, seed {current.seed}")
    if current.is_demo:
        st.warning(DEMO_NOTE + (" — CIFAKE is prepared: create a set from it for the real study."
                                if not dataset.is_demo else ""))
    consented, started, completed, answers = st.columns(4)
    consented.metric("Consented", current.consented, help="agreed to the consent text")
    started.metric("Started", current.started, help="saw at least the first image")
    completed.metric("Completed", current.completed)
    answers.metric("Answers", current.answers)
    st.caption("People who took part in set(s) " + (", ".join(map(str, current.exclude_sets)) or "none")
               + " cannot take this one (by PROLIFIC_PID, or by the browser that took part).")
    if st.button("Close this set", help="Answers are kept; nobody can add more."):
        attempt(lambda: survey.close_set(engine, current.id), f"Closed set {current.id}")

# --- create -------------------------------------------------------------------------
st.subheader("Create a set")
st.caption(f"From the active dataset: {'the demo pool (' + DEMO_NOTE + ')' if dataset.is_demo else dataset.source}. "
           "Balanced REAL/FAKE; only images whose content occurs once in the dataset.")
earlier_sets = survey.all_summaries(engine)
with st.form("create-set"):
    left, right = st.columns(2)
    size = left.number_input("Images per participant", min_value=2, max_value=200, value=survey.DEFAULT_SIZE)
    seed = right.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0)
    split = left.selectbox("Split", sorted(set(dataset.splits.tolist())), index=None, placeholder="test")
    pool = right.number_input("Pool size (0 = the same images for everyone)", min_value=0, max_value=20_000, value=0)
    exclude = st.multiselect(
        "Exclude people who took part in set(s)", [s.id for s in earlier_sets],
        default=survey.default_exclusions(engine, dataset.fingerprint),
        format_func=lambda i: next(f"{s.id}: {s.name}" for s in earlier_sets if s.id == i),
        help="Preselected: every set drawn from the same dataset (the same image pool). A person is "
             "recognised by their PROLIFIC_PID, or by the browser they took part in.",
    )
    open_now = st.checkbox("Open it now (closes the open set)", value=True)
    close_current = st.checkbox("Close the open set even if people have answered it")
    if st.form_submit_button("Create set", type="primary"):
        attempt(
            lambda: survey.create_set(engine, dataset, size=int(size), seed=int(seed), split=split or "test",
                                      pool=int(pool) or None, open_now=open_now, close_current=close_current,
                                      exclude_sets=exclude),
            "Set created",
        )

# --- all sets -----------------------------------------------------------------------
st.subheader("All sets")
sets = survey.all_summaries(engine)
if not sets:
    st.caption("No sets yet.")
else:
    st.dataframe([s.as_dict() for s in sets], hide_index=True)
    chosen_id = st.selectbox("Set", [s.id for s in sets],
                             format_func=lambda i: next(f"{s.id}: {s.name} ({s.status})" for s in sets if s.id == i))
    chosen = next(s for s in sets if s.id == chosen_id)
    open_col, close_col = st.columns(2)
    force = open_col.checkbox("…even if the open set has answers", key="force-open")
    if open_col.button("Open this set", disabled=chosen.status == "open"):
        attempt(lambda: survey.open_set(engine, chosen.id, close_current=force), f"Opened set {chosen.id}")
    if close_col.button("Close this set", key="close-chosen", disabled=chosen.status != "open"):
        attempt(lambda: survey.close_set(engine, chosen.id), f"Closed set {chosen.id}")

    st.markdown("**Consent text** (Markdown). It can change only until the first participant agrees to it; "
                "whoever is reading the old text when it changes is shown the new one and asked again.")
    text = st.text_area("Consent text", survey.consent_text(engine, chosen.id), height=260,
                        key=f"consent-{chosen.id}", disabled=chosen.consented > 0, label_visibility="collapsed")
    if st.button("Save consent text", disabled=chosen.consented > 0):
        attempt(lambda: survey.edit_consent(engine, chosen.id, text), "Consent text saved")

    st.download_button("Download answers (CSV)", survey.answers_csv(engine, chosen.id),
                       file_name=f"survey-set-{chosen.id}-answers.csv", mime="text/csv")
    st.download_button("Download column meanings (TXT)", survey.data_dictionary(engine, chosen.id),
                       file_name=f"survey-set-{chosen.id}-columns.txt", mime="text/plain")
