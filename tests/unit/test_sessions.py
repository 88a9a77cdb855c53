"""Researcher sessions (issue #17): a signed, expiring token that a reload or a new
tab brings back, ended by time, by logging out anywhere and by a new password."""
from __future__ import annotations

import time

import pytest
from itsdangerous import URLSafeTimedSerializer

from db import open_database
from study import sessions
from study.config import get_settings
from study.errors import StudyError


@pytest.fixture
def engine(study_home):
    return open_database(get_settings().database_url)


def test_a_token_is_valid_until_logout_ends_every_session(engine):
    first, second = sessions.issue(engine, "pw"), sessions.issue(engine, "pw")  # two browsers
    assert sessions.is_valid(engine, "pw", first) and sessions.is_valid(engine, "pw", second)
    sessions.end_all(engine)
    assert not sessions.is_valid(engine, "pw", first) and not sessions.is_valid(engine, "pw", second)
    assert sessions.is_valid(engine, "pw", sessions.issue(engine, "pw"))  # a new login works again


def test_a_new_password_ends_every_session(engine):
    token = sessions.issue(engine, "old password")
    assert not sessions.is_valid(engine, "new password", token)


def test_a_token_expires(engine, monkeypatch):
    token = sessions.issue(engine, "pw")
    monkeypatch.setenv("RESEARCHER_SESSION_HOURS", "0.0001")  # 0.36 s
    time.sleep(1.2)
    assert not sessions.is_valid(engine, "pw", token)
    monkeypatch.setenv("RESEARCHER_SESSION_HOURS", "12")
    assert sessions.is_valid(engine, "pw", token)


def test_forged_or_garbled_tokens_are_refused(engine):
    forged = URLSafeTimedSerializer("guessed key", salt="researcher-session").dumps({"epoch": 0})
    for token in (None, "", "garbage", forged, sessions.issue(engine, "pw") + "x"):
        assert not sessions.is_valid(engine, "pw", token)


def test_a_bad_session_length_is_one_clear_message(monkeypatch):
    monkeypatch.setenv("RESEARCHER_SESSION_HOURS", "forever")
    with pytest.raises(StudyError, match="RESEARCHER_SESSION_HOURS must be a number"):
        sessions.session_hours()
