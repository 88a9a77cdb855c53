"""What a running study would get wrong in a real browser (issue #12): stimuli
re-encoded as JPEG, a double click or Back or a reload making a second
participant, a slow double click answering the next image, a second click
skipping the instructions, and two tabs answering one image. One server for the
module; each test is one or more new people (fresh browser profiles)."""
from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest
from PIL import Image

from browser_steps import (
    AGREE,
    LOOK_S,
    answer_button,
    consent,
    n_participants,
    participant,
    query,
    served_image,
    to_first_image,
    token_of,
)
from study.data import active
from study.survey import flow as survey_flow

pytestmark = pytest.mark.browser


def back_at_the_survey(page) -> None:
    """The start page sends a known browser on to its own link (?p=...), at its step."""
    page.wait_for_url(lambda url: "p=" in url)
    page.get_by_text("Two optional questions").wait_for()
    assert page.get_by_text(AGREE).count() == 0


def expected_png(server, token: str, position: int, size: int) -> bytes:
    order = participant(server, token).image_order
    order = json.loads(order) if isinstance(order, str) else order  # raw SQL on SQLite gives the JSON text
    demo = active.dataset_by_source("demo")
    pixels = np.asarray(demo.images[demo.index_of(order[position - 1])])
    return survey_flow.render_png(pixels, size)


def test_survey_images_are_served_as_the_exact_png_and_a_slow_double_click_answers_one_image(
        shared_server, new_person):
    page = new_person()
    token = to_first_image(page, shared_server)

    kind, body = served_image(page)
    expected = expected_png(shared_server, token, 1, survey_flow.DISPLAY_PX)
    assert kind == "image/png" and body == expected  # byte for byte what the flow made
    decoded = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))
    blocks = decoded.reshape(32, 9, 32, 9, 3)
    assert (blocks == blocks[:, :1, :, :1]).all()  # every 9x9 block one colour: no ringing

    for k in range(1, 16):
        page.get_by_text(f"Image {k} of 15", exact=True).wait_for()
        button = answer_button(page, k)
        button.wait_for(state="visible")
        time.sleep(LOOK_S)
        if k == 3:  # a slow double click: the second click lands on image 4's button
            box = button.bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.click(x, y)
            page.get_by_text("Image 4 of 15", exact=True).wait_for()
            time.sleep(0.5)
            page.mouse.click(x, y)
            page.get_by_text("it was probably meant for the previous picture").wait_for()
            assert query(shared_server, "SELECT count(*) FROM answer a JOIN participant p "
                         "ON p.id = a.participant_id WHERE p.token = :t", t=token)[0][0] == 3
        else:
            button.click()
    page.get_by_text("You got").wait_for()

    person = participant(shared_server, token)
    answers = query(shared_server, "SELECT position FROM answer WHERE participant_id = :i ORDER BY position",
                    i=person.id)
    assert [a.position for a in answers] == list(range(1, 16))
    ignored = query(shared_server, "SELECT step, position, reason FROM ignored_click WHERE participant_id = :i",
                    i=person.id)
    assert ("image", 4, "too_soon") in [tuple(r) for r in ignored]

    page.locator('[data-testid="stImage"] img').nth(14).wait_for(state="visible")
    kind, body = served_image(page)  # the review's thumbnails are the exact PNGs too
    assert kind == "image/png" and body == expected_png(shared_server, token, 1, survey_flow.SCORE_THUMB_PX)

    # A finished participant who comes back to the start page sees their end page.
    page.goto(shared_server.url + "/")
    page.get_by_text("You got").wait_for()
    assert token_of(page) == token and page.get_by_text(AGREE).count() == 0


def test_a_double_click_on_continue_the_back_button_and_a_reload_keep_one_participant(shared_server, new_person):
    before = n_participants(shared_server)
    page = new_person()
    consent(page, shared_server)
    continue_button = page.get_by_role("button", name="Continue")
    continue_button.click()
    page.wait_for_timeout(150)
    continue_button.click(force=True, no_wait_after=True)
    page.get_by_text("Two optional questions").wait_for()
    token = token_of(page)
    page.wait_for_timeout(1500)
    assert n_participants(shared_server) == before + 1

    page.go_back()  # to "/", where the consent form was
    back_at_the_survey(page)
    assert token_of(page) == token
    page.goto(shared_server.url + "/")  # the start page typed again
    back_at_the_survey(page)
    assert token_of(page) == token and n_participants(shared_server) == before + 1

    # Another person reloads right after "Continue", before the token reached the URL.
    other = new_person()
    consent(other, shared_server)
    other.get_by_role("button", name="Continue").click(no_wait_after=True)
    other.wait_for_timeout(100)
    other.reload()
    back_at_the_survey(other)
    assert token_of(other) != token and n_participants(shared_server) == before + 2


def test_a_second_click_that_lands_on_start_does_not_skip_the_instructions(shared_server, new_person):
    page = new_person()
    consent(page, shared_server)
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("Two optional questions").wait_for()
    time.sleep(survey_flow.QUESTIONS_GUARD_MS / 1000 + 0.2)
    button = page.get_by_role("button", name="Continue")
    box = button.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    page.get_by_text("How it works").wait_for()
    time.sleep(1.0)
    start = page.get_by_role("button", name="Start")
    box = start.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # the "second click"
    page.get_by_text("Please read the instructions first").wait_for()
    assert page.get_by_text("Image 1 of 15", exact=True).count() == 0
    person = participant(shared_server, token_of(page))
    assert person.started_at is None
    assert query(shared_server, "SELECT step, reason FROM ignored_click WHERE participant_id = :i",
                 i=person.id) == [("instructions", "too_soon")]


def test_two_tabs_on_one_link_answer_one_image_and_the_second_tab_is_told(shared_server, new_person):
    first = new_person()
    token = to_first_image(first, shared_server)
    second = first.context.new_page()
    second.goto(f"{shared_server.url}/?p={token}")
    second.get_by_text("Image 1 of 15", exact=True).wait_for()
    time.sleep(LOOK_S)
    answer_button(first, 1, ai=False).click()
    first.get_by_text("Image 2 of 15", exact=True).wait_for()
    answer_button(second, 1, ai=True).click()
    second.get_by_text("already been answered in another window").wait_for()
    second.get_by_text("Image 2 of 15", exact=True).wait_for()
    rows = query(shared_server, "SELECT a.answer FROM answer a JOIN participant p ON p.id = a.participant_id "
                 "WHERE p.token = :t", t=token)
    assert [r.answer for r in rows] == [0]
