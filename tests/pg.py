"""A PostgreSQL server for tests and benchmarks: the one TEST_POSTGRES_URL names,
or a throwaway cluster started from Debian's binaries (/usr/lib/postgresql/*/bin)
in a temporary folder on a free port, stopped and deleted afterwards.

Each test gets a fresh database (`create_database()` returns its SQLAlchemy URL),
so tests never see each other's rows. initdb refuses to run as root (CI runs as
root), so there the cluster is run by the `postgres` system user (or `nobody`).

    cluster = start_cluster()          # or cluster_from_env()
    url = cluster.create_database()    # postgresql+psycopg://...
    ...
    cluster.drop_database(url); cluster.stop()
"""
from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from helpers import free_port

ENV_URL = "TEST_POSTGRES_URL"
START_TIMEOUT_S = 60
_counter = itertools.count()


class PostgresUnavailable(RuntimeError):
    """No server named and no binaries to start one: the caller skips."""


def find_bindir() -> Path | None:
    """The newest Debian PostgreSQL bin folder holding initdb, else one on PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if candidates:
        return Path(candidates[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _psycopg_url(url: str) -> str:
    """SQLAlchemy URL with the psycopg 3 driver (the only one we install)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


@dataclass
class PgCluster:
    admin_url: str  # SQLAlchemy URL of a database we may CREATE/DROP DATABASE from
    folder: Path | None = None  # set when we started the cluster ourselves
    _run_as: list[str] = field(default_factory=list)
    _bindir: Path | None = None
    _stopped: bool = False

    def _admin(self):
        import psycopg

        parsed = make_url(self.admin_url)
        return psycopg.connect(
            host=parsed.host, port=parsed.port, user=parsed.username, password=parsed.password,
            dbname=parsed.database or "postgres", autocommit=True,
        )

    def url_for(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def create_database(self, prefix: str = "study_test") -> str:
        """A new, empty database; returns its SQLAlchemy URL."""
        name = f"{prefix}_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        """Drop a database create_database made, closing our pooled connections first."""
        from db.engine import dispose

        dispose(url)
        name = make_url(url).database
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.folder is None or self._stopped:
            return
        self._stopped = True
        subprocess.run([*self._run_as, str(self._bindir / "pg_ctl"), "stop", "-D", str(self.folder / "data"),
                        "-m", "immediate", "-w"], capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


def cluster_from_env() -> PgCluster | None:
    url = os.environ.get(ENV_URL)
    return PgCluster(admin_url=_psycopg_url(url)) if url else None


def _unprivileged_user() -> list[str]:
    """The prefix that runs a command as a non-root user when we are root."""
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return ["runuser", "-u", name, "--"]
    raise PostgresUnavailable("running as root and no 'postgres' or 'nobody' user to run initdb as")


def start_cluster(*, durable: bool = False, max_connections: int = 300) -> PgCluster:
    """Start a throwaway cluster. durable=False turns fsync off (tests: the app
    process is what we kill, never the database server); benchmarks pass
    durable=True so that commit latency includes the flush to disk."""
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(
            f"no PostgreSQL binaries (apt-get install postgresql) and {ENV_URL} is not set")
    run_as = _unprivileged_user()
    # As root the server runs as another user, who must reach the folder: /tmp, not a private TMPDIR.
    folder = Path(tempfile.mkdtemp(prefix="study-pg-", dir="/tmp" if run_as else None))
    if run_as:
        user = pwd.getpwnam(run_as[2])
        os.chown(folder, user.pw_uid, user.pw_gid)
    data, log = folder / "data", folder / "server.log"
    try:
        subprocess.run(
            [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            check=True, capture_output=True, text=True, timeout=120,
        )
        port = free_port()
        options = [f"-p {port}", f"-k {folder}", "-c listen_addresses=127.0.0.1",
                   f"-c max_connections={max_connections}"]
        if not durable:
            options += ["-c fsync=off", "-c full_page_writes=off"]
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "start", "-D", str(data), "-l", str(log), "-w",
             "-t", str(START_TIMEOUT_S), "-o", " ".join(options)],
            check=True, capture_output=True, text=True, timeout=START_TIMEOUT_S + 10,
        )
    except subprocess.CalledProcessError as err:
        server_log = log.read_text() if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL from {bindir}: {err.stderr}\n{server_log}") from err
    cluster = PgCluster(
        admin_url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
        folder=folder, _run_as=run_as, _bindir=bindir,
    )
    atexit.register(cluster.stop)  # also when a benchmark or test session dies half-way
    return cluster


def get_cluster(**kwargs) -> PgCluster:
    """TEST_POSTGRES_URL's server, else a throwaway cluster; PostgresUnavailable if neither."""
    return cluster_from_env() or start_cluster(**kwargs)
