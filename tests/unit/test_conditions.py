"""Study conditions (issue #14), through the flow functions on SQLite and PostgreSQL:
a set's conditions, the model's hints frozen when the set is made, balanced
assignment at consent (previews and simulated people never shift it), and the
two answers of after_first conditions."""
from __future__ import annotations

import hashlib
import io
from collections import Counter

import pytest
from PIL import Image
from sqlalchemy import func, select

import db.conditions as qc
from db import open_database
from db.schema import Answer, FirstAnswer, IgnoredClick, ModelHint, Participant, SurveySet
from helpers import at_once, rows, run_cli
from study import survey
from study.config import get_settings
from study.data import active
from study.errors import StudyError
from study.survey import flow as survey_flow
from study.survey.simulate import simulate


@pytest.fixture
def engine(study_home, backend):
    return open_database(get_settings().database_url)


def make_set(engine, names="control,model", run_id=None, **options):
    conditions = survey.parse_conditions(names, **options)
    return survey.create_set(engine, active.dataset_by_source("demo"), size=6, seed=3, conditions=conditions,
                             hint_run_id=run_id, close_current=True)


def consent_one(engine, i=0):
    step = survey.current_step(engine, survey.Visit(), ())
    return survey.consent(engine, survey.Visit(), token=step.pending_token, consent_hash=step.survey.consent_hash)


def condition_name(engine, token) -> str:
    participant = rows(engine, Participant, token=token)[0]
    return qc.condition_by_id(engine, participant.condition_id).name


def to_first_image(engine, token):
    survey.answer_questions(engine, token, None, None)
    survey.begin(engine, token)
    return survey.current_step(engine, survey.Visit(token=token))


# --- the design --------------------------------------------------------------------

@pytest.mark.parametrize("names, options, message", [
    ("control,placebo", {}, "unknown condition 'placebo'"),
    ("model,model", {}, "once"),
    ("control,,model", {}, "no empty names"),
    ("model", {"hint_timing": "during"}, "--hint-timing must be one of before, after_first"),
    ("model", {"feedback": "sometimes"}, "--feedback must be one of"),
])
def test_a_bad_design_is_one_clear_message(names, options, message):
    with pytest.raises(StudyError, match=message):
        survey.parse_conditions(names, **options)


def test_hinted_conditions_need_a_finished_run_with_a_checkpoint_and_nothing_is_created_without(
        engine, finished_run, tmp_path):
    _, run_id = finished_run
    with pytest.raises(StudyError, match="--hint-run RUN_ID"):
        make_set(engine, "control,model")
    with pytest.raises(StudyError, match="there is no training run 999"):
        make_set(engine, "control,model", run_id=999)
    with pytest.raises(StudyError, match="only used by the model and model_cam"):
        make_set(engine, "control", run_id=run_id)
    from db.runs import create_run
    unfinished = create_run(engine, "lenet", {"model": "lenet"}, dataset_source="demo")
    with pytest.raises(StudyError, match=f"run {unfinished} is running and has no checkpoint"):
        make_set(engine, "model", run_id=unfinished)
    assert rows(engine, SurveySet) == []


def test_the_hints_are_computed_once_frozen_with_the_checkpoint_hash_and_carry_no_id(engine, finished_run):
    _, run_id = finished_run
    info = make_set(engine, "control,model,model_cam", run_id=run_id)
    assert [c["name"] for c in info.conditions] == ["control", "model", "model_cam"]
    assert info.hint_run_id == run_id
    [stored] = rows(engine, SurveySet, id=info.id)
    from db.runs import get_run
    checkpoint = get_run(engine, run_id)["checkpoint_path"]
    with open(checkpoint, "rb") as f:
        assert stored.hint_checkpoint_sha256 == hashlib.sha256(f.read()).hexdigest()
    hints = rows(engine, ModelHint, set_id=info.id)
    images = {r.image_id for r in survey.sets.q.set_images(engine, info.id)}
    assert {h.image_id for h in hints} == images and len(hints) == 6
    for hint in hints:
        assert 0.0 <= hint.p_ai <= 1.0 and hint.verdict == int(hint.p_ai >= 0.5)
        overlay = Image.open(io.BytesIO(hint.cam_png))
        assert overlay.format == "PNG" and overlay.size == (survey_flow.DISPLAY_PX, survey_flow.DISPLAY_PX)
    # The run's checkpoint changing later changes nothing anybody sees.
    with open(checkpoint, "ab") as f:
        f.write(b"retrained")
    assert [(h.p_ai, h.verdict) for h in rows(engine, ModelHint, set_id=info.id)] == [(h.p_ai, h.verdict) for h in hints]


