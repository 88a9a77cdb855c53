"""The app's defences, checked from the outside where possible:

- researcher pages refuse anyone not logged in, opened as a file, through the
  navigation, or by URL on a real server;
- wrong passwords are slowed down per client, also when one client opens many
  sessions at once, and the slow-down is what the login page goes through
  (whose failures count, and the right password among wrong ones:
  tests/test_login_limit.py);
- the researcher secret, generated or from RESEARCHER_PASSWORD, never appears in
  the server's output, even across wrong and right logins;
- no text a person typed reaches the page as HTML (pages use no unsafe HTML with
  data; the researcher's consent Markdown cannot inject a script);
- uploads are capped and XSRF protection is on in the running server.

The real-server checks speak Streamlit's own websocket protocol (the protobuf
messages its browser client sends), so they need no browser; one check that
needs a DOM drives Debian's chromium and skips without it.
"""
from __future__ import annotations

import ast
import http.client
import re
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from study import auth
from streamlit_wire import Server, Session, make_server

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "streamlit_app.py"
PARTICIPANT_PAGES = {"survey.py", "login.py"}  # everything else in app_pages/ is for researchers
RESEARCHER_PAGES = sorted(p for p in (REPO / "app_pages").glob("*.py") if p.name not in (*PARTICIPANT_PAGES, "__init__.py"))
TIMEOUT = 60
XSS_CONSENT = (
    "Please agree. <script>window.__xss = 'script'</script> "
    "<img src=x onerror=\"window.__xss = 'img'\"> <b id=\"injected\">bold</b>"
)


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


@pytest.mark.parametrize("page", RESEARCHER_PAGES, ids=lambda p: p.name)
def test_every_researcher_page_is_missing_from_a_participants_navigation(page, monkeypatch):
    monkeypatch.setenv("RESEARCHER_PASSWORD", "correct horse")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(f"app_pages/{page.name}")


# --- wrong passwords ----------------------------------------------------------------------

@pytest.fixture
def fresh_failures(monkeypatch):
    """Failure counts are process-wide: start and leave them empty for other tests."""
    monkeypatch.setattr(auth, "_failures", {})
    monkeypatch.setattr(auth, "_client_slots", {})


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


def test_many_sessions_of_one_client_cannot_guess_in_parallel(monkeypatch, fresh_failures):
    """Opening many sessions at once must not multiply the guesses per second:
    at most MAX_IN_FLIGHT of one client's attempts are checked or waiting out
    their delay at once."""
    active, most = [0], [0]
    count_lock = threading.Lock()

    real_sleep = time.sleep

    def sleep(seconds):
        with count_lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        real_sleep(0.02)  # long enough for twins to overlap if they could
        with count_lock:
            active[0] -= 1

    monkeypatch.setattr(auth.time, "sleep", sleep)
    threads = [threading.Thread(target=auth.check_password, args=("guess", "secret", "10.0.0.7")) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] <= auth.MAX_IN_FLIGHT == 2
    assert auth.failure_delay("10.0.0.7") == 8.0  # six failures counted, none lost in the crowd
    assert auth.failure_delay("10.0.0.8") == 0.0  # another client is not punished


# --- HTML from people ----------------------------------------------------------------------

