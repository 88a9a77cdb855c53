"""Browser tests: a real Streamlit server (tests/streamlit_wire.py), healthy before the
test starts and stopped after, and Debian's chromium driven by Playwright."""
from __future__ import annotations

from pathlib import Path

import pytest

from streamlit_wire import Server, make_server

TIMEOUT_MS = 30_000


@pytest.fixture
def streamlit_server(tmp_path) -> Server:
    yield from _serve(tmp_path)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory) -> Server:
    """One server for a module's tests, each with browsers of its own (new cookies)."""
    yield from _serve(tmp_path_factory.mktemp("shared_server"))


def _serve(folder: Path):
    server = make_server(folder, password="e2e-secret").start()
    try:
        yield server
    finally:
        server.stop()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (CI installs Debian's chromium: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in requirements-test.txt")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(browser):
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


@pytest.fixture
def new_person(browser):
    """A fresh browser profile (its own cookies) per call: one more person."""

    def make():
        page = browser.new_context().new_page()
        page.set_default_timeout(TIMEOUT_MS)
        return page

    return make


@pytest.fixture
def server_on_this_home(tmp_path, study_home):
    """A server on the test's own STUDY_HOME, where the test makes its set first."""
    (tmp_path / "server").mkdir()
    server = make_server(tmp_path / "server", password="conditions-secret")
    server.env["STUDY_HOME"], server.home = str(study_home), study_home
    yield server
    server.stop()
