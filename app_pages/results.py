"""Researcher page "Results": how well people did, which images fooled them,
how the conditions compare, and where humans and models agree. Every figure comes from study.analysis
(the same numbers `python -m study results --json` prints); this page only
chooses, lays out and draws. Image ids are shown here on purpose: researchers
need them, and this page is behind the researcher login."""
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from study import analysis, survey
from study.analysis import condition_charts
from study.analysis import conditions as analysis_conditions
from study.analysis import groups as analysis_groups
from study.analysis import humans_vs_models as analysis_models
from study.analysis import export as participants_export
from study.database import database_bytes
from study.survey import export as survey_export
from study.analysis.scores import SDT_CORRECTION
from study.config import get_settings
from study.data.demo import DEMO_NOTE
from study.errors import StudyError
from study.labels import ANSWER_NAMES, CLASS_NAMES, THRESHOLD
from study.ml.live import LiveLink
from ui.auth import require_researcher
from ui.formatting import MISSING, number, pct
from ui.links import live_prediction_link
from ui.resources import engine as study_engine

require_researcher()
st.title("Results")
engine = study_engine()
database_url = get_settings().database_url


@st.cache_data(show_spinner="Running the model on the survey images…", max_entries=64)
def predictions_for(checkpoint_path: str, mtime: float, set_id: int, url: str) -> np.ndarray:
    """P(AI) on the set's images; keyed on the checkpoint's mtime so a retrained file is rerun."""
    return analysis_models.predict_set(checkpoint_path, analysis.set_image_pixels(engine, set_id))


@st.cache_data(show_spinner=False, max_entries=16)
def thumbnails_for(set_id: int, url: str) -> list[str]:
    return analysis.set_thumbnails(engine, set_id)


# --- which set ----------------------------------------------------------------------
sets = survey.all_summaries(engine)
if not sets:
    st.info(
        "No survey set exists yet, so there is nothing to show. Once participants answer a set, this page shows: "
        "the distribution of their scores (the paper's Figure 2) with mean, median, SD and a 95% confidence "
        "interval; tests against chance; accuracy on REAL and on FAKE images and d′; a table of every survey image "
        "with how many people got it right; the trained models on the same images; response times; and exports. "
        "Create a set on the **Survey sets** page, or try the page with simulated participants: "
        "`python -m study survey simulate --participants 63 --seed 1`."
    )
    st.stop()

default_id = analysis.default_set_id(engine)
ids = [s.id for s in sets]
set_id = st.selectbox(
    "Survey set", ids, index=ids.index(default_id) if default_id in ids else 0,
    format_func=lambda i: next(f"{s.id}: {s.name} ({s.status}, {s.completed} completed)" for s in sets if s.id == i),
)
chosen = next(s for s in sets if s.id == set_id)
if chosen.is_demo:
    st.warning(f"**{DEMO_NOTE}**: this set shows the app's synthetic demo pictures, not CIFAKE.")

# --- who counts ---------------------------------------------------------------------
people = analysis.load_participants(engine, set_id)  # people who withdrew are not among them
n_simulated = int(people["is_simulated"].sum())
rules = chosen.exclusion_rules or {}
has_rules = bool(rules.get("failed_checks") or rules.get("speeder_ms") or rules.get("incomplete"))
with st.expander("Who counts", expanded=True):
    left, right = st.columns(2)
    include_simulated = left.toggle(
        "Include simulated participants", value=False, key="include_simulated",
        help="Participants added by `survey simulate`: not people. Left out unless you ask.")
    preregistered = left.toggle(
        "Apply the set's pre-registered exclusion rules", value=True, key="preregistered", disabled=not has_rules,
        help="Fixed with the set before anybody consented: failed attention checks, speeders by median response "
             "time, incomplete surveys. Switching them off is a sensitivity check; the filters here come on top "
             "of them and never loosen them.")
    completed_only = left.checkbox(
        "Completed participants only", value=False, key="completed_only",
        help="The score distribution always uses completed participants; this also limits the per-image, "
             "pooled and response-time figures to them.")
    speeder_ms = right.number_input(
        "Exclude speeders: median response time below (ms; 0 = keep everyone)",
        min_value=0, max_value=600_000, value=0, step=100, key="speeder_ms",
        help="On top of the set's pre-registered speeder limit, if it has one.")
    devices = right.multiselect("Device (empty = every device)", list(analysis.DEVICE_OPTIONS), key="device_classes",
                                help="The coarse class of the browser each person consented in; "
                                     f"“{analysis.UNKNOWN_DEVICE}” = it did not say.")
    ages = right.multiselect("Age band (empty = everyone)", analysis.demographic_options(people, "age_band"),
                             key="age_bands")
    exposure = right.multiselect("Sees AI images (empty = everyone)",
                                 analysis.demographic_options(people, "ai_exposure"), key="ai_exposure")
