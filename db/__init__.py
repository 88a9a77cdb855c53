"""Persistence: SQLAlchemy engine, schema and migrations. Imports no Streamlit and
nothing from study/."""
from __future__ import annotations

import threading

from sqlalchemy import Engine

from db.engine import get_engine
from db.migrate import upgrade

_ready: set[str] = set()
_ready_lock = threading.Lock()


def open_database(url: str) -> Engine:
    """The shared engine for url, with the schema created or upgraded on first use."""
    engine = get_engine(url)
    with _ready_lock:
        if url not in _ready:
            upgrade(engine)
            _ready.add(url)
    return engine
