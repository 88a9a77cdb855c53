"""The participant flow against a real database, SQLite and PostgreSQL (`backend`):
answers are stored once, in order, with correctness from the stored label;
identities never split in two."""
import numpy as np
import pytest
from sqlalchemy import func, select

from db import open_database
from db.schema import Answer, IgnoredClick, Participant, ShownImage, SurveyImage
from study.data import active
from study import survey
from study.config import get_settings
from study.errors import StudyError
from helpers import at_once


@pytest.fixture
def engine(study_home, backend):
    return open_database(get_settings().database_url)


def started(engine, **external) -> str:
    token = survey.consent(engine, survey.Visit(**external))
    survey.answer_questions(engine, token, None, None)
    survey.begin(engine, token)
    return token


def answer_next(engine, token, answer=1, **kwargs):
    step = survey.current_step(engine, survey.Visit(token=token))
    return step, survey.submit_answer(engine, token, step.position, answer, **kwargs)


def count(engine, model, **where):
    query = select(func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def test_first_visit_opens_a_demo_set_and_a_visitor_who_does_not_consent_leaves_no_trace(engine):
    step = survey.current_step(engine, survey.Visit())
    assert step.stage == "consent" and step.survey.is_demo and step.survey.size == 15
    assert count(engine, Participant) == 0
    assert survey.open_summary(engine).is_demo


def test_a_double_click_stores_one_answer_and_keeps_the_first(engine):
    token = started(engine)
    _, first = answer_next(engine, token, answer=0, confidence=2)
    again = survey.submit_answer(engine, token, 1, 1, 5)
    assert (first.status, again.status, again.answer) == ("stored", "duplicate", 0)
    assert count(engine, Answer) == 1
    with engine.connect() as conn:
        row = conn.execute(select(Answer)).one()
    assert (row.answer, row.confidence, row.position) == (0, 2, 1)


def test_correctness_is_computed_from_the_stored_label(engine):
    token = started(engine)
    for _ in range(15):
        answer_next(engine, token, answer=1)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Answer.correct, SurveyImage.label).join(SurveyImage, SurveyImage.image_id == Answer.image_id)
        ).all()
    assert len(rows) == 15 and all(correct == (label == 1) for correct, label in rows)


def test_an_answer_out_of_order_or_to_an_unshown_image_is_refused_and_nothing_is_written(engine):
    token = started(engine)
    survey.current_step(engine, survey.Visit(token=token))  # shows image 1
    with pytest.raises(StudyError, match="image 3 cannot be answered now; the next image is 1"):
        survey.submit_answer(engine, token, 3, 1)
    with pytest.raises(StudyError, match="no image 16"):
        survey.submit_answer(engine, token, 16, 1)
    with pytest.raises(StudyError, match="must be 0"):
        survey.submit_answer(engine, token, 1, 7)
    with pytest.raises(StudyError, match="confidence"):
        survey.submit_answer(engine, token, 1, 1, 9)
    survey.submit_answer(engine, token, 1, 1)
    with pytest.raises(StudyError, match="image 2 has not been shown yet"):
        survey.submit_answer(engine, token, 2, 1)
    assert count(engine, Answer) == 1


def test_a_reload_resumes_at_the_next_image_and_keeps_the_first_shown_time(engine):
    token = started(engine)
    for _ in range(7):
        answer_next(engine, token)
    first = survey.current_step(engine, survey.Visit(token=token))
    reload = survey.current_step(engine, survey.Visit(token=token))
    assert first.position == reload.position == 8 and first.image_png == reload.image_png
    assert count(engine, ShownImage, position=8) == 1


def test_each_participant_sees_the_same_images_in_their_own_order(engine):
    orders = []
    for _ in range(4):
        token = started(engine)
        with engine.connect() as conn:
            orders.append(conn.execute(select(Participant.image_order).where(Participant.token == token)).scalar())
    assert len({frozenset(order) for order in orders}) == 1
    assert len({tuple(order) for order in orders}) > 1