inclusion = analysis.Inclusion(
    include_simulated=include_simulated, completed_only=completed_only, speeder_ms=int(speeder_ms) or None,
    age_bands=tuple(ages) or None, ai_exposure=tuple(exposure) or None, preregistered=preregistered or not has_rules,
    device_classes=tuple(devices) or None,
)

# --- which models -------------------------------------------------------------------
choices = {c.key: c for c in analysis_models.available_models(engine)}
picked = st.multiselect(
    "Compare with models (finished training runs)", list(choices), default=list(choices)[:1], key="models",
    format_func=lambda key: f"{key} (trained on {choices[key].dataset_source or '?'}"
    + ("" if choices[key].test_accuracy is None else f", test accuracy {pct(choices[key].test_accuracy)}") + ")",
    help="Each model is run on this set's own images, the ones the humans saw, with the filter it was trained "
         "with; a picture of any size is brought to the model's input side (its centre square) first.")
predictions, model_errors = {}, []
for key in picked:
    choice = choices[key]
    try:
        predictions[key] = predictions_for(choice.checkpoint_path, Path(choice.checkpoint_path).stat().st_mtime,
                                           set_id, database_url)
    except (StudyError, OSError) as err:
        model_errors.append(f"{key}: {err}")
for message in model_errors:
    st.error(message)

result = analysis.analyse(engine, set_id, inclusion, predictions)
counts = result.counts

# --- counts -------------------------------------------------------------------------
if n_simulated:
    st.warning(f"This set has **{n_simulated} simulated participants** (not people): "
               + ("they are **included** in every figure below." if include_simulated else
                  "they are left out; switch on *Include simulated participants* to see them."))
c1, c2, c3, c4 = st.columns(4)
c1.metric("Completed", counts["completed"])
c2.metric("Incomplete", counts["incomplete"],
          help=f"saw at least the first image but did not finish; {counts['consented_only']} more consented "
               "and never saw an image")
by = counts["excluded_by"]
c3.metric("Excluded", counts["excluded"],
          help=f"simulated {by['simulated']}, pre-registered rules {by['preregistered']}, speeders {by['speeder']}, "
               f"demographic filter {by['demographic']}, device filter {by['device']}, researchers' previews "
               f"{by['preview']} (never counted)")
c4.metric("Answers analysed", counts["answers_analysed"])
st.caption(analysis.exclusion_text(result.exclusions, counts["withdrawn"]))
with st.expander("Participants per device"):
    st.dataframe(analysis.device_table(result.by_device), hide_index=True, key="device-table")
    st.caption("Participants who count under every other choice above (the device filter aside): a row "
               "marked “no” is left out by the device filter. Accuracy: the share of their analysed answers "
               "right; mean score: of those who answered every image; fewer than 2 participants: not enough data.")

