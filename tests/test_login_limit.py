"""The login slow-down must slow guessers without locking the researcher out:

- it counts failures per client, the client being the address the nearest
  trusted proxy saw (X-Forwarded-For from TRUSTED_PROXIES only), so other
  people's wrong guesses never delay the researcher's right password;
- a client cannot pick a fresh bucket by writing X-Forwarded-For itself;
- a right password is answered at once, and within SLOT_WAIT_S even while its
  own client floods wrong ones, which are still answered only after their delay.

The real-server checks connect from 127.0.0.2 and 127.0.0.3 (Linux routes all of
127/8 to the loopback device): Streamlit reports those peers' addresses, unlike
127.0.0.1, so they stand for a proxy on another host and a client that reaches
the app directly.
"""
from __future__ import annotations

import sys
import threading
import time
import urllib.request

import pytest
from streamlit.testing.v1 import AppTest

from study import auth
from streamlit_wire import REPO, Server, Session, make_server

PROXY, DIRECT = "127.0.0.2", "127.0.0.3"
PASSWORD = "proxy-Secret-51c2"


@pytest.fixture
def fresh_failures(monkeypatch):
    """Failure counts are process-wide: start and leave them empty for other tests."""
    monkeypatch.setattr(auth, "_failures", {})
    monkeypatch.setattr(auth, "_client_slots", {}, raising=False)
    monkeypatch.setattr(auth, "_client_locks", {}, raising=False)


# --- whose failures count ---------------------------------------------------------------