def test_the_completion_code_exists_only_after_the_last_answer(engine):
    token = started(engine)
    for k in range(14):
        step, _ = answer_next(engine, token)
        assert step.stage == "image" and step.completion_code is None
    with engine.connect() as conn:
        assert conn.execute(select(Participant.completion_code)).scalar() is None
    _, outcome = answer_next(engine, token)
    assert outcome.completed
    done = survey.current_step(engine, survey.Visit(token=token))
    assert done.stage == "done" and done.completion_code and len(done.results) == 15
    assert done.score.total == 15 and done.score.correct == sum(item.correct for item in done.results)


def test_the_same_prolific_participant_is_never_created_twice(engine):
    ids = dict(prolific_pid="5f3a9c_x-1", study_id="S1", session_id="Z9")
    token = survey.consent(engine, survey.Visit(**ids))
    assert survey.consent(engine, survey.Visit(**ids)) == token
    assert survey.current_step(engine, survey.Visit(prolific_pid="5f3a9c_x-1")) == survey.Step(
        "resume", survey=survey.current_step(engine, survey.Visit()).survey, token=token)
    assert count(engine, Participant) == 1
    with engine.connect() as conn:
        row = conn.execute(select(Participant)).one()
    assert (row.prolific_pid, row.study_id, row.session_id) == ("5f3a9c_x-1", "S1", "Z9")


@pytest.mark.parametrize("query, message", [
    ({"p": "short"}, "malformed"),
    ({"p": "A" * 32}, "no participant has this code"),
    ({"p": ["A" * 32, "B" * 32]}, "appears 2 times"),
    ({"PROLIFIC_PID": "x" * 65}, "PROLIFIC_PID must be"),
    ({"STUDY_ID": "<script>"}, "STUDY_ID must be"),
])
def test_a_bad_link_gets_a_clear_message_and_writes_nothing(engine, query, message):
    with pytest.raises(survey.SurveyLinkError, match=message):
        survey.current_step(engine, survey.parse_query(query))
    assert count(engine, Participant) == 0


def test_a_prolific_id_that_does_not_match_the_token_is_refused(engine):
    token = survey.consent(engine, survey.Visit(prolific_pid="abc"))
    with pytest.raises(survey.SurveyLinkError, match="does not match"):
        survey.current_step(engine, survey.parse_query({"p": token, "PROLIFIC_PID": "abd"}))


def test_a_closed_survey_takes_no_answers_but_still_shows_a_finished_participant_their_score(engine):
    token, finished = started(engine), started(engine)
    for _ in range(15):
        answer_next(engine, finished)
    answer_next(engine, token)
    survey.close_set(engine)
    assert survey.current_step(engine, survey.Visit(token=token)).stage == "closed"
    assert survey.current_step(engine, survey.Visit(token=finished)).stage == "done"
    assert survey.submit_answer(engine, token, 2, 1).status == "closed"
    with pytest.raises(StudyError, match="not open"):
        survey.consent(engine, survey.Visit())
    assert count(engine, Answer) == 16


def test_no_open_set_with_cifake_prepared_says_the_survey_is_not_open(engine, monkeypatch):
    demo = active.dataset_by_source("demo")
    cifake = type("Prepared", (), {**{k: getattr(demo, k) for k in ("images", "labels", "ids", "splits",
                                                                    "dup_count", "fingerprint")},
                                   "source": "/data/cifake", "is_demo": False})()
    monkeypatch.setattr(active, "active_dataset", lambda engine: cifake)
    assert survey.current_step(engine, survey.Visit()).stage == "not_open"
    assert survey.open_summary(engine) is None


def test_a_set_that_people_answered_is_not_replaced_without_saying_so(engine):
    dataset = active.dataset_by_source("demo")
    token = started(engine)
    answer_next(engine, token)
    with pytest.raises(StudyError, match="has 1 answers from 1 participants.*--close-current"):
        survey.create_set(engine, dataset, size=10, seed=1)
    assert survey.open_summary(engine).size == 15
    with pytest.raises(StudyError, match="already agreed"):
        survey.edit_consent(engine, survey.open_summary(engine).id, "new text")
    new = survey.create_set(engine, dataset, size=10, seed=1, close_current=True)
    assert survey.open_summary(engine).id == new.id and [s.status for s in survey.all_summaries(engine)] == [
        "open", "closed"]