if result.is_empty:
    st.info(
        "No answers to analyse yet" + (" with these filters" if counts["total"] else "") + ". When participants "
        "have answered, this page shows the distribution of their scores (the paper's Figure 2) with mean, median, "
        "SD and 95% confidence interval, tests against chance, accuracy on REAL and FAKE images and d′, a table "
        "of every survey image, the chosen models on the same images, and response times."
    )
    st.stop()

# --- score distribution -------------------------------------------------------------
s = result.scores
st.subheader("Scores")
if s.n == 0:
    st.info("Nobody in the selection has answered every image yet; the score distribution needs completed "
            "participants (answer-level figures below use the answers given so far).")
else:
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(f"Mean score (of {s.set_size})", number(s.mean))
    m2.metric("Median", number(s.median))
    m3.metric("SD", number(s.sd))
    m4.metric("95% CI of the mean", MISSING if s.ci_low is None else f"[{number(s.ci_low)}, {number(s.ci_high)}]")
    counts_by_score = np.bincount(result.score_values.astype(int), minlength=s.set_size + 1)
    histogram = go.Figure(go.Bar(x=list(range(s.set_size + 1)), y=counts_by_score, name="participants"))
    if s.ci_low is not None:
        histogram.add_vrect(x0=s.ci_low, x1=s.ci_high, fillcolor="grey", opacity=0.15, line_width=0,
                            annotation_text="95% CI", annotation_position="top left")
    histogram.add_vline(x=s.chance, line_dash="dot", annotation_text=f"chance {s.chance:g}")
    paper_label = f"paper {s.paper_mean:.2f}" + (" (8.46/15 scaled)" if s.paper_scaled else "")
    histogram.add_vline(x=s.paper_mean, line_dash="dash", line_color="orange", annotation_text=paper_label,
                        annotation_position="bottom right")
    histogram.add_vline(x=s.mean, line_color="red", annotation_text=f"mean {s.mean:.2f}")
    histogram.update_layout(xaxis_title=f"score (right answers out of {s.set_size})", yaxis_title="participants",
                            bargap=0.1, title=f"Scores of {s.n} completed participants")
    st.plotly_chart(histogram, key="score-histogram")
    test = ("t-test needs at least two different scores" if s.t is None else
            f"one-sample t-test against chance ({s.chance:g}): t({s.df}) = {s.t:.3f}, p = {s.p:.4f}")
    scale = (f" The paper's 8.46/15 is scaled to this set's {s.set_size} images." if s.paper_scaled else "")
    st.caption(
        f"{test}. Exact binomial test per participant (one-sided, p < .05 needs {s.min_correct_above_chance} of "
        f"{s.set_size} right): {s.n_above_chance} of {s.n} participants beat chance on their own.{scale}"
    )

a, sdt = result.accuracy, result.sdt_pooled
m1, m2, m3, m4 = st.columns(4)
m1.metric("Accuracy on REAL images", pct(a["real"]), help=f"{a['n_real']} answers")
m2.metric("Accuracy on FAKE images", pct(a["fake"]), help=f"{a['n_fake']} answers")
m3.metric("d′ (pooled)", number(sdt.dprime, 3))
m4.metric("criterion c (pooled)", number(sdt.criterion, 3))
mean_d = result.sdt_mean["mean_dprime"]
st.caption(
    "Signal = AI-generated (FAKE): a hit is saying “AI-generated” to a FAKE image, a false alarm saying it "
    f"to a REAL one; c > 0 leans towards “Real photo”. d′ and c use the {SDT_CORRECTION}. Pooled over all analysed answers "
    f"({sdt.hits} hits, {sdt.false_alarms} false alarms)"
    + ("" if mean_d is None else f"; mean of the completed participants' own d′: {mean_d:.3f}") + "."
)
with st.expander("Participants"):
    shown = result.participants.copy()
    reason = np.where(shown["excluded"] == "preregistered", "pre-registered rule " + shown["excluded_by_rules"],
                      shown["excluded"])
    shown["status"] = np.where(shown["excluded"] != "", "excluded: " + reason,
                               np.where(shown["completed"], "completed", "incomplete"))
    shown["simulated"] = np.where(shown["is_simulated"], "SIMULATED", "")
    st.dataframe(
        shown[["participant_id", "simulated", "status", "age_band", "ai_exposure", "device_class", "answered",
               "correct", "checks_failed", "binomial_p", "accuracy_real", "accuracy_fake", "dprime", "criterion",
               "median_response_ms"]],
        hide_index=True, key="participants-table",
        column_config={"binomial_p": st.column_config.NumberColumn("binomial p", format="%.4f"),
                       "dprime": st.column_config.NumberColumn("d′", format="%.3f"),
                       "criterion": st.column_config.NumberColumn("c", format="%.3f"),
                       "accuracy_real": st.column_config.NumberColumn("acc. REAL", format="percent"),
                       "accuracy_fake": st.column_config.NumberColumn("acc. FAKE", format="percent")},
    )