def test_forwarded_for_is_believed_only_from_a_trusted_proxy(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")
    # Through the proxy: the right-most address that is not itself a proxy.
    assert auth.client_key("10.1.2.3", "198.51.100.7") == "198.51.100.7"
    assert auth.client_key("10.1.2.3", "6.6.6.6, 198.51.100.7, 10.9.9.9") == "198.51.100.7"
    assert auth.client_key(None, ["6.6.6.6", "198.51.100.8"]) == "198.51.100.8"  # None: loopback peer
    # Straight from a client: whatever it writes in the header is ignored.
    assert auth.client_key("203.0.113.5", "198.51.100.7") == "203.0.113.5"
    assert auth.client_key("203.0.113.5", "10.1.2.3") == "203.0.113.5"
    # Junk in the header cannot name a bucket either.
    assert auth.client_key("10.1.2.3", "not-an-address") == "10.1.2.3"
    # One IPv6 host usually holds a whole /64: one bucket for it.
    assert auth.client_key("2001:db8::1") == auth.client_key("2001:db8::ffff:1") == "2001:db8::/64"


def test_a_bad_trusted_proxies_setting_is_one_clear_message(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, proxy.example.org")
    with pytest.raises(auth.StudyError, match="TRUSTED_PROXIES: 'proxy.example.org' is not an IP address"):
        auth.client_key("10.1.2.3", "198.51.100.7")


# --- a right password among wrong ones of the same client -------------------------------

class HeldSleep:
    """auth's time.sleep, made to hold wrong attempts in their delay until released."""

    def __init__(self):
        self.release = threading.Event()
        self.held: list[float] = []
        self._real = time.sleep

    def __call__(self, seconds):
        if sys._getframe(1).f_globals.get("__name__") != auth.__name__:
            return self._real(seconds)  # time.sleep is global: other threads keep theirs
        self.held.append(seconds)
        self.release.wait(60)

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 10
        while len(self.held) < count and time.monotonic() < deadline:
            self._real(0.01)


def _attempt(password: str, client: str, answers: list) -> threading.Thread:
    def run():
        try:
            answers.append(auth.check_password(password, "secret", client))
        except auth.StudyError as err:
            answers.append(str(err))
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_right_password_is_answered_at_once_while_one_wrong_attempt_waits_out_its_delay(
        monkeypatch, fresh_failures):
    sleep = HeldSleep()
    monkeypatch.setattr(auth.time, "sleep", sleep)
    client = "203.0.113.9"
    auth._failures[client] = 6  # a guesser has been at it: each wrong answer waits the full delay
    wrong: list = []
    guessing = _attempt("guess", client, wrong)
    sleep.wait_for(1)
    try:
        right: list = []
        _attempt("secret", client, right).join(timeout=3)  # the old design queued it behind the guess
        assert right == [True]
        assert not wrong and guessing.is_alive()  # the wrong one is still waiting out its 8 s
    finally:
        sleep.release.set()
        guessing.join(timeout=10)
    assert wrong == [False] and sleep.held == [8.0]


def test_a_flood_of_wrong_attempts_is_refused_unchecked_and_cannot_hold_the_right_one(
        monkeypatch, fresh_failures):
    sleep = HeldSleep()
    monkeypatch.setattr(auth.time, "sleep", sleep)
    client = "203.0.113.10"
    wrong: list = []
    flood = [_attempt("guess", client, wrong) for _ in range(8)]
    sleep.wait_for(auth.MAX_IN_FLIGHT)
    try:
        right: list = []
        started = time.monotonic()
        _attempt("secret", client, right).join(timeout=5)  # the old design: behind all eight
        took = time.monotonic() - started
        assert len(right) == 1 and "Too many login attempts at once" in right[0]
        assert took < 4
        # The attempts beyond the cap are refused without being checked...
        for thread in flood:
            thread.join(timeout=5)
        refused = [answer for answer in wrong if isinstance(answer, str)]
        assert len(refused) == 8 - auth.MAX_IN_FLIGHT
        assert all("Too many login attempts at once" in answer for answer in refused)
        assert auth.failure_delay(client) == 1.0  # only the two checked ones count
        # ...while the checked ones are still not answered: their delay is not over.
        assert sum(1 for thread in flood if thread.is_alive()) == auth.MAX_IN_FLIGHT
    finally:
        sleep.release.set()
        for thread in flood:
            thread.join(timeout=10)
    assert wrong.count(False) == auth.MAX_IN_FLIGHT


def test_the_login_page_says_when_there_are_too_many_attempts_at_once(monkeypatch, fresh_failures):
    monkeypatch.setenv("RESEARCHER_PASSWORD", "correct horse")
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=60).run()
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


# --- through a real server behind a proxy on another host ------------------------------

class ProxiedSession(Session):
    """A browser tab whose websocket comes from `peer` and carries X-Forwarded-For."""

    def __init__(self, base_url: str, peer: str, forwarded_for: str | None):
        from websockets.sync.client import connect

        with urllib.request.urlopen(base_url + "/_stcore/health", timeout=5) as response:
            self.cookie = response.headers["set-cookie"].split(";")[0]
        self.xsrf = self.cookie.split("=", 1)[1]
        headers = {"Cookie": self.cookie, "Origin": base_url}
        if forwarded_for:
            headers["X-Forwarded-For"] = forwarded_for
        self._connection = connect(base_url.replace("http://", "ws://") + "/_stcore/stream",
                                   subprotocols=["streamlit", self.xsrf], open_timeout=30,
                                   additional_headers=headers, source_address=(peer, 0))
        self.ws = self._connection.__enter__()
        self.session_id = None
        self.query_string = ""


@pytest.fixture(scope="module")
def proxied_server(tmp_path_factory):
    server = make_server(tmp_path_factory.mktemp("proxied"), PASSWORD)
    server.env["TRUSTED_PROXIES"] = PROXY
    try:
        server.start()
    except RuntimeError as err:
        pytest.fail(str(err))
    yield server
    server.stop()


def _timed_login(server: Server, peer: str, forwarded_for: str | None, password: str) -> tuple[str, float]:
    session = ProxiedSession(server.url, peer, forwarded_for)
    try:
        session.run("login")
        started = time.monotonic()
        shown = session.log_in(password)
        return shown, time.monotonic() - started
    finally:
        session.close()


def test_a_guessers_failures_do_not_slow_the_researcher_behind_the_same_proxy(proxied_server):
    for _ in range(5):
        shown, took = _timed_login(proxied_server, PROXY, "198.51.100.66", "guess")
        assert "Wrong password." in shown
    assert took >= 3.5  # the guesser's fifth wrong answer waited its 4 s
    shown, took = _timed_login(proxied_server, PROXY, "198.51.100.20", PASSWORD)
    assert "You are logged in as a researcher" in shown
    assert took < 3  # the old design keyed both on the proxy and made this wait 8 s


def test_a_client_cannot_escape_its_slow_down_by_writing_forwarded_for(proxied_server):
    """Straight to the app, not through the proxy: each attempt claims another address."""
    for i in range(4):
        shown, took = _timed_login(proxied_server, DIRECT, f"192.0.2.{i + 1}", "guess")
        assert "Wrong password." in shown
    assert took >= 1.5  # the fourth wrong answer still waited its 2 s: all four counted as one client
