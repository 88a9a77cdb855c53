"""Issue #14's other study tools, through the flow functions on SQLite and
PostgreSQL: feedback after each answer, display time, attention checks and the
pre-registered exclusion rules, the device class, withdrawal (on the page and by
completion code), and a design that is fixed once people consented."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from db import open_database
from db.schema import Answer, AttentionAnswer, FirstAnswer, IgnoredClick, Participant, ShownImage
from helpers import rows, run_cli
from study import survey
from study.config import get_settings
from study.data import active
from study.errors import StudyError
from study.survey import checks
from study.survey.device import device_class
from study.survey.simulate import simulate

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"


@pytest.fixture
def engine(study_home, backend):
    return open_database(get_settings().database_url)


def make_set(engine, names="control", *, run_id=None, checks_k=0, rules=None, **options):
    return survey.create_set(engine, active.dataset_by_source("demo"), size=6, seed=4, close_current=True,
                             conditions=survey.parse_conditions(names, **options), hint_run_id=run_id,
                             attention_checks=checks_k, exclusion_rules=rules)


def person(engine, user_agent=None):
    step = survey.current_step(engine, survey.Visit(), ())
    token = survey.consent(engine, survey.Visit(), token=step.pending_token,
                           consent_hash=step.survey.consent_hash, user_agent=user_agent)
    survey.answer_questions(engine, token, None, None)
    survey.begin(engine, token)
    survey.current_step(engine, survey.Visit(token=token))  # the first image appears
    return token


def step_of(engine, token):
    return survey.current_step(engine, survey.Visit(token=token))


def answer_everything(engine, token, *, check_answer=None):
    """Answer to the end (checks with their expected answer, or check_answer)."""
    while True:
        step = step_of(engine, token)
        if step.stage == "check":
            pid = rows(engine, Participant, token=token)[0].id
            expected = checks.expected_answer(4, pid, step.check)
            survey.submit_check(engine, token, step.check, expected if check_answer is None else check_answer)
        elif step.stage == "feedback":
            survey.continue_after_feedback(engine, token, step.position)
        elif step.stage == "image":
            survey.submit_answer(engine, token, step.position, 0)
        else:
            return step


def shown_earlier(engine, participant_id, ms):
    """As if the participant's images had been sent `ms` earlier (time passing)."""
    [row] = rows(engine, ShownImage, participant_id=participant_id)
    with engine.begin() as conn:
        conn.execute(update(ShownImage).where(ShownImage.id == row.id)
                     .values(shown_at=row.shown_at - timedelta(milliseconds=ms)))


# --- feedback after each answer and display time ------------------------------------------

def test_feedback_each_says_right_or_wrong_before_the_next_image_and_a_quick_click_is_ignored(engine):
    make_set(engine, feedback="each")
    token = person(engine)
    assert survey.submit_answer(engine, token, 1, 1).status == "stored"
    step = step_of(engine, token)
    [stored] = rows(engine, Answer)
    assert step.stage == "feedback" and step.feedback.position == 1
    assert (step.feedback.answer, step.feedback.correct) == (1, stored.correct)
    with pytest.raises(StudyError, match="has not been shown yet"):  # no next answer before moving on
        survey.submit_answer(engine, token, 2, 0)
    assert survey.continue_after_feedback(engine, token, 1, min_shown_ms=1000) == "too_soon"
    assert step_of(engine, token).stage == "feedback"  # a reload shows it again
    assert survey.continue_after_feedback(engine, token, 1) == "stored"
    assert survey.continue_after_feedback(engine, token, 1) == "already"
    assert (step_of(engine, token).stage, step_of(engine, token).position) == ("image", 2)
    assert [r.step for r in rows(engine, IgnoredClick)] == ["feedback"]
    assert answer_everything(engine, token).stage == "done"


