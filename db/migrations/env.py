"""Alembic environment: run on the connection that db.migrate hands over.

render_as_batch lets the same revision alter tables on SQLite, which cannot
ALTER most things in place, and on PostgreSQL."""
import os

from alembic import context
from sqlalchemy import create_engine

from db.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # e.g. `alembic revision --autogenerate` run by hand: db/ knows no study/ settings
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL (or sqlalchemy.url in alembic.ini) to run alembic by hand")
    connection = create_engine(url).connect()

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
