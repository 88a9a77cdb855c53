"""Researcher sessions that survive a reload, a new tab and a direct link: after a
right password the browser keeps a signed, expiring token (ui/auth.py puts it in
a cookie), and every page run checks it.

A token is valid while all three hold:
- its signature: made with a key derived from the researcher secret, so changing
  the password ends every session at once;
- its age: at most RESEARCHER_SESSION_HOURS (default 12);
- its epoch: a counter in the database that "Log out" raises, so logging out in
  one tab ends the session in every tab and browser.
The token carries nothing secret (the epoch and its time); it only proves that
whoever holds it typed the password recently."""
from __future__ import annotations

import hashlib
import os

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import Engine

from db.datasets import get_setting, set_setting
from study.errors import StudyError

DEFAULT_HOURS = 12.0
EPOCH_SETTING = "researcher_session_epoch"
_SALT = "researcher-session"


def session_hours() -> float:
    text = os.environ.get("RESEARCHER_SESSION_HOURS")
    if not text:
        return DEFAULT_HOURS
    try:
        hours = float(text)
    except ValueError:
        raise StudyError(f"RESEARCHER_SESSION_HOURS must be a number of hours, got {text!r}") from None
    if not 0 < hours <= 24 * 30:
        raise StudyError(f"RESEARCHER_SESSION_HOURS must be more than 0 and at most 720, got {text!r}")
    return hours


def _serializer(secret: str) -> URLSafeTimedSerializer:
    key = hashlib.sha256(b"study researcher session v1\0" + secret.encode("utf-8")).hexdigest()
    return URLSafeTimedSerializer(key, salt=_SALT)


def current_epoch(engine: Engine) -> int:
    return int(get_setting(engine, EPOCH_SETTING) or 0)


def issue(engine: Engine, secret: str) -> str:
    """A token for a researcher who just typed the right password."""
    return _serializer(secret).dumps({"epoch": current_epoch(engine)})


def is_valid(engine: Engine, secret: str, token: str | None) -> bool:
    """Whether `token` still proves a researcher's login (see the module's docstring)."""
    if not token:
        return False
    try:
        data = _serializer(secret).loads(token, max_age=session_hours() * 3600)
    except (SignatureExpired, BadSignature):
        return False
    return isinstance(data, dict) and data.get("epoch") == current_epoch(engine)


def end_all(engine: Engine) -> None:
    """Log out everywhere: every token issued so far stops being valid."""
    set_setting(engine, EPOCH_SETTING, str(current_epoch(engine) + 1))


def secret_fingerprint(secret: str) -> str:
    """Which password a tab logged in with, without keeping the password."""
    return hashlib.sha256(b"study researcher secret\0" + secret.encode("utf-8")).hexdigest()[:16]