def test_display_time_counts_from_the_first_showing_so_a_reload_gives_no_second_look(engine):
    make_set(engine, display_ms=1500)
    token = person(engine)
    first = step_of(engine, token)
    assert 0 < first.display_left_ms <= 1500 and first.image_png
    pid = rows(engine, Participant, token=token)[0].id
    shown_earlier(engine, pid, 1200)  # 1.2 s later
    assert step_of(engine, token).display_left_ms <= 300
    shown_earlier(engine, pid, 5000)  # and later still: hidden, and still answerable
    assert step_of(engine, token).display_left_ms == 0
    assert survey.submit_answer(engine, token, 1, 1).status == "stored"
    assert step_of(engine, token).display_left_ms > 1000  # the next image has its own time


def test_a_display_time_out_of_range_is_refused():
    with pytest.raises(StudyError, match="--display-ms must be between 100 and 60000"):
        survey.parse_conditions("control", display_ms=50)


# --- attention checks and exclusion rules ---------------------------------------------------

def test_attention_checks_come_at_seeded_positions_are_stored_apart_and_never_scored(engine):
    make_set(engine, checks_k=2, rules=checks.ExclusionRules(failed_checks=True))
    token = person(engine)
    participant = rows(engine, Participant, token=token)[0]
    positions = participant.check_positions
    assert len(positions) == 2 and all(2 <= p <= 6 for p in positions)
    assert positions == checks.check_positions(4, participant.id, 2, 6)  # recomputable from the data
    seen = []
    while (step := step_of(engine, token)).stage != "done":
        if step.stage == "check":
            seen.append((step.check, step.position))
            assert step.image_png.startswith(b"\x89PNG")
            assert survey.submit_check(engine, token, step.check, 0, min_response_ms=1000) == "too_soon"
            expected = checks.expected_answer(4, participant.id, step.check)
            assert survey.submit_check(engine, token, step.check, 1 - expected) == "stored"  # a wrong button
            assert survey.submit_check(engine, token, step.check, expected) == "duplicate"  # kept as first given
        else:
            survey.submit_answer(engine, token, step.position, 0)
    assert seen == [(1, positions[0]), (2, positions[1])]
    assert [r.passed for r in rows(engine, AttentionAnswer)] == [False, False]
    assert step.score.total == 6 and len(rows(engine, Answer)) == 6
    # Failed checks and exclude_failed_checks: this person no longer counts for the balance.
    assert {c["name"]: c["counted"] for c in survey.summary(engine, survey.open_summary(engine).id).conditions} == {
        "control": 0}


def test_the_exclusion_rules_say_who_is_left_out_and_why():
    rules = checks.ExclusionRules(failed_checks=True, speeder_ms=800, incomplete=True)
    people = [
        {"id": 1, "completed": True, "failed_checks": 0, "response_ms": [2000, 3000, 2500]},
        {"id": 2, "completed": True, "failed_checks": 1, "response_ms": [2000, 3000, 2500]},
        {"id": 3, "completed": False, "failed_checks": 0, "response_ms": [300, 400, 9000]},
    ]
    assert checks.excluded(rules, people) == {2: ["failed_checks"], 3: ["speeder", "incomplete"]}
    assert checks.excluded(checks.ExclusionRules(), people) == {}
    with pytest.raises(StudyError, match="must be fewer than the images"):
        checks.validate(3, 3, checks.ExclusionRules())


@pytest.mark.parametrize("k, rules, message", [
    (9, checks.ExclusionRules(), "between 0 and 5"),
    (0, checks.ExclusionRules(failed_checks=True), "needs attention checks"),
    (1, checks.ExclusionRules(speeder_ms=5), "--exclude-speeders must be between"),
])
def test_bad_checks_or_rules_are_refused_and_no_set_is_made(engine, k, rules, message):
    with pytest.raises(StudyError, match=message):
        make_set(engine, checks_k=k, rules=rules)
    assert survey.all_summaries(engine) == []


