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


def test_a_login_survives_a_reload_and_a_new_tab_until_logout_ends_both(streamlit_server, browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(streamlit_server.url + "/login")
    page.get_by_label("Password", exact=True).fill("e2e-secret")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("You are logged in as a researcher").wait_for()
    page.get_by_text("stays logged in for 12 hours").wait_for()
    page.wait_for_timeout(500)  # the cookie is written by the page after the login
    page.reload()
    page.get_by_text("You are logged in as a researcher").wait_for()  # a reload: still a researcher

    other = context.new_page()  # a new tab, straight to a researcher page by its link
    other.set_default_timeout(30_000)
    other.goto(streamlit_server.url + "/results")
    other.get_by_role("heading", name="Results").wait_for()

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Log in").wait_for()
    page.reload()
    page.get_by_role("button", name="Log in").wait_for()  # logged out here, after a reload too
    other.reload()
    other.get_by_text("I have read the information above").wait_for()  # and in the other tab: a participant
    assert other.get_by_role("heading", name="Results").count() == 0
    context.close()
