"""The participant's survey page (app_pages/survey.py) through Streamlit's AppTest."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from apptest_helpers import texts
from db import open_database
from db.schema import Answer, Participant, ShownImage
from study.survey import flow as survey_flow
from study.config import get_settings
from helpers import APP_PAGES as PAGES


@pytest.fixture
def page(study_home, monkeypatch):
    # AppTest clicks within microseconds of rendering: no human is that fast.
    for guard in ("NEW_IMAGE_GUARD_MS", "QUESTIONS_GUARD_MS", "INSTRUCTIONS_GUARD_MS"):
        monkeypatch.setattr(survey_flow, guard, 0)
    return AppTest.from_file(PAGES / "survey.py", default_timeout=30)


def n_rows(model) -> int:
    with open_database(get_settings().database_url).connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar()


def test_a_participant_consents_answers_every_image_and_gets_a_score_and_code(page):
    at = page.run()
    assert "demo — synthetic images, not CIFAKE" in texts(at)
    assert at.button[0].label == "Continue" and at.button[0].disabled  # consent must be ticked
    at.checkbox[0].check().run()
    at.button[0].click().run()
    token = at.query_params["p"]
    assert len(token) == 32 and n_rows(Participant) == 1
    at.selectbox[0].select("25-34").run()
    at.button[0].click().run()
    assert "tiny" in texts(at) and "enlarged" in texts(at) and "Tab" in texts(at)
    at.button[0].click().run()  # Start
    for k in range(1, 16):
        assert at.progress[0].text == f"Image {k} of 15" and len(at.image) == 1
        assert [b.key for b in at.button] == [f"answer-real-{k}", f"answer-ai-{k}", "withdraw"]
        assert "test/" not in texts(at) and ".png" not in texts(at)  # no id, no label
        if k == 2:
            at.radio(key="confidence-2").set_value(5).run()
        at.button(key=f"answer-real-{k}" if k % 2 else f"answer-ai-{k}").click().run()
    assert n_rows(Answer) == 15
    assert "You got" in texts(at) and len(at.code) == 1 and at.code[0].value
    assert len(at.image) == 15  # one thumbnail per answer, now with the right answers


def test_a_reopened_link_resumes_at_the_next_unanswered_image(page):
    at = page.run()
    at.checkbox[0].check().run()
    at.button[0].click().run()
    token = at.query_params["p"]
    at.button[1].click().run()  # skip the questions
    at.button[0].click().run()  # start
    for k in range(1, 4):
        at.button(key=f"answer-ai-{k}").click().run()
    reopened = AppTest.from_file(PAGES / "survey.py", default_timeout=30)
    reopened.query_params["p"] = token
    reopened.run()
    assert reopened.progress[0].text == "Image 4 of 15"


@pytest.mark.parametrize("token, message", [("not-a-token", "malformed"), ("Z" * 32, "no participant has this code")])
def test_a_bad_token_gets_a_clear_message_and_writes_nothing(page, token, message):
    page.query_params["p"] = token
    at = page.run()
    assert len(at.error) == 1 and message in at.error[0].value
    assert not at.button and n_rows(Participant) == 0


def test_a_returning_prolific_participant_resumes_instead_of_starting_again(page):
    page.query_params["PROLIFIC_PID"] = "pid_1"
    at = page.run()
    at.checkbox[0].check().run()
    at.button[0].click().run()
    token = at.query_params["p"]
    again = AppTest.from_file(PAGES / "survey.py", default_timeout=30)
    again.query_params["PROLIFIC_PID"] = "pid_1"
    again.run()
    assert again.query_params["p"] == token and n_rows(Participant) == 1
    assert [s.value for s in again.subheader] == ["Two optional questions"]


def to_first_image(at):
    at.checkbox[0].check().run()
    at.button(key="consent-continue").click().run()
    at.button(key="questions-skip").click().run()
    at.button(key="instructions-start").click().run()
    assert at.progress[0].text == "Image 1 of 15"
    return at


def test_closing_the_set_mid_survey_says_the_answers_are_kept_and_nothing_else(page):
    at = to_first_image(page.run())
    at.button(key="answer-ai-1").click().run()
    from study import survey

    survey.close_set(open_database(get_settings().database_url))
    at.button(key="answer-ai-2").click().run()
    assert not at.error and [b.key for b in at.button] == ["withdraw"] and len(at.info) == 1
    assert "closed this survey for now" in at.info[0].value
    assert "Your answer so far is saved" in at.info[0].value and "continue where you stopped" in at.info[0].value
    assert n_rows(Answer) == 1


def test_a_consent_text_changed_while_reading_is_shown_and_must_be_agreed_again(page):
    from study import survey

    at = page.run()
    at.checkbox[0].check().run()
    engine = open_database(get_settings().database_url)
    survey.edit_consent(engine, survey.open_summary(engine).id, "**New** information: please read it.")
    at.button(key="consent-continue").click().run()
    assert n_rows(Participant) == 0 and "p" not in at.query_params
    assert "changed while you were reading" in at.warning[-1].value
    assert "**New** information: please read it." in texts(at)
    assert not at.checkbox[0].value and at.button(key="consent-continue").disabled  # a new tick is needed
    at.checkbox[0].check().run()
    at.button(key="consent-continue").click().run()
    assert n_rows(Participant) == 1 and at.subheader[0].value == "Two optional questions"


def test_a_prolific_participant_of_an_excluded_set_is_told_and_nothing_is_written(page):
    from study import survey
    from study.data import active

    page.query_params["PROLIFIC_PID"] = "pid_9"
    at = page.run()
    at.checkbox[0].check().run()
    at.button(key="consent-continue").click().run()
    survey.create_set(open_database(get_settings().database_url), active.dataset_by_source("demo"), size=10,
                      seed=3, close_current=True)
    again = AppTest.from_file(PAGES / "survey.py", default_timeout=30)
    again.query_params["PROLIFIC_PID"] = "pid_9"
    again.run()
    assert "already taken part" in again.info[0].value and not again.button and n_rows(Participant) == 1


def test_a_model_cam_participant_answers_first_then_sees_the_verdict_and_map_and_answers_again(page, finished_run):
    from study import survey
    from study.data import active

    engine, run_id = finished_run
    survey.create_set(engine, active.dataset_by_source("demo"), size=15, seed=2, close_current=True,
                      conditions=survey.parse_conditions("model_cam", hint_timing="after_first"), hint_run_id=run_id)
    at = to_first_image(page.run())
    assert len(at.image) == 1 and not at.info and not at.radio  # the first answer: no hint, no confidence
    at.button(key="answer-ai-1-first").click().run()
    assert len(at.image) == 2  # the picture and the Grad-CAM map beside it
    assert "The AI model says" in at.info[0].value and "You first said *AI-generated*" in texts(at)
    at.radio(key="confidence-1").set_value(3)
    at.button(key="answer-real-1").click().run()
    assert at.progress[0].text == "Image 2 of 15" and len(at.image) == 1
    with open_database(get_settings().database_url).connect() as conn:
        stored = conn.execute(select(Answer.initial_answer, Answer.answer, Answer.confidence)).all()
    assert stored == [(1, 0, 3)]


def make_set(**design):
    from study import survey
    from study.data import active

    options = {k: design.pop(k) for k in ("feedback", "display_ms", "hint_timing") if k in design}
    survey.create_set(open_database(get_settings().database_url), active.dataset_by_source("demo"), size=15,
                      seed=2, close_current=True, conditions=survey.parse_conditions("control", **options), **design)


def test_feedback_each_shows_right_or_wrong_then_the_next_picture(page):
    make_set(feedback="each")
    at = to_first_image(page.run())
    at.button(key="answer-ai-1").click().run()
    assert (at.success or at.error) and not at.progress[0].text.endswith("2 of 15")
    [verdict] = [*at.success, *at.error]
    assert ("Right: it is" in verdict.value) == bool(at.success)
    at.button(key="feedback-next-1").click().run()
    assert at.progress[0].text == "Image 2 of 15"


def test_an_attention_check_asks_for_a_button_and_is_not_an_image(page):
    from study.survey import checks

    make_set(attention_checks=1)
    at = to_first_image(page.run())
    k = 1
    while not [b for b in at.button if "check" in b.key]:
        at.button(key=f"answer-real-{k}").click().run()
        k += 1
    assert at.progress[0].text == f"Image {k} of 15"  # the check does not count as an image
    with open_database(get_settings().database_url).connect() as conn:
        participant = conn.execute(select(Participant)).one()
    expected = checks.expected_answer(2, participant.id, 1)
    at.button(key="answer-ai-check-1" if expected else "answer-real-check-1").click().run()
    assert [b.key for b in at.button if b.key.startswith("answer")] == [f"answer-real-{k}", f"answer-ai-{k}"]


def test_a_hidden_picture_is_not_sent_again_and_the_person_still_answers(page, monkeypatch):
    make_set(display_ms=500)
    at = to_first_image(page.run())
    assert len(at.image) == 1 and "shown for 0.5 seconds" in texts(at)
    with open_database(get_settings().database_url).begin() as conn:
        [row] = conn.execute(select(ShownImage)).all()
        conn.execute(ShownImage.__table__.update().values(shown_at=row.shown_at - timedelta(seconds=2)))
    at.run()  # a reload after the time is up
    assert len(at.image) == 0 and "The picture is hidden now" in texts(at)
    at.button(key="answer-real-1").click().run()
    assert at.progress[0].text == "Image 2 of 15"


def test_withdrawing_deletes_the_answers_and_says_so(page):
    at = to_first_image(page.run())
    at.button(key="answer-ai-1").click().run()
    assert n_rows(Answer) == 1 and at.button(key="withdraw").disabled  # it needs the tick first
    at.checkbox(key="withdraw-sure").check().run()
    at.button(key="withdraw").click().run()
    assert n_rows(Answer) == 0 and n_rows(Participant) == 1
    assert "You have withdrawn from this study" in at.info[0].value and not at.button