def test_the_design_is_fixed_once_somebody_consented_but_previews_do_not_fix_it(engine):
    info = make_set(engine, "control")
    survey.start_preview(engine, info.id, "control")
    changed = survey.change_design(engine, info.id, attention_checks=1,
                                   exclusion_rules=checks.ExclusionRules(failed_checks=True))
    assert changed.attention_checks == 1 and changed.exclusion_rules["failed_checks"]
    person(engine)
    with pytest.raises(StudyError, match="1 people have already consented"):
        survey.change_design(engine, info.id, attention_checks=0)
    assert survey.summary(engine, info.id).attention_checks == 1


# --- who, on what ---------------------------------------------------------------------------

def test_only_a_coarse_device_class_is_stored():
    assert [device_class(ua) for ua in (IPHONE, DESKTOP, None)] == ["mobile", "desktop", None]
    assert device_class("Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 Safari/537.36") == "tablet"
    assert device_class("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Mobile Safari/537.36") == \
        "mobile"


def test_the_device_class_is_stored_at_consent(engine):
    make_set(engine)
    assert [rows(engine, Participant, token=person(engine, ua))[0].device_class for ua in (IPHONE, DESKTOP)] == [
        "mobile", "desktop"]


# --- withdrawal ---------------------------------------------------------------------------------

def test_withdrawing_mid_survey_deletes_every_answer_and_keeps_only_that_they_withdrew(engine, finished_run):
    _, run_id = finished_run
    info = make_set(engine, "control,model", run_id=run_id, hint_timing="after_first", checks_k=1)
    tokens = [person(engine, DESKTOP) for _ in range(2)]
    for token in tokens:
        for _ in range(4):  # a few steps of whatever comes
            step = step_of(engine, token)
            if step.stage == "check":
                survey.submit_check(engine, token, step.check, 0)
            elif step.phase == "first":
                survey.submit_first_answer(engine, token, step.position, 1)
            else:
                survey.submit_answer(engine, token, step.position, 1)
    leaving = rows(engine, Participant, token=tokens[0])[0]
    assert survey.withdraw(engine, tokens[0]) > 0
    assert survey.withdraw(engine, tokens[0]) == 0  # twice changes nothing
    for model in (Answer, FirstAnswer, AttentionAnswer, ShownImage, IgnoredClick):
        assert rows(engine, model, participant_id=leaving.id) == []
    kept = rows(engine, Participant, token=tokens[0])[0]
    assert kept.withdrawn_at is not None and kept.condition_id == leaving.condition_id
    assert (kept.device_class, kept.prolific_pid, kept.image_order, kept.completed_at) == (None, None, [], None)
    assert rows(engine, Answer, participant_id=rows(engine, Participant, token=tokens[1])[0].id)  # others keep theirs
    assert step_of(engine, tokens[0]).stage == "withdrawn"
    with pytest.raises(StudyError, match="You withdrew"):
        survey.submit_answer(engine, tokens[0], 1, 0)
    summary = survey.summary(engine, info.id)
    assert summary.withdrawn == 1 and summary.consented == 2
    assert sum(c["counted"] for c in summary.conditions) == 1  # who withdrew no longer counts
    # The next person goes where the withdrawn one was: the balance counts people who stayed.
    newcomer = person(engine)
    assert rows(engine, Participant, token=newcomer)[0].condition_id == leaving.condition_id


def test_a_finished_participant_withdraws_by_completion_code_on_the_command_line(capsys, study_home):
    engine = open_database(get_settings().database_url)
    make_set(engine)
    token = person(engine)
    code = answer_everything(engine, token).completion_code
    assert run_cli(capsys, "survey", "withdraw", code.lower())[0] == 0
    assert rows(engine, Answer) == [] and step_of(engine, token).stage == "withdrawn"
    exit_code, _, err = run_cli(capsys, "survey", "withdraw", code)
    assert exit_code == 2 and "no participant has the completion code" in err


def test_simulated_people_pass_through_checks_and_feedback(engine):
    make_set(engine, feedback="each", checks_k=2)
    result = simulate(engine, 5, seed=3)
    assert result["completed"] == 5 and result["answers"] == 30
    assert len(rows(engine, AttentionAnswer)) == 10
    assert all(r.feedback_seen_at is not None for r in rows(engine, Answer) if r.position < 6)
