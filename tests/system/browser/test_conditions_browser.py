"""Study conditions in a real browser (issue #14): three people take a set with
control, model and model_cam (the hint after a first answer), and one person a
set with feedback after each answer and a display time; what each saw on the
screen and what the database kept are checked against each other."""
from __future__ import annotations

import json
import time

import pytest

from browser_steps import LOOK_S, answer_button, participant, query, served_image, to_first_image
from db import open_database
from study import survey
from study.config import get_settings
from study.data import active

pytestmark = pytest.mark.browser

MODEL_SAYS = "The AI model says"


def make_set(size: int, names: str, run_id: int | None = None, **options) -> None:
    engine = open_database(get_settings().database_url)
    survey.create_set(engine, active.dataset_by_source("demo"), size=size, seed=8,
                      conditions=survey.parse_conditions(names, **options), hint_run_id=run_id)


def condition_of(server, token: str) -> str:
    return query(server, "SELECT c.name FROM survey_condition c JOIN participant p ON p.condition_id = c.id "
                 "WHERE p.token = :t", t=token)[0][0]


def answers_of(server, token: str) -> list:
    return query(server, "SELECT a.position, a.image_id, a.answer, a.initial_answer, a.hint_verdict, a.hint_p_ai "
                 "FROM answer a JOIN participant p ON p.id = a.participant_id WHERE p.token = :t "
                 "ORDER BY a.position", t=token)


def hint_of(server, image_id: str):
    return query(server, "SELECT verdict, p_ai, cam_png FROM model_hint WHERE image_id = :i", i=image_id)[0]


def image_of(server, token: str, position: int) -> str:
    order = participant(server, token).image_order
    return (json.loads(order) if isinstance(order, str) else order)[position - 1]


def test_control_model_and_model_cam_each_show_what_they_promise_and_keep_both_answers(
        server_on_this_home, finished_run, new_person):
    _, run_id = finished_run
    make_set(4, "control,model,model_cam", run_id, hint_timing="after_first")
    server = server_on_this_home.start()
    seen: dict[str, dict] = {}
    for _ in range(3):  # balanced: three people, one in each condition
        page = new_person()
        token = to_first_image(page, server, size=4)
        condition = condition_of(server, token)
        saw = seen[condition] = {"first_hints": 0, "final_hints": 0, "maps": 0}
        for k in range(1, 5):
            page.get_by_text(f"Image {k} of 4", exact=True).wait_for()
            if condition == "control":
                answer_button(page, k).wait_for(state="visible")
                saw["first_hints"] += page.get_by_text(MODEL_SAYS).count()
                time.sleep(LOOK_S)
                answer_button(page, k).click()
                continue
            first = page.locator(f".st-key-answer-ai-{k}-first button")
            first.wait_for(state="visible")
            saw["first_hints"] += page.get_by_text(MODEL_SAYS).count()  # nothing before the first answer
            time.sleep(LOOK_S)
            first.click()
            page.get_by_text(MODEL_SAYS).wait_for()
            saw["final_hints"] += 1
            verdict = hint_of(server, image_of(server, token, k))
            said = page.get_by_text(MODEL_SAYS).inner_text()
            assert ("AI-generated" if verdict.verdict else "Real photo") in said
            assert f"{verdict.p_ai:.0%}" in said
            images = page.locator('[data-testid="stImage"] img')
            saw["maps"] += images.count() - 1
            if condition == "model_cam":
                kind, body = served_image(page, '[data-testid="stImage"] img >> nth=1')
                assert kind == "image/png" and body == bytes(verdict.cam_png)  # the frozen overlay, exactly
            time.sleep(LOOK_S)
            answer_button(page, k, ai=False).click()  # the final answer: real photo
        page.get_by_text("You got").wait_for()
        stored = answers_of(server, token)
        assert [a.position for a in stored] == [1, 2, 3, 4]
        if condition == "control":
            assert all(a.answer == 1 and a.initial_answer is None and a.hint_verdict is None for a in stored)
        else:
            for a in stored:
                hint = hint_of(server, a.image_id)
                assert (a.initial_answer, a.answer) == (1, 0)
                assert (a.hint_verdict, a.hint_p_ai) == (hint.verdict, hint.p_ai)
    assert seen == {"control": {"first_hints": 0, "final_hints": 0, "maps": 0},
                    "model": {"first_hints": 0, "final_hints": 4, "maps": 0},
                    "model_cam": {"first_hints": 0, "final_hints": 4, "maps": 4}}


def test_feedback_after_each_answer_and_a_picture_hidden_after_its_display_time(server_on_this_home, new_person):
    make_set(3, "control", feedback="each", display_ms=1500)
    server = server_on_this_home.start()
    page = new_person()
    token = to_first_image(page, server, size=3)
    for k in range(1, 4):
        page.get_by_text(f"Image {k} of 3", exact=True).wait_for()
        picture = page.locator('[data-testid="stImage"] img').first
        picture.wait_for(state="visible")
        page.wait_for_function(  # hidden by the page once its 1.5 s are up; the buttons stay
            "() => getComputedStyle(document.querySelector('[data-testid=\"stImage\"] img')).visibility === 'hidden'",
            timeout=5000)
        assert answer_button(page, k).is_visible()
        answer_button(page, k).click()
        if k == 3:
            break  # the last answer ends the survey: its right or wrong is on the end page
        label = query(server, "SELECT i.label FROM survey_image i WHERE i.image_id = :i",
                      i=image_of(server, token, k))[0][0]
        page.get_by_text("Right: it is" if label == 1 else "Not right: you said").wait_for()
        time.sleep(LOOK_S)
        page.get_by_role("button", name="Next picture").click()
    page.get_by_text("You got").wait_for()
    stored = query(server, "SELECT position, feedback_seen_at FROM answer ORDER BY position")
    assert [a.position for a in stored] == [1, 2, 3]
    assert all(a.feedback_seen_at is not None for a in stored[:2])
