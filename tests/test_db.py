"""The database a study keeps its answers in: created on first use, SQLite made
safe for concurrent writers, schema version recorded for later upgrades."""
import threading

from sqlalchemy import inspect, text

from db import open_database
from db.engine import writer
from db.migrate import current_revision, head_revision
from study.config import get_settings


def test_first_open_creates_the_schema_and_records_its_version(study_home):
    engine = open_database(get_settings().database_url)
    assert (study_home / "study.db").exists()
    assert current_revision(engine) == head_revision()
    assert {"setting", "prepared_dataset", "alembic_version"} <= set(inspect(engine).get_table_names())


def test_sqlite_pragmas_are_set_on_every_connection():
    engine = open_database(get_settings().database_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def test_reopening_keeps_existing_data(study_home):
    url = get_settings().database_url
    engine = open_database(url)
    with writer(engine).begin() as conn:
        conn.execute(text("INSERT INTO setting (key, value, updated_at) VALUES ('k', 'v', '2026-01-01')"))
    engine.dispose()
    from db import engine as engine_module

    engine_module.dispose_all()
    again = open_database(url)
    with again.connect() as conn:
        assert conn.execute(text("SELECT value FROM setting WHERE key='k'")).scalar() == "v"


def test_concurrent_writers_wait_instead_of_failing():
    engine = open_database(get_settings().database_url)
    errors = []

    def write(i):
        try:
            for j in range(20):
                with writer(engine).begin() as conn:
                    conn.execute(
                        text("INSERT INTO setting (key, value, updated_at) VALUES (:k, 'v', '2026-01-01')"),
                        {"k": f"{i}-{j}"},
                    )
        except Exception as err:  # any "database is locked" would land here
            errors.append(err)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM setting")).scalar() == 160


def test_foreign_keys_are_enforced():
    engine = open_database(get_settings().database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE child (id INTEGER PRIMARY KEY, p INTEGER REFERENCES parent(id))"))
    import pytest
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO child (id, p) VALUES (1, 42)"))
