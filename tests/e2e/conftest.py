"""A real Streamlit server for browser tests: `streamlit run streamlit_app.py` on a
free port with its own STUDY_HOME, healthy before the test starts, stopped after."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 90
TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Server:
    url: str
    home: Path
    log: Path

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.home / 'study.db'}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


@pytest.fixture
def streamlit_server(tmp_path) -> Server:
    yield from _serve(tmp_path)


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory) -> Server:
    """One server for a module's tests, each with browsers of its own (new cookies)."""
    yield from _serve(tmp_path_factory.mktemp("shared_server"))


def _serve(tmp_path: Path):
    home = tmp_path / "study_home"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "STUDY_HOME": str(home), "RESEARCHER_PASSWORD": "e2e-secret"}
    for name in ("DATABASE_URL", "CIFAKE_ROOT"):
        env.pop(name, None)
    log = tmp_path / "streamlit.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(url):
            if proc.poll() is not None:
                pytest.fail(f"streamlit exited with {proc.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit not healthy after {START_TIMEOUT_S}s:\n{log.read_text()}")
            time.sleep(0.3)
        yield Server(url=url, home=home, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
