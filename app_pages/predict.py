"""Researcher page "Live predictions": one image in front of several trained
models at once, each with P(AI-generated) and its Grad-CAM map, beside what
the humans answered. Query (study.ml.live.LiveLink): ?run=<training run> compares
that run's model (the Training page links here), ?set=<survey set id>&image=<pool
position> shows that survey image (the Results page links here), ?id=<dataset
image id> a dataset image. Researchers only, so image ids are shown. The work
is in study.ml.live, study.data.uploads, models.explain; who counts is the
Results page's rule (study.analysis.results.counted_answers)."""
import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

from models.explain import DEFAULT_OPACITY, METHODS
from study import analysis, survey
from study.analysis import humans_vs_models as analysis_models
from study.ml import live
from study.data.active import active_dataset
from study.analysis.images import per_image
from study.analysis.results import counted_answers
from study.data.demo import DEMO_NOTE
from study.errors import StudyError
from study.labels import CLASS_NAMES, class_name
from study.data.uploads import UPLOAD_TYPES, decode_image
from ui.auth import require_researcher
from ui.formatting import number, pct
from ui.pickers import TRAIN_COMMAND
from ui.resources import engine as study_engine

require_researcher()
st.title("Live predictions")
engine = study_engine()
SOURCES = ["Survey set image", "Dataset image", "Upload"]
CLASS_CHOICES = {"predicted class": None, **{name: label for label, name in enumerate(CLASS_NAMES)}}


@st.cache_resource(show_spinner="Loading the model…", max_entries=8)
def loaded_model(path: str, mtime: float) -> live.LoadedModel:
    """Once per process per checkpoint file version; calls on it take its lock."""
    return live.load_model(path)


@st.cache_data(show_spinner=False, max_entries=512)
def explained(path: str, mtime: float, picture_key: str, _picture: np.ndarray, method: str,
              target_class: int | None) -> live.LiveResult:
    """Keyed on the picture's sha256 (picture_key), not its pixels: an imported one can be megapixels."""
    return live.predict_and_explain(loaded_model(path, mtime), _picture, method=method, target_class=target_class)


link, link_problems = live.LiveLink.from_query(st.query_params)
for problem in link_problems:
    st.warning(f"Note: {problem}.")

# --- the models ---------------------------------------------------------------------
choices = analysis_models.available_models(engine)
if not choices:
    st.info(
        "No finished training run with a checkpoint exists yet, so there is no model to ask. Train one from the "
        f"command line, e.g. `{TRAIN_COMMAND}` (a LeNet on the synthetic demo pool, about a minute on a laptop), "
        "or on the Training page; it appears here when it finishes."
    )
    st.stop()

# --- the image ----------------------------------------------------------------------
sets = survey.all_summaries(engine)
default_source = 1 if link.image_id is not None or not sets else 0
source = st.radio("Image from", SOURCES, index=default_source, horizontal=True)
pixels, true_label, image_note, humans = None, None, "", None

if source == "Survey set image":
    if not sets:
        st.info("No survey set exists yet; choose a dataset image or upload one.")
        st.stop()
    ids = [s.id for s in sets]
    usual = analysis.default_set_id(engine)
    set_index, note = live.wanted_index(ids, link.set_id, "survey set", ids.index(usual) if usual in ids else 0)
    if note:
        st.warning(f"Note: {note}.")
    set_id = st.selectbox("Survey set", ids, index=set_index,
                          format_func=lambda i: next(f"{s.id}: {s.name} ({s.status})" for s in sets if s.id == i))
    images = analysis.load_images(engine, set_id)
    positions = images["pool_position"].tolist()
    # A link's position names an image of the link's set, not of another set chosen here.
    position_index, note = live.wanted_index(positions, link.position if link.set_id in (None, set_id) else None,
                                             "image position")
    if note:
        st.warning(f"Note: {note}.")
    position = st.selectbox("Image (position in the set)", positions, index=position_index)
    row = images.index[images["pool_position"] == position][0]
    try:
        pixels = analysis.set_picture(engine, set_id, images.loc[row, "image_id"])
    except StudyError as err:
        st.error(str(err))
        st.stop()
    true_label = int(images.loc[row, "label"])
    image_note = f"`{images.loc[row, 'image_id']}` · set {set_id}, position {position}"
    answers = analysis.load_answers(engine, set_id)
    n_simulated = int(answers["is_simulated"].sum())
    include_simulated = bool(n_simulated) and st.checkbox(
        f"Include simulated participants ({n_simulated} answers in this set)")
    rules = next(s.exclusion_rules for s in sets if s.id == set_id)  # the set's pre-registered rules apply here too
    kept = counted_answers(answers, analysis.Inclusion(include_simulated=include_simulated), rules)
    humans = per_image(images, kept).set_index("pool_position").loc[position]

