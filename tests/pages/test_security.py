"""The app's doors through Streamlit's AppTest, in one process:

- every researcher page refuses anyone not logged in, opened as a file or through
  the navigation (the only test of this gate: page tests log in first);
- wrong passwords are slowed down on the login page, which says when one client
  has too many attempts under way (the rules behind it: tests/unit/test_login_limit.py);
- the researcher's consent Markdown reaches the page as text, never as HTML.

The same doors on a real server: tests/system/test_security_server.py; in a
browser: tests/system/browser/test_doors_browser.py.
"""
from __future__ import annotations

import sys
import time

import pytest
from streamlit.testing.v1 import AppTest

from helpers import APP, APP_PAGES, XSS_CONSENT, open_set_with_consent
from study import auth

PARTICIPANT_PAGES = {"survey.py", "login.py"}  # everything else in app_pages/ is for researchers
RESEARCHER_PAGES = sorted(p for p in APP_PAGES.glob("*.py") if p.name not in (*PARTICIPANT_PAGES, "__init__.py"))
TIMEOUT = 60


# --- researcher pages without login ----------------------------------------------------

def test_there_are_researcher_pages_to_protect():
    assert {p.name for p in RESEARCHER_PAGES} >= {"setup.py", "survey_admin.py"}


@pytest.mark.parametrize("page", RESEARCHER_PAGES, ids=lambda p: p.name)
def test_every_researcher_page_opened_directly_shows_only_the_refusal(page):
    at = AppTest.from_file(str(page), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["This page is for researchers. Please log in first."]
    # Nothing of the page itself: no title, no text, no widget, no table.
    assert not at.title and not at.header and not at.subheader and not at.markdown
    assert not at.button and not at.text_input and not at.selectbox and not at.dataframe and not at.warning
    assert not at.metric and not at.get("plotly_chart") and not at.image


@pytest.mark.parametrize("page", RESEARCHER_PAGES, ids=lambda p: p.name)
def test_every_researcher_page_is_missing_from_a_participants_navigation(page, monkeypatch):
    monkeypatch.setenv("RESEARCHER_PASSWORD", "correct horse")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(f"app_pages/{page.name}")


# --- wrong passwords ----------------------------------------------------------------------

def test_the_login_page_waits_longer_after_each_wrong_password(monkeypatch, fresh_failures):
    waits, real_sleep = [], time.sleep

    def sleep(seconds):  # time.sleep is global: AppTest's own polling must keep working
        if sys._getframe(1).f_globals.get("__name__") == auth.__name__:
            waits.append(seconds)
        else:
            real_sleep(seconds)

    monkeypatch.setattr(auth.time, "sleep", sleep)
    monkeypatch.setenv("RESEARCHER_PASSWORD", "correct horse")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/login.py").run()
    for _ in range(4):
        at.text_input[0].input("guess")
        at.button[0].click().run()
        assert any("Wrong password" in e.value for e in at.error)
    assert waits == [0.0, 0.5, 1.0, 2.0]
    at.text_input[0].input("correct horse")
    at.button[0].click().run()
    assert waits == [0.0, 0.5, 1.0, 2.0]  # the right password is answered at once
    assert not at.error


def test_the_login_page_says_when_there_are_too_many_attempts_at_once(monkeypatch, fresh_failures):
    monkeypatch.setenv("RESEARCHER_PASSWORD", "correct horse")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/login.py").run()
    slots = auth._slots(auth.client_key(None))  # AppTest's client is the loopback peer
    for _ in range(auth.MAX_IN_FLIGHT):
        assert slots.acquire(timeout=1)  # two of this client's attempts are under way
    try:
        at.text_input[0].input("correct horse")
        at.button[0].click().run()
    finally:
        for _ in range(auth.MAX_IN_FLIGHT):
            slots.release()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Too many login attempts at once from your address; wait a few seconds, then try again."]
    at.text_input[0].input("correct horse")
    at.button[0].click().run()
    assert not at.error and any("logged in as a researcher" in s.value for s in at.success)


# --- HTML from people ----------------------------------------------------------------------

def test_consent_markdown_is_rendered_without_html(study_home):
    from study.config import get_settings

    open_set_with_consent(get_settings().database_url, XSS_CONSENT)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    consent = [m for m in at.markdown if "Please agree" in m.value]
    assert len(consent) == 1
    assert consent[0].proto.allow_html is False  # the browser escapes the tags instead of running them


# --- single sign-on (st.login) ------------------------------------------------------------

SSO_SECRETS = {
    "auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
             "client_id": "study", "client_secret": "s", "server_metadata_url":
             "https://login.example.edu/.well-known/openid-configuration"},
    "researchers": {"emails": ["Ada@Example.edu"]},
}


def _app_with_sso(user: dict) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for key, value in SSO_SECRETS.items():
        at.secrets[key] = value
    at.user = user
    return at.run()


def test_single_sign_on_admits_the_listed_researchers_only():
    listed = _app_with_sso({"is_logged_in": True, "email": "ada@example.edu"})
    listed.switch_page("app_pages/setup.py").run()
    assert not listed.exception and "Setup" in [t.value for t in listed.title]
    other = _app_with_sso({"is_logged_in": True, "email": "eve@example.edu"})
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        other.switch_page("app_pages/setup.py")
    other.switch_page("app_pages/login.py").run()
    assert "eve@example.edu, which is not on this study's list" in other.error[0].value


def test_the_login_page_offers_single_sign_on_only_where_it_is_configured():
    configured = _app_with_sso({"is_logged_in": False})
    configured.switch_page("app_pages/login.py").run()
    assert "Log in with single sign-on" in [b.label for b in configured.button]
    plain = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    plain.switch_page("app_pages/login.py").run()
    assert "Log in with single sign-on" not in [b.label for b in plain.button]
