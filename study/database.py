"""The study's database for code outside Streamlit (CLI, background jobs): STUDY_HOME
made if missing, the schema created or upgraded on first use in the process; and a
consistent copy of the SQLite file for the researcher's export."""
from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from db import open_database
from study.config import ensure_home
from study.errors import StudyError


def study_engine() -> Engine:
    return open_database(ensure_home().database_url)


# --- the database itself --------------------------------------------------------

def database_copy(database_url: str, out) -> int:
    """A consistent copy of the SQLite study database at `out` (SQLite's backup
    API, safe while the app is writing); returns its size in bytes. For a
    PostgreSQL database say to use pg_dump."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise StudyError(
            f"the database is {url.get_backend_name()}, not a file: copy it with its own tools, "
            f"e.g. `pg_dump --format=custom --file=study.dump --host={url.host or 'localhost'} "
            f"--username={url.username or 'USER'} {url.database or 'DBNAME'}`"
        )
    if not url.database or url.database == ":memory:" or not Path(url.database).is_file():
        raise StudyError(f"there is no SQLite database file at {url.database!r}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(url.database, timeout=15)
    target = sqlite3.connect(out)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return out.stat().st_size


def database_bytes(database_url: str) -> bytes:
    """The same copy, as bytes for a download button."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "study.db"
        database_copy(database_url, path)
        return path.read_bytes()
