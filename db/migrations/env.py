"""Alembic environment: run on the connection that db.migrate hands over.

render_as_batch lets the same revision alter tables on SQLite, which cannot
ALTER most things in place, and on PostgreSQL."""
from alembic import context

from db.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # e.g. `alembic revision --autogenerate` run by hand
    from sqlalchemy import create_engine

    from study.config import get_settings

    connection = create_engine(get_settings().database_url).connect()

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
