"""A participant's steps in a real browser, and the database behind the server, for
the browser tests: consent, the guards' waits (a person reads and looks before
clicking), the answer buttons, the images as the browser fetched them."""
from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

from sqlalchemy import create_engine, text

from study.survey import flow as survey_flow

AGREE = "I have read the information above"


INSTRUCTIONS_READ_S = survey_flow.INSTRUCTIONS_GUARD_MS / 1000 + 0.3


LOOK_S = survey_flow.NEW_IMAGE_GUARD_MS / 1000 + 0.2  # a person looks before answering


def query(server, sql: str, **params) -> list:
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


def token_of(page) -> str:
    return parse_qs(urlparse(page.url).query)["p"][0]


def participant(server, token: str):
    rows = query(server, "SELECT * FROM participant WHERE token = :t", t=token)
    assert len(rows) == 1
    return rows[0]


def n_participants(server) -> int:
    return query(server, "SELECT count(*) FROM participant")[0][0]


def consent(page, server) -> None:
    page.goto(server.url + "/")
    page.get_by_text(AGREE).click()
    wait_for_cookie(page)


def wait_for_cookie(page) -> None:
    """The page hands the browser its token as soon as the consent form shows."""
    for _ in range(100):
        if any(c["name"] == "survey_participant" for c in page.context.cookies()):
            return
        page.wait_for_timeout(50)
    raise AssertionError("the consent page did not give the browser its participant token")


def to_first_image(page, server, size: int = 15) -> str:
    consent(page, server)
    page.get_by_role("button", name="Continue").click()
    page.get_by_text("Two optional questions").wait_for()
    time.sleep(survey_flow.QUESTIONS_GUARD_MS / 1000 + 0.2)
    page.get_by_role("button", name="Skip these questions").click()
    page.get_by_text("How it works").wait_for()
    time.sleep(INSTRUCTIONS_READ_S)
    page.get_by_role("button", name="Start").click()
    page.get_by_text(f"Image 1 of {size}", exact=True).wait_for()
    return token_of(page)


def answer_button(page, k: int, ai: bool = True):
    return page.locator(f".st-key-answer-{'ai' if ai else 'real'}-{k} button")


def served_image(page, selector: str = '[data-testid="stImage"] img'):
    image = page.locator(selector).first
    image.wait_for(state="visible")
    response = page.request.get(image.get_attribute("src"))
    assert response.ok
    return response.headers["content-type"], response.body()
