"""The login slow-down through a real server behind a proxy on another host: other
people's wrong guesses never delay the researcher's right password, and a client
cannot pick a fresh bucket by writing X-Forwarded-For itself (the rules, in one
process: tests/unit/test_login_limit.py).

The server is reached from 127.0.0.2 and 127.0.0.3 (Linux routes all of 127/8 to
the loopback device): Streamlit reports those peers' addresses, unlike 127.0.0.1,
so they stand for a proxy on another host and a client that reaches the app
directly.
"""
from __future__ import annotations

import time
import urllib.request

import pytest

from streamlit_wire import Server, Session, make_server

PROXY, DIRECT = "127.0.0.2", "127.0.0.3"


PASSWORD = "proxy-Secret-51c2"


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