def _html_calls(path: Path):
    """(line, what) for every st.html call and every unsafe_allow_html=True in a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "html":
            yield node, "st.html"
        for keyword in node.keywords:
            if keyword.arg == "unsafe_allow_html" and not (
                    isinstance(keyword.value, ast.Constant) and keyword.value.value is False):
                yield node, "unsafe_allow_html"


def test_pages_render_html_only_from_constant_strings_written_in_the_code():
    files = [APP, *sorted((REPO / "app_pages").glob("*.py")), *sorted((REPO / "ui").glob("*.py"))]
    offenders = []
    for path in files:
        for call, what in _html_calls(path):
            body = call.args[0] if call.args else None
            if not (isinstance(body, ast.Constant) and isinstance(body.value, str)):
                offenders.append(f"{path.relative_to(REPO)}:{call.lineno} {what} with non-constant content")
    assert offenders == []


def _consent_with_html(database_url: str) -> None:
    from db import open_database
    from study import survey
    from study.data import active

    engine = open_database(database_url)
    info = survey.create_set(engine, active.dataset_by_source("demo"), size=15, seed=5)
    survey.edit_consent(engine, info.id, XSS_CONSENT)


def test_consent_markdown_is_rendered_without_html(study_home):
    from study.config import get_settings

    _consent_with_html(get_settings().database_url)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    consent = [m for m in at.markdown if "Please agree" in m.value]
    assert len(consent) == 1
    assert consent[0].proto.allow_html is False  # the browser escapes the tags instead of running them


# --- configuration the server runs with ------------------------------------------------------

def test_project_config_caps_uploads_and_keeps_xsrf_on():
    server = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["server"]
    assert server["enableXsrfProtection"] is True
    assert 1 <= server["maxUploadSize"] <= 10  # MB: single small images
    assert server["maxMessageSize"] <= 200


# --- a real server ---------------------------------------------------------------------------

def _start_server(folder: Path, password: str | None) -> Server:
    server = make_server(folder, password)
    try:
        return server.start()
    except RuntimeError as err:
        pytest.fail(str(err))


def _stop(server: Server) -> None:
    server.stop()


@pytest.fixture(scope="module")
def server_with_env_password(tmp_path_factory):
    server = _start_server(tmp_path_factory.mktemp("env-secret"), "env-Secret-7f3a9c")
    yield server
    _stop(server)


def _researcher_url_paths() -> list[str]:
    return re.findall(r'url_path="([^"]+)"', APP.read_text())


def test_researcher_urls_on_a_real_server_show_a_participant_the_survey(server_with_env_password):
    paths = [p for p in _researcher_url_paths() if p != "login"]
    assert {"setup", "survey-sets"} <= set(paths)
    session = Session(server_with_env_password.url)
    try:
        for path in paths:
            shown = session.text(session.run(path))
            assert "I have read the information above" in shown  # the survey's consent page instead
            for secret_sign in ("Setup", "Survey sets", "Prepare", "Create a set", "Download answers"):
                assert secret_sign not in shown
    finally:
        session.close()


def test_login_over_the_wire_and_the_password_never_reaches_the_log(server_with_env_password):
    server, password = server_with_env_password, "env-Secret-7f3a9c"
    session = Session(server.url)
    try:
        assert "Wrong password." in session.log_in("env-Secret-7f3a9d")
        assert "You are logged in as a researcher" in session.log_in(password)
        assert 'body: "Setup"' in session.text(session.run("setup"))
    finally:
        session.close()
    assert password not in server.output() and "env-Secret-7f3a9d" not in server.output()


def test_a_generated_secret_is_announced_by_its_file_never_by_its_value(tmp_path):
    server = _start_server(tmp_path, None)
    try:
        session = Session(server.url)
        try:
            assert "I have read the information above" in session.text(session.run())  # first run generates it
            secret_file = server.home / auth.SECRET_FILE
            secret = secret_file.read_text().strip()
            assert "You are logged in as a researcher" in session.log_in(secret)
        finally:
            session.close()
    finally:
        _stop(server)
    output = server.output()
    assert str(secret_file) in output and secret not in output


def test_the_running_server_protects_uploads_with_xsrf_and_caps_their_size(server_with_env_password):
    server = server_with_env_password
    session = Session(server.url)
    try:
        session.run()
        upload = f"{server.url}/_stcore/upload_file/{session.session_id}/file1"

        def put(length: int, with_token: bool) -> int:
            """The status of a PUT announcing `length` bytes; the server answers on the
            headers alone, so the body is only sent when it is small."""
            conn = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=30)
            try:
                conn.putrequest("PUT", upload.removeprefix(server.url))
                conn.putheader("Content-Type", "application/octet-stream")
                conn.putheader("Content-Length", str(length))
                conn.putheader("Cookie", session.cookie)
                if with_token:
                    conn.putheader("X-Xsrftoken", session.xsrf)
                conn.endheaders(b"x" * length if length < 10_000 else None)
                return conn.getresponse().status
            finally:
                conn.close()

        assert put(100, with_token=False) == 403  # a forged cross-site request
        max_mb = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
        assert put(max_mb * 1024 * 1024 + 1, with_token=True) == 413
    finally:
        session.close()


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
def test_consent_html_does_not_run_in_a_real_browser(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (CI installs Debian's chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    _consent_with_html(f"sqlite:///{tmp_path / 'home' / 'study.db'}")
    server = _start_server(tmp_path, "browser-secret")
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page()
                page.set_default_timeout(30_000)
                page.goto(server.url)
                page.get_by_text("Please agree.").wait_for()
                page.wait_for_timeout(1000)  # give any injected handler its chance to run
                assert page.evaluate("window.__xss === undefined")
                assert page.locator("img[onerror], script:has-text('__xss'), #injected").count() == 0
            finally:
                browser.close()
    finally:
        _stop(server)