# --- conditions ---------------------------------------------------------------------
if result.by_group:
    st.header("By generator and category")
    st.caption("Per group of the image set's pictures: the answers on them, accuracy, d′ and c. A generator's "
               "pictures are all AI-generated, so its d′ pairs them with every real photo of the set; groups with "
               "fewer than 2 people read “not enough data” (empty). Each model chosen above: its accuracy on the "
               "group's pictures.")
    for kind in analysis_groups.KINDS:
        if kind in result.by_group:
            st.dataframe(analysis_groups.group_table(result.by_group, kind), hide_index=True, key=f"by-{kind}")

if result.by_condition is not None:
    by_condition = result.by_condition
    st.subheader("Conditions")
    st.dataframe(analysis_conditions.summary_table(by_condition), hide_index=True, key="conditions-table")
    st.caption(
        f"Participants: those with at least one analysed answer; the score and its 95% CI: those who answered "
        f"every image. Who counts is chosen above; researchers' previews never count. A figure that would rest on "
        f"fewer than {by_condition['min_participants']} participants reads “{analysis_conditions.NOT_ENOUGH}”.")
    for line in analysis_conditions.comparison_lines(by_condition):
        st.markdown(line)
    st.plotly_chart(condition_charts.accuracy_figure(by_condition), key="conditions-accuracy")
    reliance = analysis_conditions.reliance_table(by_condition)
    if len(reliance):
        st.plotly_chart(condition_charts.reliance_figure(by_condition), key="conditions-reliance")
        st.dataframe(reliance, hide_index=True, key="conditions-reliance-table")
        st.caption("Agreement: the final answer equals the model's verdict. In after_first conditions a switch "
                   "is a final answer that differs from the first, given once the model's verdict was shown; "
                   "accuracy before and after counts the same images.")
    st.plotly_chart(condition_charts.calibration_figure(by_condition), key="conditions-calibration")
    st.caption("Calibration: the share of right answers at each confidence level (answers without a confidence "
               "left out); hover a point for its n, or open the table.")
    with st.expander("Calibration table"):
        st.dataframe(analysis_conditions.calibration_table(by_condition), hide_index=True,
                     key="conditions-calibration-table")

# --- image by image -----------------------------------------------------------------
st.subheader("Image by image")
images = result.images
table = pd.DataFrame({
    "image_id": images["image_id"],
    "true label": images["true_label"],
    "share right": images["share_right"],
    "n": images["n"],
    "said AI": images["share_said_ai"],
    "mean confidence": images["mean_confidence"],
    "mean response (ms)": images["mean_response_ms"],
    "human majority": images["majority"].map({float(label): name for label, name in enumerate(ANSWER_NAMES)})
                                         .fillna("tie / none"),
})
config = {  # the image and its id stay in view while the models' columns scroll past
    "image_id": st.column_config.TextColumn("image_id", pinned=True),
    "share right": st.column_config.ProgressColumn("share right", min_value=0.0, max_value=1.0, format="percent",
                                                   width=100),
    "said AI": st.column_config.NumberColumn("said AI", format="percent"),
    "mean confidence": st.column_config.NumberColumn(format="%.2f"),
    "mean response (ms)": st.column_config.NumberColumn(format="%.0f"),
}
try:
    table.insert(0, "image", thumbnails_for(set_id, database_url))
    config["image"] = st.column_config.ImageColumn("image", width="small", pinned=True)
