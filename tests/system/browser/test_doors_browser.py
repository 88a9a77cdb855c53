"""The doors in a real browser: the researcher logs in at /login and reaches the
researcher pages; HTML in the consent text does not run. (That a participant typing
their URLs lands on the survey: tests/system/test_security_server.py, every URL.)"""
import pytest

from helpers import XSS_CONSENT, open_set_with_consent
from streamlit_wire import make_server

pytestmark = pytest.mark.browser

def body_text(page) -> str:
    page.wait_for_timeout(1500)  # let Streamlit finish the run it started for this URL
    return page.inner_text("body")


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


def test_consent_html_does_not_run_in_a_real_browser(tmp_path, browser_page):
    server = make_server(tmp_path, password="browser-secret")
    open_set_with_consent(server.database_url, XSS_CONSENT)
    server.start()
    try:
        page = browser_page
        page.goto(server.url)
        page.get_by_text("Please agree.").wait_for()
        page.wait_for_timeout(1000)  # give any injected handler its chance to run
        assert page.evaluate("window.__xss === undefined")
        assert page.locator("img[onerror], script:has-text('__xss'), #injected").count() == 0
    finally:
        server.stop()
