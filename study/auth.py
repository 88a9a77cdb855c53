"""The researcher secret: RESEARCHER_PASSWORD, else .streamlit/secrets.toml (the
page passes it in), else one generated on first start and kept in STUDY_HOME
with owner-only permissions. Wrong guesses are slowed down per client and process:
each client's attempts are checked one at a time, each after its delay, so
opening many sessions at once does not multiply the guesses per second."""
from __future__ import annotations

import hmac
import os
import secrets
import sys
import threading
import time
import tomllib
from pathlib import Path

from study.config import ensure_home, get_settings

SECRET_FILE = "researcher_password.txt"
_failures: dict[str, int] = {}
_failures_lock = threading.Lock()
_client_locks: dict[str, threading.Lock] = {}


def secret_path() -> Path:
    return get_settings().home / SECRET_FILE


def secret_from_project_toml() -> str | None:
    """RESEARCHER_PASSWORD from ./.streamlit/secrets.toml, for callers outside Streamlit."""
    path = Path(".streamlit") / "secrets.toml"
    try:
        value = tomllib.loads(path.read_text()).get("RESEARCHER_PASSWORD")
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return str(value) if value else None


def researcher_secret(from_secrets_toml: str | None = None) -> str:
    env = os.environ.get("RESEARCHER_PASSWORD")
    if env:
        return env
    from_secrets_toml = from_secrets_toml or secret_from_project_toml()
    if from_secrets_toml:
        return from_secrets_toml
    path = secret_path()
    if path.exists():
        return path.read_text().strip()
    ensure_home()
    generated = secrets.token_urlsafe(18)
    # O_EXCL: two processes starting at once must not each write a different secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(generated + "\n")
    # Says where the secret is, never the secret itself: logs are often shared.
    print(f"Researcher password generated and stored in {path} (owner-only).", file=sys.stderr)
    return generated


def failure_delay(client: str) -> float:
    """Seconds to wait before answering this client's next attempt: 0, then doubling."""
    with _failures_lock:
        n = _failures.get(client, 0)
    return 0.0 if n == 0 else min(0.5 * 2 ** (n - 1), 8.0)


def _client_lock(client: str) -> threading.Lock:
    with _failures_lock:
        return _client_locks.setdefault(client, threading.Lock())


def check_password(attempt: str, secret: str, client: str = "default") -> bool:
    # Delay and check under the client's lock: parallel sessions queue up behind it.
    with _client_lock(client):
        time.sleep(failure_delay(client))
        ok = hmac.compare_digest(attempt.encode(), secret.encode())
        with _failures_lock:
            if ok:
                _failures.pop(client, None)
            else:
                _failures[client] = _failures.get(client, 0) + 1
    return ok