except StudyError as err:
    st.caption(f"No thumbnails: {err}")
for key in predictions:
    table[f"P(AI) {key}"] = images[f"p_ai {key}"]
    table[f"right {key}"] = images[f"right {key}"]
    table[f"agrees with majority {key}"] = images[f"agrees {key}"]
    config[f"P(AI) {key}"] = st.column_config.NumberColumn(format="%.3f")
shown_table = st.dataframe(table, hide_index=True, column_config=config, key="images-table",
                           on_select="rerun", selection_mode="single-row")
st.caption("Sort by a column by clicking its header; select a row (the box at its left) to open that image in "
           "Live predictions. The human majority is the answer most people gave; an exact "
           "tie (or an image nobody answered) has no majority and is left out of the agreement with the models.")
selected = [row for row in shown_table.selection.rows if row < len(images)]  # a row of this set's table
if selected:
    row = images.iloc[selected[0]]
    live_prediction_link(LiveLink(set_id=set_id, position=int(row["pool_position"])),
                         f"Open `{row['image_id']}` in Live predictions")

# --- humans vs models ---------------------------------------------------------------
st.subheader("Humans and models")


def confusion_figure(matrix, title: str, x_title: str) -> go.Figure:
    figure = px.imshow(np.array(matrix), x=list(CLASS_NAMES), y=list(CLASS_NAMES), text_auto=True,
                       color_continuous_scale="Blues", title=title)
    figure.update_layout(xaxis_title=x_title, yaxis_title="true label", coloraxis_showscale=False, height=300)
    return figure


def report_table(report: dict) -> pd.DataFrame:
    rows = {k: v for k, v in report.items() if isinstance(v, dict)}
    return pd.DataFrame(rows).T.rename(columns={"f1-score": "f1"})


humans = result.humans
panels = st.columns(min(1 + len(result.models), 3))
panels[0].plotly_chart(confusion_figure(humans.confusion, f"Humans (pooled, {humans.n_answers} answers)",
                                        "answered"), key="confusion-humans")
for i, model in enumerate(result.models):
    panels[(i + 1) % len(panels)].plotly_chart(
        confusion_figure(model.confusion, f"{model.key} ({model.n_images} images)", "predicted"),
        key=f"confusion-{model.key}")
with st.expander("Classification reports"):
    st.markdown(f"**Humans** (pooled answers, accuracy {pct(humans.accuracy)})")
    st.dataframe(report_table(humans.report))
    for model in result.models:
        st.markdown(f"**{model.key}** (accuracy {pct(model.accuracy)})")
        st.dataframe(report_table(model.report))
if result.models:
    points = pd.concat([
        pd.DataFrame({"model": key, "model P(AI)": images[f"p_ai {key}"], "share of humans saying AI": images[
            "share_said_ai"], "true label": images["true_label"], "image_id": images["image_id"], "n": images["n"]})
        for key in predictions
    ])
    scatter = px.scatter(points, x="model P(AI)", y="share of humans saying AI", color="true label",
                         symbol="model", hover_data=["image_id", "n"], range_x=[-0.02, 1.02], range_y=[-0.02, 1.02],
                         title="Each survey image: humans against the model")
    scatter.add_hline(y=0.5, line_dash="dot")  # half of the people said AI-generated
    scatter.add_vline(x=THRESHOLD, line_dash="dot")  # from here on the model says AI-generated
    st.plotly_chart(scatter, key="human-model-scatter")
    columns = st.columns(min(len(result.models), 4))
    for i, model in enumerate(result.models):
        columns[i % len(columns)].metric(
            f"κ {model.key} vs human majority", number(model.kappa_vs_majority, 3), help=f"Cohen's kappa over the {model.n_compared} images with a "
            f"human majority; agreement {pct(model.agreement_with_majority)}")
    st.caption(f"Cohen's kappa (scikit-learn) between each model's answer (P(AI) ≥ {THRESHOLD}) and the human majority, "
               f"over the {humans.majority_n} images with a majority ({humans.majority_ties} tied images left out). "
               f"The human majority itself is right on {pct(humans.majority_accuracy)} of them.")
