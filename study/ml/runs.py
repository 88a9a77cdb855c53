"""The records of training runs, as the pages and jobs read them (the rows live
in db/runs.py): a run by id, the recent runs."""
from __future__ import annotations

from sqlalchemy import Engine

from db import runs as db_runs


def get_run(engine: Engine, run_id: int) -> dict | None:
    return db_runs.get_run(engine, run_id)


def list_runs(engine: Engine, *, status: str | None = None, limit: int = 100) -> list[dict]:
    """Newest first."""
    return db_runs.list_runs(engine, status=status, limit=limit)
