"""One SQLAlchemy engine per database URL, with SQLite made safe for a live study.

SQLite gets WAL (readers never block the writer), a busy timeout (a second
writer waits instead of failing), foreign keys, and synchronous=FULL (a
committed answer survives a power cut, not just a crashed process).
pysqlite's own transaction handling is switched off so that SQLAlchemy emits
BEGIN itself: writers can then ask for BEGIN IMMEDIATE, which takes the write
lock up front and so never fails half-way with "database is locked".

PostgreSQL (several app processes sharing one server) needs none of that: it
has row locks, and our unique keys settle concurrent twins. A plain
`postgresql://` or `postgres://` URL is given the psycopg 3 driver, the one we
install. Each process keeps a small pool; max connections per process is
POOL_SIZE + MAX_OVERFLOW, so N processes need N x 30 below max_connections.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

BUSY_TIMEOUT_MS = 60_000  # a participant waiting a while beats an error; see docs/scaling.md
POOL_SIZE = 10
MAX_OVERFLOW = 20

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _install_sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def with_driver(url: str) -> str:
    """postgres:// and postgresql:// get psycopg 3 (SQLAlchemy would pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def make_engine(url: str) -> Engine:
    """A new engine; prefer get_engine(), which shares one per URL and process."""
    parsed = make_url(with_driver(url))
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        _install_sqlite_pragmas(engine)
        return engine
    return create_engine(
        parsed,
        # pre_ping: a connection the server dropped (restart, failover) is replaced, not handed out
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=MAX_OVERFLOW,
        pool_recycle=1800,
        connect_args={"application_name": "cifake-study", "connect_timeout": 10},
    )


def get_engine(url: str) -> Engine:
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


class _SQLiteWriter:
    """writer(engine) on SQLite: begin() takes the process's write queue for
    the URL, then SQLite's write lock (BEGIN IMMEDIATE), and holds both until
    the commit is done. So SQLite's file lock sees one writer per process:
    its busy handler polls with growing sleeps, unfair under many waiting
    threads (one unlucky answer waited seconds), while a Python lock hands
    over at once. Reentrant: a writer opened inside another in the same
    thread waits on SQLite, as before, not on itself."""

    def __init__(self, engine: Engine, queue: threading.RLock):
        self._engine = engine.execution_options(sqlite_begin="IMMEDIATE")
        self._queue = queue

    @contextmanager
    def begin(self):
        with self._queue, self._engine.begin() as conn:
            yield conn


_write_queues: dict[str, threading.RLock] = {}
SQLITE_WRITE_QUEUE = True  # False only in bench/survey_load.py, to measure SQLite without it


def writer(engine: Engine):
    """The engine for a write transaction, used as `with writer(engine).begin() as conn`.
    SQLite: the write lock is taken at BEGIN, after this process's other writers."""
    if engine.dialect.name != "sqlite":
        return engine
    if not SQLITE_WRITE_QUEUE:
        return engine.execution_options(sqlite_begin="IMMEDIATE")
    key = engine.url.render_as_string(hide_password=False)
    with _lock:
        queue = _write_queues.setdefault(key, threading.RLock())
    return _SQLiteWriter(engine, queue)


def dispose(url: str) -> None:
    """Close and forget the shared engine for url (e.g. before dropping its database)."""
    with _lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


def dispose_all() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