# --- balanced assignment -------------------------------------------------------------

def test_sixty_simultaneous_consents_across_two_conditions_end_thirty_thirty(engine, finished_run):
    _, run_id = finished_run
    make_set(engine, "control,model", run_id=run_id)
    tokens = at_once(60, lambda i: consent_one(engine))
    assert all(isinstance(t, str) for t in tokens), [t for t in tokens if not isinstance(t, str)]
    assert len(set(tokens)) == 60
    assert Counter(condition_name(engine, t) for t in tokens) == {"control": 30, "model": 30}


def test_previews_and_simulated_participants_never_shift_the_balance(engine, finished_run):
    _, run_id = finished_run
    info = make_set(engine, "control,model", run_id=run_id)
    for _ in range(4):
        survey.start_preview(engine, info.id, "control")
    simulate(engine, 5, seed=1)
    tokens = [consent_one(engine) for _ in range(4)]
    assert Counter(condition_name(engine, t) for t in tokens) == {"control": 2, "model": 2}
    summary = survey.summary(engine, info.id)
    assert {c["name"]: (c["counted"], c["previews"]) for c in summary.conditions} == {
        "control": (2, 4), "model": (2, 0)}
    reason = rows(engine, Participant, token=tokens[0])[0].assignment
    assert reason["counts"] == {"control": 0, "model": 0} and reason["tied"] == ["control", "model"]
    with pytest.raises(StudyError, match="has no condition 'model_cam'; it has: control, model"):
        survey.start_preview(engine, info.id, "model_cam")


def test_simulated_participants_are_balanced_among_themselves(engine, finished_run):
    _, run_id = finished_run
    info = make_set(engine, "control,model,model_cam", run_id=run_id)
    simulate(engine, 60, seed=2)
    with engine.connect() as conn:
        per_condition = dict(conn.execute(
            select(Participant.condition_id, func.count()).where(Participant.set_id == info.id)
            .group_by(Participant.condition_id)).all())
    assert sorted(per_condition.values()) == [20, 20, 20]
    assert {c["name"]: c["counted"] for c in survey.summary(engine, info.id).conditions} == {
        "control": 0, "model": 0, "model_cam": 0}  # simulated people are not counted as real ones


# --- what a participant sees and what is stored -----------------------------------------

def test_after_first_asks_without_the_hint_then_with_it_and_keeps_both_answers(engine, finished_run):
    _, run_id = finished_run
    info = make_set(engine, "model_cam", run_id=run_id, hint_timing="after_first")
    token = consent_one(engine)
    first = to_first_image(engine, token)
    assert (first.phase, first.hint, first.condition.name) == ("first", None, "model_cam")
    with pytest.raises(StudyError, match="needs a first answer"):
        survey.submit_answer(engine, token, 1, 0)
    assert survey.submit_first_answer(engine, token, 1, 1).status == "stored"
    assert survey.submit_first_answer(engine, token, 1, 0).status == "duplicate"  # a double click: kept as is
    final = survey.current_step(engine, survey.Visit(token=token))  # also what a reload shows
    [hint_row] = [h for h in rows(engine, ModelHint, set_id=info.id)
                  if h.image_id == rows(engine, Participant, token=token)[0].image_order[0]]
    assert (final.phase, final.first_answer, final.position) == ("final", 1, 1)
    assert (final.hint.verdict, final.hint.p_ai) == (hint_row.verdict, hint_row.p_ai)
    assert final.hint.cam_png == hint_row.cam_png
    # The final question appears when the first answer is stored: a click right after is ignored.
    assert survey.submit_answer(engine, token, 1, 0, min_response_ms=1000).status == "too_soon"
    assert survey.submit_answer(engine, token, 1, 0, 4).status == "stored"
    [answer] = rows(engine, Answer)
    assert (answer.initial_answer, answer.answer, answer.hint_verdict, answer.hint_p_ai) == (
        1, 0, hint_row.verdict, hint_row.p_ai)
    assert [r.answer for r in rows(engine, FirstAnswer)] == [1]
    assert {r.step for r in rows(engine, IgnoredClick)} == {"image_first", "image"}
    following = survey.current_step(engine, survey.Visit(token=token))
    assert (following.position, following.phase, following.hint) == (2, "first", None)


