"""Researcher page "Survey sets": see the open set and its conditions, preview
each condition as its participants see it, create sets (with their conditions
and the training run that gives the hints), open and close sets, edit the
consent text, download the answers. Logic in study/survey/."""
import streamlit as st

from study import survey
from study.survey import export as survey_export
from study.data import image_sets
from study.data.active import active_dataset
from study.data.demo import DEMO_NOTE
from study.errors import StudyError
from study.survey.checks import MAX_CHECKS, ExclusionRules
from study.survey.conditions import BUILT_IN, FEEDBACK, HINT_TIMINGS
from ui.auth import require_researcher
from ui.clicks import once_button
from ui.links import survey_link
from ui.pickers import TRAIN_COMMAND, source_label, usable_run_select
from ui.resources import engine as study_engine

require_researcher()  # before anything is drawn: a refused visitor sees only the refusal
st.title("Survey sets")
engine = study_engine()
dataset = active_dataset(engine)

CONDITIONS_HELP = ("One group of participants each, filled in balance at consent. control: the image only; "
                   "model: also the trained model's verdict and P(AI-generated); model_cam: also its Grad-CAM map.")
TIMING_WORDS = {"before": "with the image", "after_first": "after a first answer (then a final answer)"}
FEEDBACK_WORDS = {"end": "right or wrong for each image, at the end", "each": "right or wrong after each answer",
                  "none": "none"}
PREVIEWS = "survey-set-previews"  # session state: (set id, condition) -> the preview participant's token


def attempt(action, success: str) -> None:
    """Run a researcher action; show its StudyError instead of a traceback."""
    try:
        action()
    except StudyError as err:
        st.error(str(err))
    else:
        st.toast(success)
        st.rerun()


def conditions_table(summary: survey.SetSummary) -> None:
    st.dataframe([{"condition": c["name"], "what it shows": c["shows"], "counted participants": c["counted"],
                   "previews": c["previews"]} for c in summary.conditions], hide_index=True,
                 column_config={"condition": st.column_config.TextColumn(width="small"),
                                "what it shows": st.column_config.TextColumn(width=560),
                                "counted participants": st.column_config.NumberColumn(
                                    width="medium",
                                    help="real people who consented (no previews, simulated or withdrawn people): "
                                         "the next person is assigned to the condition with the fewest"),
                                "previews": st.column_config.NumberColumn(width="small")})


def preview_actions(summary: survey.SetSummary) -> None:
    """A Preview button per condition of an open or draft set, and the links to
    the previews started from this tab."""
    st.caption("Preview: take the survey as a test participant of one condition, exactly as its participants "
               "see it" + (" (a draft set too, before anybody else can)" if summary.status == "draft" else "")
               + ". A preview is marked as one and never counted, in the balancing or in the results.")
    buttons = st.container(horizontal=True)
    for condition in summary.conditions:
        if once_button(f"Preview {condition['name']}", key=f"preview-{summary.id}-{condition['name']}",
                       container=buttons, icon=":material/visibility:"):
            try:
                token = survey.start_preview(engine, summary.id, condition["name"])
            except StudyError as err:
                st.error(str(err))
            else:
                st.session_state.setdefault(PREVIEWS, {})[(summary.id, condition["name"])] = token
                st.rerun()  # the table above counts the new preview
    for (set_id, name), token in st.session_state.get(PREVIEWS, {}).items():
        if set_id == summary.id:
            survey_link(token, f"Open the {name} preview in this tab")


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
    consented.metric("Consented", current.consented,
                     help="agreed to the consent text (simulated participants included; researchers' previews "
                          "are not: they are counted per condition below)")
    started.metric("Started", current.started, help="saw at least the first image")
    completed.metric("Completed", current.completed)
    answers.metric("Answers", current.answers)
    st.caption("People who took part in set(s) " + (", ".join(map(str, current.exclude_sets)) or "none")
               + " cannot take this one (by PROLIFIC_PID, or by the browser that took part).")

    st.markdown("**Conditions**" + (f" (hints from training run {current.hint_run_id})"
                                    if current.hint_run_id is not None else ""))
    conditions_table(current)
    preview_actions(current)
    if st.button("Close this set", help="Answers are kept; nobody can add more."):
        attempt(lambda: survey.close_set(engine, current.id), f"Closed set {current.id}")

