"""The database a study keeps its answers in: created on first use, SQLite made
safe for concurrent writers, schema version recorded for later upgrades. Every
test that is not about SQLite itself runs on SQLite and on PostgreSQL (`backend`)."""
import threading

from sqlalchemy import inspect, text

from db import open_database
from db.engine import writer
from db.migrate import current_revision, head_revision
from study.config import get_settings


def test_first_open_creates_the_schema_and_records_its_version(study_home, backend):
    engine = open_database(get_settings().database_url)
    if backend == "sqlite":
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


def test_reopening_keeps_existing_data(study_home, backend):
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


def test_concurrent_writers_wait_instead_of_failing(backend):
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


def test_foreign_keys_are_enforced(backend):
    engine = open_database(get_settings().database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE child (id INTEGER PRIMARY KEY, p INTEGER REFERENCES parent(id))"))
    import pytest
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO child (id, p) VALUES (1, 42)"))


def test_schema_upgrades_started_at_once_by_several_processes_run_once(backend):
    """Several app processes starting together: one migrates, the others wait
    (file lock beside SQLite, advisory lock on PostgreSQL) and nobody fails."""
    from db.engine import make_engine
    from db.migrate import upgrade

    url = get_settings().database_url
    engines = [make_engine(url) for _ in range(4)]
    errors, barrier = [], threading.Barrier(len(engines))

    def start(engine):
        barrier.wait()
        try:
            upgrade(engine)
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(current_revision(engine) == head_revision() for engine in engines)
    with engines[0].connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    for engine in engines:
        engine.dispose()


def test_a_plain_postgresql_url_gets_the_installed_driver():
    from db.engine import make_engine, with_driver

    assert with_driver("postgres://u:p@db:5432/study") == "postgresql+psycopg://u:p@db:5432/study"
    assert with_driver("postgresql://u@db/study") == "postgresql+psycopg://u@db/study"
    assert with_driver("sqlite:///x.db") == "sqlite:///x.db"
    assert make_engine("postgresql://u@db/study").dialect.driver == "psycopg"


def test_postgresql_connections_name_the_app_for_the_server_admin(postgres_url):
    engine = open_database(get_settings().database_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_setting('application_name')")).scalar() == "cifake-study"


def test_the_postgresql_pool_shares_max_connections_among_the_app_processes(postgres_url, monkeypatch):
    from db.engine import CONCURRENT_RUNS, MIN_POOL, RESERVED_CONNECTIONS, make_engine, pool_size_for

    assert pool_size_for(100, 1) == CONCURRENT_RUNS  # one process: as many as its page runs need
    assert pool_size_for(100, 2) == (100 - RESERVED_CONNECTIONS) // 2 == 45
    assert pool_size_for(100, 30) == MIN_POOL
    monkeypatch.setenv("STUDY_APP_PROCESSES", "3")
    engine = make_engine(postgres_url)
    try:
        with engine.connect() as conn:
            max_connections = int(conn.exec_driver_sql("SHOW max_connections").scalar())
        assert engine.pool.size() == pool_size_for(max_connections, 3)
        assert engine.pool._max_overflow == 0
    finally:
        engine.dispose()
