"""The researcher secret, and the slow-down that keeps it from being guessed.

The secret: RESEARCHER_PASSWORD, else .streamlit/secrets.toml (the page passes it
in), else one generated on first start and kept in STUDY_HOME with owner-only
permissions.

Who is guessing: the client address as the nearest trusted proxy saw it
(client_key). `X-Forwarded-For` is believed only when the direct peer is one of
TRUSTED_PROXIES (default loopback: a proxy on this host); we take the right-most
address in it that is not itself a trusted proxy, which is the one our own proxy
wrote, so a client cannot pick a fresh bucket by writing the header itself.
IPv6 clients are counted per /64, since one host usually holds a whole /64.
(Streamlit's server, uvicorn, already does the same for loopback peers, its
FORWARDED_ALLOW_IPS; TRUSTED_PROXIES covers a proxy on another host too.)

Why brute force stays slow although a right password is answered at once:
- A password is checked only while holding one of MAX_IN_FLIGHT slots of its
  client. A wrong one keeps its slot until its delay is over (the delay doubles
  with the client's consecutive failures, up to MAX_DELAY_S), whether or not
  the guesser waits for the answer: the server, not the browser, holds it. So a
  client gets at most MAX_IN_FLIGHT checks per MAX_DELAY_S, however many
  sessions it opens; that a right password comes back quickly tells a guesser
  nothing it can use to go faster.
- An attempt that finds no free slot within SLOT_WAIT_S is refused unchecked
  (TooManyAttempts), so flooding teaches nothing and queues nothing.
- Failures are counted per client, so other people's failures never delay the
  researcher; the researcher's own bucket delays a right password by at most
  SLOT_WAIT_S, then says clearly why it refused (the old design slept before
  checking, behind every queued attempt: 40 s and more).
Counters live in this process; several app processes behind a sticky proxy
(docs/scaling.md, ip_hash) keep each client on one process.
"""
from __future__ import annotations

import functools
import hmac
import ipaddress
import os
import secrets
import sys
import threading
import time
import tomllib
from pathlib import Path
from typing import Iterable, Union

from study.config import ensure_home, get_settings
from study.errors import StudyError

SECRET_FILE = "researcher_password.txt"
MAX_IN_FLIGHT = 2  # one client's attempts being checked or waiting out their delay at once
SLOT_WAIT_S = 1.5  # how long an attempt waits for a free slot before it is refused
MAX_DELAY_S = 8.0
LOOPBACK = "127.0.0.1"  # Streamlit's st.context.ip_address is None for a loopback peer (and in AppTest)

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

_failures: dict[str, int] = {}
_failures_lock = threading.Lock()
_client_slots: dict[str, threading.BoundedSemaphore] = {}


class TooManyAttempts(StudyError):
    """More attempts of one client at once than MAX_IN_FLIGHT: refused without checking."""


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


# ---------------------------------------------------------------- who is guessing

def trusted_proxies(spec: str | None = None) -> tuple[Network, ...]:
    """TRUSTED_PROXIES (comma-separated addresses or networks) parsed; spec None reads the setting."""
    return _parse_networks(get_settings().trusted_proxies if spec is None else spec)


@functools.lru_cache(maxsize=8)
def _parse_networks(spec: str) -> tuple[Network, ...]:
    networks = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise StudyError(f"TRUSTED_PROXIES: {item!r} is not an IP address or network "
                             "(e.g. 127.0.0.1,::1 or 10.0.0.0/8)") from None
    return tuple(networks)


def _address(text: str) -> Address | None:
    """An address from a peer or an X-Forwarded-For hop (`1.2.3.4:567`, `[::1]:89` too), else None."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]  # IPv4 with a port; a bare IPv6 has more colons
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _bucket(address: Address) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def client_key(peer: str | None, forwarded_for: str | Iterable[str] | None = None,
               trusted: Iterable[Network] | None = None) -> str:
    """The bucket of one client for the slow-down. peer: the direct TCP peer, None for
    loopback (as Streamlit reports it); forwarded_for: the X-Forwarded-For header(s),
    used only when peer is a trusted proxy (default: the TRUSTED_PROXIES setting)."""
    networks = tuple(trusted_proxies() if trusted is None else trusted)

    def is_trusted(address: Address) -> bool:
        return any(address in network for network in networks)

    address = _address(peer or LOOPBACK)
    if address is None:  # not an address at all: key on the text, never on a header
        return f"peer {peer}"
    if forwarded_for and is_trusted(address):
        values = [forwarded_for] if isinstance(forwarded_for, str) else list(forwarded_for)
        hops = [hop for value in values for hop in value.split(",")]
        for hop in reversed(hops):  # our proxy appends the address it saw: read from the right
            seen = _address(hop)
            if seen is None:  # garbage cannot name a bucket: keep the last hop we could trust
                break
            address = seen
            if not is_trusted(seen):
                break
    return _bucket(address)


# ---------------------------------------------------------------- the slow-down

def _delay(failures: int) -> float:
    return 0.0 if failures == 0 else min(0.5 * 2 ** (failures - 1), MAX_DELAY_S)


def failure_delay(client: str) -> float:
    """Seconds this client's next wrong password waits before its answer: 0, then doubling."""
    with _failures_lock:
        return _delay(_failures.get(client, 0))


def _slots(client: str) -> threading.BoundedSemaphore:
    with _failures_lock:
        return _client_slots.setdefault(client, threading.BoundedSemaphore(MAX_IN_FLIGHT))


def check_password(attempt: str, secret: str, client: str = "default") -> bool:
    """True at once for the right password; False only after this client's delay.
    Raises TooManyAttempts when the client has MAX_IN_FLIGHT attempts under way
    for longer than SLOT_WAIT_S (see the module docstring for why)."""
    slots = _slots(client)
    if not slots.acquire(timeout=SLOT_WAIT_S):
        raise TooManyAttempts("Too many login attempts at once from your address; "
                              "wait a few seconds, then try again.")
    try:
        if hmac.compare_digest(attempt.encode(), secret.encode()):
            with _failures_lock:
                _failures.pop(client, None)
            return True
        with _failures_lock:  # count before sleeping: attempts in flight see each other's failures
            failures = _failures.get(client, 0)
            _failures[client] = failures + 1
        time.sleep(_delay(failures))  # the slot stays taken meanwhile: that is what bounds the rate
        return False
    finally:
        slots.release()
