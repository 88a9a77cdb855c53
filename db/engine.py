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
install. Each process's pool is sized from the server's max_connections and the
number of app processes that share it (pool_size_for, documented in
docs/scaling.md): as many connections as page runs that may need one at once,
never more than the server can give every process.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

import os

from sqlalchemy import Engine, NullPool, create_engine, event, text
from sqlalchemy.engine import make_url

BUSY_TIMEOUT_MS = 60_000  # a participant waiting a while beats an error; see docs/scaling.md
# PostgreSQL pool per app process (docs/scaling.md):
#   pool = min(CONCURRENT_RUNS, (max_connections - RESERVED_CONNECTIONS) // STUDY_APP_PROCESSES)
CONCURRENT_RUNS = 64  # page runs (Streamlit script threads) of one process that may hold a connection at once
RESERVED_CONNECTIONS = 10  # for psql, migrations, the training jobs' processes and the server's own
MIN_POOL = 5

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
    connect_args = {"application_name": "cifake-study", "connect_timeout": 10}
    return create_engine(
        parsed,
        # pre_ping: a connection the server dropped (restart, failover) is replaced, not handed out
        pool_pre_ping=True,
        pool_size=pool_size_for(_max_connections(parsed, connect_args), app_processes()),
        max_overflow=0,  # the pool is the budget: overflow would break the sum over processes
        pool_timeout=60,  # a page run waits for a connection rather than fail
        pool_recycle=1800,
        connect_args=connect_args,
    )


def app_processes() -> int:
    """STUDY_APP_PROCESSES: how many app processes share the database (default 1)."""
    text_value = os.environ.get("STUDY_APP_PROCESSES") or "1"
    try:
        return max(1, int(text_value))
    except ValueError:
        raise ValueError(f"STUDY_APP_PROCESSES must be a whole number of processes, got {text_value!r}") from None


def pool_size_for(max_connections: int, processes: int) -> int:
    """Connections one app process may keep: enough for its concurrent page runs, and
    together with the other processes' never more than the server allows."""
    share = (max_connections - RESERVED_CONNECTIONS) // max(processes, 1)
    return max(MIN_POOL, min(CONCURRENT_RUNS, share))


def _max_connections(url, connect_args: dict) -> int:
    """The server's max_connections (100 if it cannot be asked now: the pool is lazy,
    and the app's first query reports an unreachable server clearly)."""
    probe = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    try:
        with probe.connect() as conn:
            return int(conn.execute(text("SHOW max_connections")).scalar())
    except Exception:  # noqa: BLE001 - any failure here is the first query's to report
        return 100
    finally:
        probe.dispose()


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
