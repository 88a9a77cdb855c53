"""What tests of every tier share: where the repository is, a free port, and the
command line run in this process (`run_cli`) or as a fresh one (`run_study`)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "streamlit_app.py"
APP_PAGES = REPO / "app_pages"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """`python -m study ARGV` in this process: (exit code, stdout, stderr)."""
    from study.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_study(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess:
    """`python -m study ARGS` as a fresh process with its own STUDY_HOME and none of
    the developer's data or database settings (ENV adds some back)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("CIFAKE_ROOT", "DATABASE_URL")}
    environment.update(STUDY_HOME=str(home), **env)
    return subprocess.run([sys.executable, "-m", "study", *args], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=120)


# Consent Markdown a researcher might paste with HTML in it: the page must show it as text.
XSS_CONSENT = (
    "Please agree. <script>window.__xss = 'script'</script> "
    "<img src=x onerror=\"window.__xss = 'img'\"> <b id=\"injected\">bold</b>"
)


def open_set_with_consent(database_url: str, consent: str) -> None:
    """An open demo survey set whose consent text is CONSENT."""
    from db import open_database
    from study import survey
    from study.data import active

    engine = open_database(database_url)
    info = survey.create_set(engine, active.dataset_by_source("demo"), size=15, seed=5)
    survey.edit_consent(engine, info.id, consent)


def at_once(n, fn):
    """Run fn(i) in n threads released together; returns each result or the exception it raised."""
    barrier, results = threading.Barrier(n), [None] * n

    def run(i):
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as err:
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def rows(engine, model, **where) -> list:
    """The rows of a db.schema table (model) whose columns equal `where`."""
    from sqlalchemy import select

    query = select(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    with engine.connect() as conn:
        return list(conn.execute(query))