elif source == "Dataset image":
    dataset = active_dataset(engine)
    if dataset.is_demo:
        st.warning(f"**{DEMO_NOTE}**: the dataset is the synthetic demo pool, not CIFAKE.")
    image_id = st.text_input("Image id (leave empty to browse)", value=link.image_id or "")
    if image_id.strip():
        try:
            index = dataset.index_of(image_id.strip())
        except StudyError as err:
            st.error(str(err))
            st.stop()
    else:
        left, right = st.columns(2)
        label_filter = left.radio("Label", ["any", *CLASS_NAMES], horizontal=True)
        split_names = sorted(set(dataset.splits.tolist()))
        split = right.radio("Split", ["any", *split_names], horizontal=True)
        keep = np.ones(len(dataset), bool)
        if label_filter != "any":
            keep &= dataset.labels == CLASS_NAMES.index(label_filter)
        if split != "any":
            keep &= dataset.splits == split
        candidates = np.flatnonzero(keep)
        if len(candidates) == 0:
            st.info("No image matches these filters.")
            st.stop()

        def pick_random() -> None:
            st.session_state["predict_browse"] = int(np.random.default_rng().integers(len(candidates)))

        st.session_state["predict_browse"] = min(int(st.session_state.get("predict_browse", 0)), len(candidates) - 1)
        left, right = st.columns([3, 1])
        nth = left.number_input(f"Image number (0 to {len(candidates) - 1})", min_value=0,
                                max_value=len(candidates) - 1, step=1, key="predict_browse")
        right.button("Random image", on_click=pick_random)
        index = int(candidates[int(nth)])
    pixels, true_label = np.asarray(dataset.images[index]), int(dataset.labels[index])
    image_note = f"`{dataset.ids[index]}` · {dataset.splits[index]} split"

else:
    uploaded = st.file_uploader("An image (PNG, JPEG or WebP, any size)", type=UPLOAD_TYPES)
    if uploaded is None:
        st.info("Upload an image of any size: each model takes its centre square at the side it was trained "
                "on (32x32 for CIFAKE's models); the map is drawn over the whole picture. Nothing is stored.")
        st.stop()
    try:
        decoded = decode_image(uploaded.getvalue(), name=uploaded.name)
    except StudyError as err:
        st.error(str(err))
        st.stop()
    pixels = decoded.original
    image_note = f"upload `{decoded.name}` · true label unknown"
    st.markdown(f"**Read as:** {decoded.read_as}")

# --- the controls -------------------------------------------------------------------
by_key = {c.key: c for c in choices}
first_models, note = live.models_to_compare(choices, link.run_id)
if note:
    st.warning(f"Note: {note}.")
picked = st.multiselect(
    "Models (finished training runs)", list(by_key), default=first_models,
    format_func=lambda k: by_key[k].key + ("" if by_key[k].test_accuracy is None
                                           else f" · test accuracy {pct(by_key[k].test_accuracy)}"),
)
left, middle, right = st.columns(3)
method = left.selectbox("CAM method", list(METHODS), format_func=lambda m: METHODS[m][1])
explain_choice = middle.selectbox("Explain", list(CLASS_CHOICES), disabled=method == "eigencam")
opacity = right.slider("Map opacity", 0.0, 1.0, DEFAULT_OPACITY, 0.05)
target_class = CLASS_CHOICES[explain_choice]

st.caption(image_note + ("" if true_label is None else f" · true label **{class_name(true_label)}**"))

# --- one row per model, the humans beside -------------------------------------------
if humans is not None:
    models_area, humans_area = st.columns([3, 1])
else:
    models_area, humans_area = st.container(), None

pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
picture_key = hashlib.sha256(pixels.tobytes()).hexdigest() + str(pixels.shape)
with models_area:
    if not picked:
        st.info("Choose at least one model.")
    for key in picked:
        choice = by_key[key]
        try:
            mtime = Path(choice.checkpoint_path).stat().st_mtime
            result = explained(choice.checkpoint_path, mtime, picture_key, pixels, method, target_class)
        except (StudyError, OSError) as err:
            st.error(f"{choice.key}: {err}")
            continue
        st.markdown(f"**{choice.key}**")
        image_col, verdict_col, cam_col = st.columns(3)
        image_col.image(live.display_png(pixels), caption=f"picture, {pixels.shape[1]}x{pixels.shape[0]}",
                        width="stretch")
        verdict = f"P(AI-generated) = **{result.p_ai:.3f}** → **{result.predicted_name}**"
        if true_label is not None:  # the cached result does not know the label: judge it here
            verdict += (" :green[:material/check_circle: right]" if result.predicted == true_label
                        else " :red[:material/cancel: wrong]")
        verdict_col.markdown(verdict)
        explained_what = "no class" if result.target_class is None else class_name(result.target_class)
        verdict_col.caption(f"{METHODS[method][1]} for {explained_what} at `{result.layer}` "
                            f"({result.native_shape[0]}x{result.native_shape[1]} native map)")
        verdict_col.caption(live.model_input_text(result.view))
        cam_col.image(live.overlay_png(pixels, result, opacity=opacity), caption="CAM overlay", width="stretch")
        if result.note:
            cam_col.caption(f"Note: {result.note}.")
        if result.map_is_empty:
            cam_col.caption(f"The map is empty: nothing in this image raises the {explained_what} score "
                            "at this layer.")

if humans_area is not None:
    with humans_area:
        st.markdown("**What the humans said**")
        n = int(humans["n"])
        if n == 0:
            st.write("Nobody has answered this image yet.")
        else:
            st.metric("Said AI-generated", pct(humans["share_said_ai"], 0))
            st.metric("Answers", n)
            st.metric("Mean confidence (1–5)", number(humans["mean_confidence"]))
            st.metric("Mean response time", f"{number(humans['mean_response_ms'] / 1000, 1)} s")
