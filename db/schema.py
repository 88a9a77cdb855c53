"""The tables. Every change to them is an Alembic revision in db/migrations/versions,
so a running study's database is upgraded in place, never recreated."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, DateTime, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so that migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Setting(Base):
    """Small key/value choices a researcher makes in the app (e.g. the dataset source)."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class PreparedDataset(Base):
    """A dataset source decoded into the array cache, with its report."""

    __tablename__ = "prepared_dataset"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(Text)
    n_images: Mapped[int] = mapped_column(Integer)
    cache_path: Mapped[str] = mapped_column(Text)
    report: Mapped[dict] = mapped_column(JSON)
    prepared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
