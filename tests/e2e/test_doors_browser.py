"""The researcher pages in a real browser: a participant typing their URLs lands
on the survey; the researcher logs in at /login and reaches them."""
import pytest

pytestmark = pytest.mark.browser

RESEARCHER_URLS = ["/setup", "/survey-sets"]


def body_text(page) -> str:
    page.wait_for_timeout(1500)  # let Streamlit finish the run it started for this URL
    return page.inner_text("body")


def test_participant_cannot_open_researcher_pages_by_url(streamlit_server, browser_page):
    page = browser_page
    for path in RESEARCHER_URLS:
        page.goto(streamlit_server.url + path)
        page.get_by_text("I have read the information above").wait_for()
        text = body_text(page)
        assert "Setup" not in text and "Survey sets" not in text and "Prepare" not in text


def test_researcher_logs_in_and_reaches_setup(streamlit_server, browser_page):
    page = browser_page
    page.goto(streamlit_server.url + "/login")
    page.get_by_label("Password", exact=True).fill("wrong")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Wrong password.").wait_for()

    page.get_by_label("Password", exact=True).fill("e2e-secret")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("You are logged in as a researcher").wait_for()
    page.get_by_role("link", name="Setup").click()
    page.get_by_role("heading", name="Setup").wait_for()
    assert "demo pool" in body_text(page)
