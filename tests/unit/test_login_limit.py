"""The login slow-down must slow guessers without locking the researcher out:

- it counts failures per client, the client being the address the nearest
  trusted proxy saw (X-Forwarded-For from TRUSTED_PROXIES only), so other
  people's wrong guesses never delay the researcher's right password;
- a client cannot pick a fresh bucket by writing X-Forwarded-For itself;
- a right password is answered at once, and within SLOT_WAIT_S even while its
  own client floods wrong ones, which are still answered only after their delay;
- many sessions of one client cannot guess in parallel.

The same through a real server behind a proxy: tests/system/test_login_limit_server.py;
what the login page says: tests/pages/test_security.py.
"""
from __future__ import annotations

import sys
import threading
import time

import pytest

from study import auth


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


# --- through a real server behind a proxy on another host ------------------------------


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
