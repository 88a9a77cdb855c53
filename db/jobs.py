"""The background-job queue: rows of TrainingJob, queued -> running -> finished
| failed | cancelled. study/jobs.py runs them; this module only reads and writes.
Status changes are conditional updates, so a cancel and a start racing for the
same queued job cannot both win."""
from __future__ import annotations

from sqlalchemy import Engine, select, update

from db.engine import writer
from db.schema import TrainingJob, utcnow

STATUSES = ("queued", "running", "finished", "failed", "cancelled")
ENDED = ("finished", "failed", "cancelled")
_J = TrainingJob.__table__


def add_job(engine: Engine, *, kind: str, label: str, device: str, params: dict) -> int:
    with writer(engine).begin() as conn:
        result = conn.execute(_J.insert().values(
            kind=kind, label=label, status="queued", device=device, params=params, created_at=utcnow()))
        return int(result.inserted_primary_key[0])


def get_job(engine: Engine, job_id: int) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(select(_J).where(_J.c.id == job_id)).first()
    return dict(row._mapping) if row else None


def list_jobs(engine: Engine, *, status: str | tuple[str, ...] | None = None, device: str | None = None,
              limit: int = 100) -> list[dict]:
    """Newest first."""
    query = select(_J).order_by(_J.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(_J.c.status.in_([status] if isinstance(status, str) else list(status)))
    if device is not None:
        query = query.where(_J.c.device == device)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def next_queued(engine: Engine, device: str) -> dict | None:
    """The oldest queued job for a device (first come, first served)."""
    with engine.connect() as conn:
        row = conn.execute(select(_J).where(_J.c.status == "queued", _J.c.device == device)
                           .order_by(_J.c.id).limit(1)).first()
    return dict(row._mapping) if row else None


def mark_started(engine: Engine, job_id: int, *, run_id: int | None, log_path: str) -> bool:
    """queued -> running; False when the job is no longer queued (cancelled meanwhile)."""
    with writer(engine).begin() as conn:
        result = conn.execute(update(_J).where(_J.c.id == job_id, _J.c.status == "queued").values(
            status="running", run_id=run_id, log_path=log_path, started_at=utcnow()))
        return result.rowcount > 0


def set_pid(engine: Engine, job_id: int, pid: int) -> None:
    with writer(engine).begin() as conn:
        conn.execute(update(_J).where(_J.c.id == job_id).values(pid=pid))


def set_run(engine: Engine, job_id: int, run_id: int) -> None:
    with writer(engine).begin() as conn:
        conn.execute(update(_J).where(_J.c.id == job_id).values(run_id=run_id))


def end_job(engine: Engine, job_id: int, status: str, *, error_tail: str | None = None,
            result: dict | None = None) -> bool:
    """running/queued -> an ended status; False when it had already ended."""
    if status not in ENDED:
        raise ValueError(f"a job ends as {', '.join(ENDED)}, not {status!r}")
    with writer(engine).begin() as conn:
        res = conn.execute(update(_J).where(_J.c.id == job_id, _J.c.status.in_(["queued", "running"])).values(
            status=status, error_tail=error_tail, result=result, finished_at=utcnow()))
        return res.rowcount > 0


def request_job_cancel(engine: Engine, job_id: int) -> str | None:
    """A queued job is cancelled at once; a running one gets cancel_requested_at
    (the runner stops it). Returns the job's status after the call, None if unknown."""
    now = utcnow()
    with writer(engine).begin() as conn:
        conn.execute(update(_J).where(_J.c.id == job_id, _J.c.status == "queued").values(
            status="cancelled", cancel_requested_at=now, finished_at=now))
        conn.execute(update(_J).where(_J.c.id == job_id, _J.c.status == "running",
                                      _J.c.cancel_requested_at.is_(None)).values(cancel_requested_at=now))
        return conn.execute(select(_J.c.status).where(_J.c.id == job_id)).scalar()
