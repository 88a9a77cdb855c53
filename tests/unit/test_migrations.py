"""The schema as the migrations build it: the same as db/schema.py says, and a
study's database from before study conditions upgraded in place, its people kept."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

import db.migrate as migrate
from db.engine import make_engine
from db.schema import Base
from study.config import get_settings


def _upgrade_to(engine, revision: str) -> None:
    cfg = migrate._config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def test_the_migrations_build_exactly_the_declared_schema(study_home, backend):
    engine = make_engine(get_settings().database_url)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert differences == []


def test_a_set_from_before_conditions_gets_one_control_condition_and_keeps_its_people(study_home, backend):
    engine = make_engine(get_settings().database_url)
    _upgrade_to(engine, "0005")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO survey_set (id, name, source, fingerprint, split, size, seed, design, consent_text, "
            "status, is_demo, exclude_sets, created_at) VALUES (1, 'old', 'demo', 'f', 'test', 2, 0, 'fixed', "
            "'ok', 'open', true, '[]', CURRENT_TIMESTAMP)"))
        conn.execute(text(
            "INSERT INTO participant (id, token, set_id, consented_at, image_order, is_simulated) "
            "VALUES (7, 'tok', 1, CURRENT_TIMESTAMP, '[]', false)"))
    migrate.upgrade(engine)
    with engine.connect() as conn:
        conditions = conn.execute(text("SELECT id, name, hint, feedback FROM survey_condition")).all()
        person = conn.execute(text("SELECT condition_id, is_preview FROM participant WHERE id = 7")).one()
    assert [(name, hint, feedback) for _, name, hint, feedback in conditions] == [("control", "none", "end")]
    assert person.condition_id == conditions[0].id and not person.is_preview