def test_an_unanswered_open_set_is_simply_replaced_and_its_consent_text_can_change(engine):
    dataset = active.dataset_by_source("demo")
    first = survey.create_set(engine, dataset, size=15, seed=1)
    survey.edit_consent(engine, first.id, "  Please agree.  ")
    assert survey.current_step(engine, survey.Visit()).survey.consent_text == "Please agree."
    draft = survey.create_set(engine, dataset, size=15, seed=2, open_now=False)
    assert survey.open_summary(engine).id == first.id and draft.status == "draft"
    survey.open_set(engine, draft.id)
    assert survey.open_summary(engine).id == draft.id


def test_the_pool_design_stores_the_pool_and_gives_each_participant_size_images(engine):
    dataset = active.dataset_by_source("demo")
    info = survey.create_set(engine, dataset, size=6, seed=3, pool=40)
    assert count(engine, SurveyImage, set_id=info.id) == 40
    token = started(engine)
    for _ in range(6):
        answer_next(engine, token, answer=0)
    assert survey.current_step(engine, survey.Visit(token=token)).stage == "done"


def test_the_export_names_the_server_measured_response_time(engine):
    token = started(engine, prolific_pid="p1")
    for _ in range(3):
        answer_next(engine, token, answer=1, confidence=4)
    set_id = survey.open_summary(engine).id
    lines = survey.answers_csv(engine, set_id).splitlines()
    assert lines[0].split(",")[14] == "response_ms_server" and len(lines) == 4
    assert "ON THE SERVER" in survey.data_dictionary(engine, set_id)


def test_a_click_right_after_the_image_appeared_is_ignored_as_a_bounce_and_kept_as_evidence(engine):
    token = started(engine)
    answer_next(engine, token)
    _, outcome = answer_next(engine, token, min_response_ms=60_000)
    assert outcome.status == "too_soon" and count(engine, Answer) == 1
    assert count(engine, IgnoredClick, reason="too_soon", step="image", position=2, answer=1) == 1


def test_rendered_images_are_enlarged_with_whole_pixels(engine):
    from io import BytesIO

    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    big = np.asarray(Image.open(BytesIO(survey.render_png(pixels, 288))))
    assert big.shape == (288, 288, 3)
    assert np.array_equal(big[::9, ::9], pixels) and np.array_equal(big[8::9, 8::9], pixels)


def test_twin_answers_arriving_at_the_same_moment_store_one_answer_and_write_nothing_else(engine):
    token = started(engine)
    survey.current_step(engine, survey.Visit(token=token))  # shows image 1
    results = at_once(8, lambda i: survey.submit_answer(engine, token, 1, i % 2))
    outcomes = [r for r in results if isinstance(r, survey.AnswerOutcome)]
    stored = [o for o in outcomes if o.status == "stored"]
    assert len(stored) == 1 and {o.answer for o in outcomes} == {stored[0].answer}
    assert all(isinstance(r, StudyError) for r in results if r not in outcomes)  # refused, nothing written
    assert count(engine, Answer) == 1
    with engine.connect() as conn:
        assert conn.execute(select(Answer.answer)).scalar() == stored[0].answer


def test_twin_answers_are_all_told_the_first_answer(engine):
    token = started(engine)
    survey.current_step(engine, survey.Visit(token=token))
    results = at_once(8, lambda i: survey.submit_answer(engine, token, 1, i % 2))
    assert all(isinstance(r, survey.AnswerOutcome) for r in results), results
    assert sorted(r.status for r in results) == ["duplicate"] * 7 + ["stored"]


def test_first_visitors_arriving_together_open_one_demo_set(engine):
    from db.schema import SurveySet

    steps = at_once(6, lambda i: survey.current_step(engine, survey.Visit()))
    assert count(engine, SurveySet) == 1  # never two open sets, whatever the visitors were told
    assert {s.stage for s in steps} == {"consent"} and len({s.survey.set_id for s in steps}) == 1
