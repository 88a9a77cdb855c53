"""A participant in a real browser (Debian's chromium driven by Playwright):
consent, 15 answers with a reload half-way and a double click, and afterwards
exactly 15 correct-as-labelled answers in the database and never a file name
in the page."""
from __future__ import annotations

import time
from pathlib import PurePosixPath

import pytest
from sqlalchemy import create_engine, text

from study.survey import flow as survey_flow

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
HUMAN_PAUSE_S = survey_flow.NEW_IMAGE_GUARD_MS / 1000 + 0.2  # past the guard: a person looks before answering


def set_images(database_url: str) -> list[tuple[str, int]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text("SELECT image_id, label FROM survey_image"))]
    finally:
        engine.dispose()


def test_a_participant_takes_the_whole_survey_in_a_browser(streamlit_server, browser_page):
    page = browser_page
    forbidden: list[str] = []
    seen_pages = 0

    def assert_no_file_names() -> None:
        nonlocal seen_pages
        html = page.content()
        leaked = [name for name in forbidden if name in html]
        assert not leaked, f"page source contains {leaked}"
        seen_pages += 1

    page.goto(streamlit_server.url + "/")
    page.get_by_text("I have read the information above").wait_for()
    images = set_images(streamlit_server.database_url)  # the demo set opened by this first visit
    assert len(images) == 15
    for image_id, _ in images:
        forbidden += [image_id, PurePosixPath(image_id).name]
    assert_no_file_names()

    page.get_by_text("I have read the information above").click()
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("Two optional questions").wait_for()
    assert "p=" in page.url
    assert_no_file_names()
    time.sleep(survey_flow.QUESTIONS_GUARD_MS / 1000 + 0.2)
    page.get_by_role("button", name="Skip these questions").click()
    page.get_by_text("How it works").wait_for()
    assert_no_file_names()
    time.sleep(survey_flow.INSTRUCTIONS_GUARD_MS / 1000 + 0.3)  # reading them
    page.get_by_role("button", name="Start").click()

    given: dict[int, int] = {}
    k = 1
    while k <= 15:
        page.get_by_text(f"Image {k} of 15", exact=True).wait_for()
        answer = k % 2  # 1 = AI-generated on odd images
        # Widget keys carry the position (never an id), so this is image k's button, not a stale one.
        button = page.locator(f".st-key-answer-{'ai' if answer else 'real'}-{k} button")
        button.wait_for(state="visible")
        page.locator('[data-testid="stImage"] img').first.wait_for(state="visible")
        assert_no_file_names()
        time.sleep(HUMAN_PAUSE_S)
        if k == 10:
            button.dblclick()  # the second click must not add or change anything
        else:
            button.click()
        given[k] = answer
        k += 1
        if k == 8:  # a reload half-way resumes at the next unanswered image
            page.get_by_text("Image 8 of 15", exact=True).wait_for()
            page.reload()
            page.get_by_text("Image 8 of 15", exact=True).wait_for()
    page.get_by_text("You got").wait_for()
    assert_no_file_names()
    assert page.get_by_text("Your completion code").count() == 1

    engine = create_engine(streamlit_server.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT a.position, a.answer, a.correct, i.label FROM answer a "
                "JOIN participant p ON p.id = a.participant_id "
                "JOIN survey_image i ON i.set_id = p.set_id AND i.image_id = a.image_id ORDER BY a.position"
            )).all()
            participants = conn.execute(text("SELECT completion_code FROM participant")).all()
    finally:
        engine.dispose()
    assert len(rows) == 15 and [r.position for r in rows] == list(range(1, 16))
    assert all(bool(r.correct) == (r.answer == r.label) for r in rows)
    assert {r.position: r.answer for r in rows} == given
    assert len(participants) == 1 and participants[0].completion_code
    sync_api = pytest.importorskip("playwright.sync_api")
    sync_api.expect(page.locator("body")).to_contain_text(participants[0].completion_code)
    page.get_by_text("Image 15 —").wait_for()
    assert_no_file_names()
    assert seen_pages >= 18
