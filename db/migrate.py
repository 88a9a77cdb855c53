"""Create or upgrade the schema to the newest revision, once, even when several
app processes start at the same time."""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_KEY = int(hashlib.sha256(b"cifake-study-schema").hexdigest()[:15], 16)


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _schema_lock(engine: Engine):
    """Serialise concurrent upgrades: a file lock beside a SQLite file, an
    advisory lock on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            yield
            return
        with FileLock(str(database) + ".schema.lock", timeout=120):
            yield
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                conn.commit()
    else:
        yield


def upgrade(engine: Engine) -> str:
    """Bring the database to the newest revision; returns that revision."""
    head = head_revision()
    if current_revision(engine) == head:
        return head
    with _schema_lock(engine):
        with engine.begin() as conn:
            cfg = _config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    return head
