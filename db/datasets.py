"""Queries for researcher settings and prepared datasets (tables in db/schema.py)."""
from __future__ import annotations

from sqlalchemy import Engine, select

from db.engine import writer
from db.schema import PreparedDataset, Setting, utcnow


def get_setting(engine: Engine, key: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(Setting.value).where(Setting.key == key)).scalar_one_or_none()


def set_setting(engine: Engine, key: str, value: str) -> None:
    # BEGIN IMMEDIATE makes read-then-write safe against a second writer.
    with writer(engine).begin() as conn:
        exists = conn.execute(select(Setting.key).where(Setting.key == key)).first()
        if exists:
            conn.execute(Setting.__table__.update().where(Setting.key == key).values(value=value, updated_at=utcnow()))
        else:
            conn.execute(Setting.__table__.insert().values(key=key, value=value, updated_at=utcnow()))


def record_prepared(engine: Engine, fingerprint: str, source: str, n_images: int, cache_path: str, report: dict) -> None:
    """Insert, or refresh the row of a fingerprint prepared before (it becomes the latest)."""
    values = dict(source=source, n_images=int(n_images), cache_path=str(cache_path), report=report, prepared_at=utcnow())
    table = PreparedDataset.__table__
    with writer(engine).begin() as conn:
        exists = conn.execute(select(table.c.id).where(table.c.fingerprint == fingerprint)).first()
        if exists:
            conn.execute(table.update().where(table.c.fingerprint == fingerprint).values(**values))
        else:
            conn.execute(table.insert().values(fingerprint=fingerprint, **values))


def latest_prepared(engine: Engine) -> dict | None:
    table = PreparedDataset.__table__
    query = select(table).order_by(table.c.prepared_at.desc(), table.c.id.desc()).limit(1)
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None
