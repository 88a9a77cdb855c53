"""Training-run records: created when a training starts, updated once per
epoch, finished with status and metrics. The training page reads them and
cancels a run by setting cancel_requested, which the training loop polls.

Plain SQLAlchemy Core on the TrainingRun table, so SQLite and PostgreSQL
behave alike; writes go through db.engine.writer (BEGIN IMMEDIATE on SQLite)."""
from __future__ import annotations

from sqlalchemy import Engine, select, update

from db.engine import writer
from db.schema import TrainingRun, utcnow

STATUSES = ("running", "finished", "failed", "cancelled")
_T = TrainingRun.__table__


def _as_dict(row) -> dict:
    return dict(row._mapping)


def create_run(engine: Engine, model: str, config: dict, *, dataset_fingerprint: str | None = None,
               dataset_source: str | None = None, device: str | None = None) -> int:
    now = utcnow()
    with writer(engine).begin() as conn:
        result = conn.execute(_T.insert().values(
            model=model, status="running", config=config, history=[], metrics=None,
            dataset_fingerprint=dataset_fingerprint, dataset_source=dataset_source, device=device,
            cancel_requested=False, created_at=now, updated_at=now,
        ))
        return int(result.inserted_primary_key[0])


def record_epoch(engine: Engine, run_id: int, epoch: dict) -> None:
    """Append one {epoch, train_loss, train_acc, val_loss, val_acc, seconds} record."""
    with writer(engine).begin() as conn:
        history = conn.execute(select(_T.c.history).where(_T.c.id == run_id)).scalar_one()
        conn.execute(update(_T).where(_T.c.id == run_id)
                     .values(history=list(history or []) + [dict(epoch)], updated_at=utcnow()))


def set_device(engine: Engine, run_id: int, device: str) -> None:
    with writer(engine).begin() as conn:
        conn.execute(update(_T).where(_T.c.id == run_id).values(device=device, updated_at=utcnow()))


def finish_run(engine: Engine, run_id: int, status: str, *, metrics: dict | None = None,
               checkpoint_path: str | None = None, error: str | None = None) -> None:
    if status not in STATUSES or status == "running":
        raise ValueError(f"a run finishes as finished, failed or cancelled, not {status!r}")
    now = utcnow()
    with writer(engine).begin() as conn:
        conn.execute(update(_T).where(_T.c.id == run_id).values(
            status=status, metrics=metrics, checkpoint_path=checkpoint_path, error=error,
            updated_at=now, finished_at=now,
        ))


def get_run(engine: Engine, run_id: int) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(select(_T).where(_T.c.id == run_id)).first()
    return _as_dict(row) if row else None


def list_runs(engine: Engine, *, status: str | None = None, limit: int = 100) -> list[dict]:
    """Newest first."""
    query = select(_T).order_by(_T.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(_T.c.status == status)
    with engine.connect() as conn:
        return [_as_dict(row) for row in conn.execute(query)]


def request_cancel(engine: Engine, run_id: int) -> bool:
    """Ask a running run to stop; False when it is not running (or unknown)."""
    with writer(engine).begin() as conn:
        result = conn.execute(update(_T).where(_T.c.id == run_id, _T.c.status == "running")
                              .values(cancel_requested=True, updated_at=utcnow()))
        return result.rowcount > 0


def cancel_requested(engine: Engine, run_id: int) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(select(_T.c.cancel_requested).where(_T.c.id == run_id)).scalar())
