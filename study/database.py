"""The study's database for code outside Streamlit (CLI, background jobs): STUDY_HOME
made if missing, the schema created or upgraded on first use in the process."""
from __future__ import annotations

from sqlalchemy import Engine

from db import open_database
from study.config import ensure_home


def study_engine() -> Engine:
    return open_database(ensure_home().database_url)