# --- create -------------------------------------------------------------------------
st.subheader("Create a set")
earlier_sets = survey.all_summaries(engine)
ACTIVE = "the active dataset"
imported = {f"{image_sets.PREFIX}{row['name']}": row for row in image_sets.summaries(engine)}
with st.container(border=True):
    drawn_from = st.selectbox(
        "Images from", [ACTIVE, *imported], key="create-source",
        format_func=lambda k: (f"{ACTIVE}: " + (f"the demo pool ({DEMO_NOTE})" if dataset.is_demo else dataset.source))
        if k == ACTIVE else f"{source_label(k)} ({imported[k]['images']} pictures, long side "
                            f"{imported[k]['long side (px)']} px)",
        help="An image set imported on the Setup page (or with `python -m study data import`) is shown at each "
             "picture's own resolution.")
    from_set = drawn_from != ACTIVE
    source_data = image_sets.pool(engine, drawn_from) if from_set else dataset
    st.caption("Balanced REAL/FAKE; only images whose content occurs once in the "
               + ("image set (duplicates were stored once at import)." if from_set else "dataset."))
    left, right = st.columns(2)
    size = left.number_input("Images per participant", min_value=2, max_value=200, value=survey.DEFAULT_SIZE)
    seed = right.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0)
    split, max_enlarge, balance_by = None, None, None
    if from_set:
        max_enlarge = int(left.number_input(
            "Enlarge small pictures at most (x, whole pixels)", min_value=1, max_value=survey.MAX_ENLARGE, value=1,
            key="create-max-enlarge", help="1: every picture at its own size (fitted to the screen). CIFAKE-sized "
                                           "pictures need about 9 to fill the usual width."))
        balance_by = st.radio("Also balance by", ["none", *image_sets.BALANCE_BY], horizontal=True,
                              key="create-balance-by", help="Spread the draw evenly over the set's generators or "
                                                            "categories (as far as each has pictures).")
        balance_by = None if balance_by == "none" else balance_by
    else:
        split = left.selectbox("Split", sorted(set(dataset.splits.tolist())), index=None, placeholder="test")
    pool = right.number_input("Pool size (0 = the same images for everyone)", min_value=0, max_value=20_000, value=0)
    exclude = st.multiselect(
        "Exclude people who took part in set(s)", [s.id for s in earlier_sets],
        default=survey.default_exclusions(engine, source_data.fingerprint),
        format_func=lambda i: next(f"{s.id}: {s.name}" for s in earlier_sets if s.id == i),
        help="Preselected: every set drawn from the same dataset (the same image pool). A person is "
             "recognised by their PROLIFIC_PID, or by the browser they took part in.",
    )

    names = st.multiselect("Conditions", list(BUILT_IN), default=["control"], key="create-conditions",
                           help=CONDITIONS_HELP, placeholder="control")
    hinted = [name for name in names if BUILT_IN[name] != "none"]
    hint_run, timing = None, "before"
    if hinted:
        left, right = st.columns(2)
        with left:
            hint_run = usable_run_select(
                engine, key="create-hint-run", label="Hints from the training run",
                help="Its verdicts (and Grad-CAM maps) on every image of the set are computed once, now, and "
                     "frozen with the checkpoint's hash: everyone in a condition sees the same hint.")
        timing = right.radio("Hint timing", HINT_TIMINGS, format_func=lambda t: TIMING_WORDS.get(t, t),
                             horizontal=True, key="create-hint-timing",
                             help="after a first answer: the person answers, sees the hint, and answers again "
                                  "(both answers are kept, so switching can be measured).")
    feedback = st.radio("Feedback", FEEDBACK, index=FEEDBACK.index("end"),
                        format_func=lambda f: FEEDBACK_WORDS.get(f, f), horizontal=True, key="create-feedback",
                        help="What each participant learns about their own answers; at the end is the seed "
                             "study's score page.")
    left, right = st.columns(2)
    display_s = left.number_input("Hide each image after (seconds; 0 = it stays)", min_value=0.0, max_value=60.0,
                                  value=0.0, step=0.5, key="create-display",
                                  help="Counted from the image's first showing, so a reload gives no second look; "
                                       "the person still answers after it is hidden.")
    checks_k = right.number_input("Attention checks per participant", min_value=0, max_value=MAX_CHECKS, value=0,
                                  key="create-checks",
                                  help="A picture that says which button to press, at seeded positions; "
                                       "stored apart, never in a score.")
    st.markdown("**Pre-registered exclusions** (fixed with the set: the results leave these people out)")
    left, middle, right = st.columns(3)
    rules = ExclusionRules(
        failed_checks=left.checkbox("failed an attention check", key="create-excl-checks", disabled=not checks_k),
        speeder_ms=int(middle.number_input("median response below (ms; 0 = no rule)", min_value=0,
                                           max_value=10_000, value=0, step=100, key="create-excl-speed")) or None,
        incomplete=right.checkbox("did not answer every image", key="create-excl-incomplete"),
    )
    design_problem = None
    try:
        design = survey.parse_conditions(names or None, hint_timing=timing, feedback=feedback,
                                         display_ms=int(display_s * 1000) or None)
    except StudyError as err:
        design, design_problem = survey.parse_conditions(names or None, hint_timing=timing, feedback=feedback), err
        st.error(str(err))
    st.markdown("What each group will see:\n" + "\n".join(f"- **{c.name}**: {c.describe()}" for c in design))

    open_now = st.checkbox("Open it now (closes the open set)", value=True)
    close_current = st.checkbox("Close the open set even if people have answered it")
    if once_button("Create set", key="create-set", type="primary", disabled=design_problem is not None):
        if hinted and hint_run is None:
            st.error(f"Not created: {', '.join(hinted)} {'shows' if len(hinted) == 1 else 'show'} a trained "
                     "model's verdict, and no finished training run with a checkpoint exists yet to give it. "
                     f"Train one on the Training page or with `{TRAIN_COMMAND}`, or create the set with control only.")
        else:
            with st.spinner("Computing the model's hints for every image of the set…" if hinted
                            else "Drawing the set…"):
                attempt(
                    lambda: survey.create_set(engine, source_data, size=int(size), seed=int(seed),
                                              split=None if from_set else split or "test",
                                              pool=int(pool) or None, open_now=open_now,
                                              close_current=close_current, exclude_sets=exclude,
                                              conditions=design, hint_run_id=hint_run,
                                              attention_checks=int(checks_k), exclusion_rules=rules,
                                              max_enlarge=max_enlarge, balance_by=balance_by),
                    "Set created",
                )