elif not choices:
    st.caption("No finished training runs yet: train a model (`python -m study train --model lenet --data ...`) "
               "to compare it with the humans on these images.")

# --- response times -----------------------------------------------------------------
st.subheader("Response times")
rt = result.answers.assign(answer_was=np.where(result.answers["correct"] == 1, "right", "wrong"))
times = result.response_times
left, right = st.columns(2)
left.plotly_chart(px.histogram(rt, x="response_ms", color="answer_was", nbins=40, barmode="overlay",
                               labels={"response_ms": "response time (ms, measured on the server)"},
                               title="Distribution"), key="rt-histogram")
right.plotly_chart(px.box(rt, x="answer_was", y="response_ms", points="outliers",
                          labels={"response_ms": "response time (ms)", "answer_was": "answer"},
                          title="Against correctness"), key="rt-box")
st.caption(
    f"Median {number(times['median_ms'], 0)} ms (right {number(times['median_ms_right'], 0)}, "
    f"wrong {number(times['median_ms_wrong'], 0)})"
    + ("" if times["mannwhitney_p"] is None else
       f"; Mann-Whitney U test, right vs wrong, two-sided p = {times['mannwhitney_p']:.4f}")
    + ". Times run from the moment the server first sent the image to the moment the answer reached it."
)

# --- export -------------------------------------------------------------------------
st.subheader("Export")
e1, e2, e3 = st.columns(3)
e1.download_button("Answers (CSV, one row per answer)", lambda: survey_export.answers_csv(engine, set_id),
                   file_name=f"survey-set-{set_id}-answers.csv", mime="text/csv", on_click="ignore")
e1.download_button("Its data dictionary (CSV)", survey_export.dictionary_csv(survey_export.COLUMNS),
                   file_name=f"survey-set-{set_id}-answers.dictionary.csv", mime="text/csv", on_click="ignore")
e2.download_button("Participants (CSV)", lambda: participants_export.participants_csv(engine, set_id),
                   file_name=f"survey-set-{set_id}-participants.csv", mime="text/csv", on_click="ignore")
e2.download_button("Its data dictionary (CSV)",
                   survey_export.dictionary_csv(participants_export.PARTICIPANT_COLUMNS),
                   file_name=f"survey-set-{set_id}-participants.dictionary.csv", mime="text/csv", on_click="ignore")
if database_url.startswith("sqlite"):
    e3.download_button("Database (SQLite file)", lambda: database_bytes(database_url),
                       file_name="study.db", mime="application/vnd.sqlite3", on_click="ignore")
else:
    e3.caption("The database is PostgreSQL: copy it with `pg_dump` (e.g. `pg_dump --format=custom "
               "--file=study.dump DBNAME`).")
st.caption("The exports hold every participant who did not withdraw (people who withdrew are in no export; the "
           "description file counts them), simulated ones and researchers' previews marked (is_simulated = 1, "
           "is_preview = 1), whatever the filters above; the participants export names the pre-registered rules "
           "that exclude each person (excluded_by_rules), their device and attention checks. The same files, "
           "each with its data dictionary "
           "(NAME.dictionary.csv: column, type, meaning) and the set's description (NAME.txt) beside it: "
           "`python -m study export answers|participants|database --out PATH`.")