def test_a_before_hint_comes_with_the_image_and_model_shows_no_map(engine, finished_run):
    _, run_id = finished_run
    make_set(engine, "model", run_id=run_id)
    token = consent_one(engine)
    step = to_first_image(engine, token)
    assert step.phase == "answer" and step.hint is not None and step.hint.cam_png is None
    assert "The AI model says" in step.hint.words
    assert survey.submit_answer(engine, token, 1, step.hint.verdict).status == "stored"
    assert rows(engine, Answer)[0].hint_verdict == step.hint.verdict


def test_simulated_people_in_after_first_conditions_give_both_answers(engine, finished_run):
    _, run_id = finished_run
    info = make_set(engine, "control,model", run_id=run_id, hint_timing="after_first")
    simulate(engine, 4, seed=5)
    answers = rows(engine, Answer)
    assert len(answers) == 4 * info.size
    hinted = [a for a in answers if a.hint_verdict is not None]
    assert len(hinted) == 2 * info.size and all(a.initial_answer is not None for a in hinted)
    assert len(rows(engine, FirstAnswer)) == 2 * info.size


def test_survey_create_on_the_command_line_lists_the_conditions(capsys, study_home, finished_run):
    import json

    _, run_id = finished_run
    code, out, _ = run_cli(capsys, "survey", "create", "--size", "6", "--seed", "2", "--conditions",
                           "control,model,model_cam", "--hint-run", run_id, "--hint-timing", "after_first",
                           "--json")
    assert code == 0
    conditions = json.loads(out)["conditions"]
    assert [(c["name"], c["hint"], c["hint_timing"]) for c in conditions] == [
        ("control", "none", "before"), ("model", "model", "after_first"), ("model_cam", "model_cam", "after_first")]
    code, _, err = run_cli(capsys, "survey", "create", "--seed", "3", "--conditions", "control,model",
                           "--hint-run", "4242")
    assert code == 2 and err.strip().splitlines() == [
        "error: --hint-run 4242: there is no training run 4242 (the Training page lists the finished runs)"]


def test_a_researcher_previews_a_draft_set_before_anybody_can_take_it(engine, finished_run):
    _, run_id = finished_run
    conditions = survey.parse_conditions("control,model", hint_timing="after_first")
    info = survey.create_set(engine, active.dataset_by_source("demo"), size=4, seed=3, conditions=conditions,
                             hint_run_id=run_id, open_now=False)
    assert survey.current_step(engine, survey.Visit(), ()).stage == "not_open"  # participants cannot reach a draft
    token = survey.start_preview(engine, info.id, "model")
    step = to_first_image(engine, token)
    assert (step.stage, step.phase, step.condition.name) == ("image", "first", "model")
    assert survey.submit_first_answer(engine, token, 1, 1).status == "stored"
    assert survey.current_step(engine, survey.Visit(token=token)).hint is not None
    assert (survey.summary(engine, info.id).consented, survey.summary(engine, info.id).previews) == (0, 1) and all(
        c["counted"] == 0 for c in survey.summary(engine, info.id).conditions)
