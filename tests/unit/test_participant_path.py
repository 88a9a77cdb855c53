"""One person, one participant, and what they agreed to (issue #12), through the
flow functions on SQLite and PostgreSQL: the token the browser remembers, clicks
aimed at the previous page, the consent version, a set closed mid-survey, and
people who took part in an earlier set."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import db.survey as q
from db import open_database
from db.schema import Answer, ConsentText, IgnoredClick, Participant, utcnow
from study import survey
from study.data import active
from study.survey import flow as survey_flow
from study.config import get_settings
from study.errors import StudyError
from helpers import at_once


@pytest.fixture
def engine(study_home, backend):
    return open_database(get_settings().database_url)


def count(engine, model, **where):
    query = select(func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def consent_page(engine, remembered=(), **external):
    step = survey.current_step(engine, survey.Visit(**external), remembered)
    assert step.stage == "consent"
    return step


def agree(engine, step, **external):
    return survey.consent(engine, survey.Visit(**external), token=step.pending_token,
                          consent_hash=step.survey.consent_hash)


def to_first_image(engine, token):
    survey.answer_questions(engine, token, None, None)
    survey.begin(engine, token)
    return survey.current_step(engine, survey.Visit(token=token))


# --- the browser's token -----------------------------------------------------------

def test_a_double_click_on_continue_creates_one_participant(engine):
    page = consent_page(engine)
    first, second = agree(engine, page), agree(engine, page)
    assert first == second == page.pending_token and count(engine, Participant) == 1


def test_twin_consents_from_two_processes_at_once_create_one_participant(engine):
    page = consent_page(engine)
    tokens = at_once(6, lambda i: agree(engine, page))
    assert set(tokens) == {page.pending_token} and count(engine, Participant) == 1


def test_a_reload_before_or_after_continue_comes_back_to_the_same_person(engine):
    page = consent_page(engine)
    # Reloaded before the click: the cookie's token is offered again, nobody exists yet.
    again = consent_page(engine, remembered=[None, page.pending_token])
    assert again.pending_token == page.pending_token and count(engine, Participant) == 0
    token = agree(engine, again)
    # Reloaded after the click (the URL never got ?p=): the cookie resumes them.
    back = survey.current_step(engine, survey.Visit(), [None, page.pending_token])
    assert (back.stage, back.token) == ("resume", token) and count(engine, Participant) == 1


def test_the_back_button_to_the_start_page_resumes_and_a_finished_person_sees_their_end_page(engine):
    token = agree(engine, consent_page(engine))
    assert survey.current_step(engine, survey.Visit(), [token]).stage == "resume"
    to_first_image(engine, token)
    for k in range(1, 16):
        survey.current_step(engine, survey.Visit(token=token))
        survey.submit_answer(engine, token, k, 1)
    back = survey.current_step(engine, survey.Visit(), [token, None])
    assert back.stage == "resume" and back.token == token
    assert survey.current_step(engine, survey.Visit(token=back.token)).stage == "done"
    assert count(engine, Participant) == 1


def test_a_remembered_token_of_another_prolific_participant_is_not_used(engine):
    token = agree(engine, consent_page(engine, prolific_pid="first"), prolific_pid="first")
    other = consent_page(engine, remembered=[token], prolific_pid="second")
    assert other.pending_token != token


def test_a_malformed_remembered_token_is_ignored(engine):
    page = consent_page(engine, remembered=["<script>", "x" * 31])
    assert page.pending_token not in ("<script>", "x" * 31)


# --- clicks aimed at the previous page -----------------------------------------------

def test_a_click_on_the_questions_right_after_consent_is_ignored_and_kept(engine):
    token = agree(engine, consent_page(engine))
    assert survey.answer_questions(engine, token, "25-34", None, min_shown_ms=60_000) == "too_soon"
    assert survey.current_step(engine, survey.Visit(token=token)).stage == "questions"
    assert count(engine, IgnoredClick, step="questions", reason="too_soon") == 1
    assert survey.answer_questions(engine, token, "25-34", None) == "stored"
    assert survey.current_step(engine, survey.Visit(token=token)).stage == "instructions"


def test_a_second_click_that_lands_on_start_does_not_skip_the_instructions(engine):
    token = agree(engine, consent_page(engine))
    survey.answer_questions(engine, token, None, None)
    assert survey.begin(engine, token, min_shown_ms=60_000) == "too_soon"
    assert survey.current_step(engine, survey.Visit(token=token)).stage == "instructions"
    assert count(engine, IgnoredClick, step="instructions", reason="too_soon") == 1


def test_an_answer_from_a_second_window_to_an_answered_image_is_kept_as_evidence(engine):
    token = agree(engine, consent_page(engine))
    to_first_image(engine, token)
    assert survey.submit_answer(engine, token, 1, 0).status == "stored"
    other_window = survey.submit_answer(engine, token, 1, 1)
    assert (other_window.status, other_window.answer) == ("duplicate", 0)
    assert count(engine, IgnoredClick, step="image", position=1, answer=1, reason="already_answered") == 1
    assert count(engine, Answer) == 1


# --- the consent version -------------------------------------------------------------

def test_a_consent_text_changed_while_reading_is_shown_again_and_nothing_is_written(engine):
    page = consent_page(engine)
    survey.edit_consent(engine, page.survey.set_id, "A new text.")
    with pytest.raises(survey.ConsentChanged, match="changed while you were reading"):
        agree(engine, page)
    assert count(engine, Participant) == 0
    fresh = consent_page(engine, remembered=[page.pending_token])
    assert fresh.survey.consent_text == "A new text."
    token = agree(engine, fresh)
    with engine.connect() as conn:
        stored = conn.execute(select(Participant.consent_hash).where(Participant.token == token)).scalar()
        text = conn.execute(select(ConsentText.text).where(ConsentText.hash == stored)).scalar()
    assert stored == survey.consent_digest("A new text.") and text == "A new text."


def test_another_set_opened_with_another_text_while_reading_asks_again(engine):
    page = consent_page(engine)
    survey.create_set(engine, active.dataset_by_source("demo"), size=10, seed=5,
                      consent_text="Another study's text.")
    with pytest.raises(survey.ConsentChanged):
        agree(engine, page)
    assert count(engine, Participant) == 0


# --- a set closed mid-survey ---------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = utcnow()

    def __call__(self):
        return self.now


def test_the_time_a_set_was_closed_is_not_counted_in_the_response_time(engine, monkeypatch):
    clock = Clock()
    for module in (survey_flow, q):
        monkeypatch.setattr(module, "utcnow", clock)
    token = agree(engine, consent_page(engine))
    to_first_image(engine, token)  # image 1 shown now
    clock.now += timedelta(seconds=2)
    set_id = survey.close_set(engine).id
    clock.now += timedelta(hours=3)
    assert survey.current_step(engine, survey.Visit(token=token)).stage == "closed"
    assert survey.submit_answer(engine, token, 1, 1).status == "closed"
    assert count(engine, IgnoredClick, reason="set_closed") == 1
    survey.open_set(engine, set_id)
    clock.now += timedelta(seconds=3)
    assert survey.submit_answer(engine, token, 1, 1).status == "stored"
    with engine.connect() as conn:
        row = conn.execute(select(Answer.response_ms, Answer.paused_ms)).one()
    assert (row.response_ms, row.paused_ms) == (5_000, 3 * 3600 * 1000)


def test_the_closed_page_says_how_many_answers_are_kept(engine):
    token = agree(engine, consent_page(engine))
    to_first_image(engine, token)
    survey.submit_answer(engine, token, 1, 1)
    survey.close_set(engine)
    step = survey.current_step(engine, survey.Visit(token=token))
    assert (step.stage, step.answered) == ("closed", 1)


# --- one person, one study -------------------------------------------------------------

def test_a_prolific_participant_of_an_earlier_set_of_the_same_pool_cannot_start_the_next(engine):
    demo = active.dataset_by_source("demo")
    token = agree(engine, consent_page(engine, prolific_pid="pid1"), prolific_pid="pid1")
    first_set = survey.open_summary(engine).id
    second = survey.create_set(engine, demo, size=10, seed=9, close_current=True)
    assert second.exclude_sets == (first_set,)
    step = survey.current_step(engine, survey.Visit(prolific_pid="pid1"))
    assert step.stage == "already_took_part"
    with pytest.raises(survey.AlreadyTookPart):
        survey.consent(engine, survey.Visit(prolific_pid="pid1"))
    # ...nor by the browser that remembers them
    assert survey.current_step(engine, survey.Visit(), [token]).stage == "already_took_part"
    assert survey.current_step(engine, survey.Visit(prolific_pid="pid2")).stage == "consent"
    assert count(engine, Participant) == 1


def test_a_set_that_excludes_nobody_lets_earlier_participants_take_it(engine):
    demo = active.dataset_by_source("demo")
    token = agree(engine, consent_page(engine, prolific_pid="pid1"), prolific_pid="pid1")
    survey.create_set(engine, demo, size=10, seed=9, close_current=True, exclude_sets=[])
    assert survey.current_step(engine, survey.Visit(prolific_pid="pid1")).stage == "consent"
    page = survey.current_step(engine, survey.Visit(), [token])
    assert page.stage == "consent" and page.pending_token != token  # a fresh participant for the new set


def test_excluding_a_set_that_does_not_exist_is_refused(engine):
    with pytest.raises(StudyError, match="no such set"):
        survey.create_set(engine, active.dataset_by_source("demo"), size=10, seed=9, exclude_sets=[42])


# --- what "started" counts -------------------------------------------------------------

def test_started_counts_people_who_saw_the_first_image(engine):
    just_consented = agree(engine, consent_page(engine))
    saw_image = agree(engine, consent_page(engine))
    to_first_image(engine, saw_image)
    summary = survey.open_summary(engine)
    assert (summary.consented, summary.started, summary.completed) == (2, 1, 0)
    assert just_consented != saw_image


def test_the_exports_carry_the_consent_version_its_text_the_ignored_clicks_and_the_paused_time(engine):
    import csv
    import io

    from study.analysis import export as participants_export

    token = agree(engine, consent_page(engine))
    to_first_image(engine, token)
    survey.submit_answer(engine, token, 1, 1)
    survey.submit_answer(engine, token, 1, 0)  # a second window: ignored, kept
    set_id = survey.open_summary(engine).id
    people = list(csv.DictReader(io.StringIO(participants_export.participants_csv(engine, set_id))))
    digest = survey.consent_digest(survey.DEFAULT_CONSENT)
    assert [(p["consent_hash"], p["ignored_clicks"], p["saw_first_image"]) for p in people] == [(digest, "1", "1")]
    notes = participants_export.participants_description(engine, set_id)
    assert f"--- consent text {digest} ---" in notes and survey.DEFAULT_CONSENT in notes
    answers = list(csv.DictReader(io.StringIO(survey.answers_csv(engine, set_id))))
    assert [a["paused_ms"] for a in answers] == ["0"]