# --- all sets -----------------------------------------------------------------------
st.subheader("All sets")
sets = survey.all_summaries(engine)
if not sets:
    st.caption("No sets yet.")
else:
    st.dataframe([{"id": s.id, "name": s.name, "status": s.status,
                   "conditions": ", ".join(c["name"] for c in s.conditions),
                   **{k: v for k, v in s.as_dict().items() if k != "conditions"}} for s in sets],
                 hide_index=True)
    chosen_id = st.selectbox("Set", [s.id for s in sets],
                             format_func=lambda i: next(f"{s.id}: {s.name} ({s.status})" for s in sets if s.id == i))
    chosen = next(s for s in sets if s.id == chosen_id)
    st.markdown(f"**Conditions of set {chosen.id}**" + (f" (hints from training run {chosen.hint_run_id})"
                                                       if chosen.hint_run_id is not None else ""))
    conditions_table(chosen)
    if chosen.status == "draft":  # the open set's previews are above
        preview_actions(chosen)
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
    st.download_button("Download the data dictionary (CSV: column, type, meaning)",
                       survey_export.dictionary_csv(survey_export.COLUMNS),
                       file_name=f"survey-set-{chosen.id}-answers.dictionary.csv", mime="text/csv")
    st.download_button("Download the set's description (TXT)", survey_export.set_description(engine, chosen.id),
                       file_name=f"survey-set-{chosen.id}-answers.txt", mime="text/plain")
