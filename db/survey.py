"""Queries for survey sets, participants, shown images and answers (db/schema.py).

Reads take an Engine. Writes that must decide and write atomically (an answer
is validated against the participant's progress in the same transaction that
stores it) take the Connection of a `write_transaction`, so the rules live in
study/ and the SQL lives here. Rows come back as SQLAlchemy Rows (attribute access).
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import Connection, Engine, Row, func, select
from sqlalchemy.dialects import postgresql, sqlite

from db.engine import writer
from db.schema import (
    Answer,
    AttentionAnswer,
    ConsentText,
    FirstAnswer,
    IgnoredClick,
    Participant,
    SetClosure,
    ShownImage,
    SurveyCondition,
    SurveyImage,
    SurveySet,
    utcnow,
)

sets = SurveySet.__table__
images = SurveyImage.__table__
participants = Participant.__table__
shown = ShownImage.__table__
answers = Answer.__table__
consent_texts = ConsentText.__table__
ignored_clicks = IgnoredClick.__table__
closures = SetClosure.__table__


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One committed-or-nothing transaction holding SQLite's write lock from BEGIN."""
    with writer(engine).begin() as conn:
        yield conn


def as_utc(moment: datetime) -> datetime:
    """SQLite hands DateTime(timezone=True) back naive; we only ever store UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _insert(conn: Connection, table):
    """INSERT that can say ON CONFLICT DO NOTHING on both SQLite and PostgreSQL."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


# --- sets ---------------------------------------------------------------------

def get_set(engine_or_conn, set_id: int) -> Row | None:
    return _one(engine_or_conn, select(sets).where(sets.c.id == set_id))


def get_open_set(engine_or_conn, *, lock: bool = False) -> Row | None:
    """The open set. lock=True (inside a write) holds its row against a concurrent
    consent-text edit or close on PostgreSQL until the transaction ends."""
    query = select(sets).where(sets.c.status == "open")
    if lock and isinstance(engine_or_conn, Connection):
        query = query.with_for_update(read=True)
    return _one(engine_or_conn, query)


def any_set(engine_or_conn) -> bool:
    return _one(engine_or_conn, select(sets.c.id).limit(1)) is not None


def list_sets(engine: Engine) -> list[Row]:
    with engine.connect() as conn:
        return list(conn.execute(select(sets).order_by(sets.c.id.desc())))


def insert_set(conn: Connection, values: dict, image_rows: list[tuple[str, int]]) -> int:
    """A new set (status from values) with its images in pool order; returns its id."""
    set_id = conn.execute(sets.insert().values(created_at=utcnow(), **values)).inserted_primary_key[0]
    conn.execute(
        images.insert(),
        [
            {"set_id": set_id, "image_id": image_id, "label": int(label), "pool_position": i}
            for i, (image_id, label) in enumerate(image_rows)
        ],
    )
    return set_id


def set_status(conn: Connection, set_id: int, status: str) -> None:
    """Move a set to status; a close opens a closure span, a reopen ends it."""
    now = utcnow()
    stamp = {"open": {"opened_at": now, "closed_at": None}, "closed": {"closed_at": now}}
    conn.execute(sets.update().where(sets.c.id == set_id).values(status=status, **stamp.get(status, {})))
    if status == "closed":
        conn.execute(closures.insert().values(set_id=set_id, closed_at=now))
    elif status == "open":
        conn.execute(closures.update().where(closures.c.set_id == set_id, closures.c.reopened_at.is_(None))
                     .values(reopened_at=now))


def closures_of(engine_or_conn, set_id: int) -> list[tuple[datetime, datetime | None]]:
    """(closed_at, reopened_at or None while still closed) of every closure of a set."""
    query = select(closures.c.closed_at, closures.c.reopened_at).where(closures.c.set_id == set_id)
    return [(as_utc(row.closed_at), as_utc(row.reopened_at) if row.reopened_at else None)
            for row in _all(engine_or_conn, query)]


def lock_set_for_change(conn: Connection, set_id: int) -> None:
    """PostgreSQL: hold the set's row FOR UPDATE until the transaction ends, which waits
    for (and then blocks) consents, which hold it FOR SHARE. SQLite: the write lock does."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(sets.c.id).where(sets.c.id == set_id).with_for_update())


def update_set(conn: Connection, set_id: int, **values) -> None:
    conn.execute(sets.update().where(sets.c.id == set_id).values(**values))


def count_real_consents(engine_or_conn, set_id: int) -> int:
    """People (simulated ones included, researchers' previews not) who consented to a set."""
    query = select(func.count()).select_from(participants).where(
        participants.c.set_id == set_id, participants.c.is_preview.is_(False))
    return _scalar(engine_or_conn, query)


def set_consent_text(conn: Connection, set_id: int, consent_text: str) -> None:
    conn.execute(sets.update().where(sets.c.id == set_id).values(consent_text=consent_text))


def set_images(engine_or_conn, set_id: int) -> list[Row]:
    query = select(images).where(images.c.set_id == set_id).order_by(images.c.pool_position)
    return _all(engine_or_conn, query)


def set_counts(engine_or_conn, set_id: int) -> dict[str, int]:
    """For one set: people who consented, who started (saw at least the first image),
    who completed, the answers stored, and who withdrew (consented, and had what
    they answered deleted); researchers' previews apart, in `previews`."""
    everyone = select(func.count()).select_from(participants).where(participants.c.set_id == set_id)
    previews = everyone.where(participants.c.is_preview.is_(True))
    consented = everyone.where(participants.c.is_preview.is_(False))
    saw_first = select(shown.c.participant_id).where(shown.c.position == 1)
    started = consented.where(participants.c.id.in_(saw_first))
    completed = consented.where(participants.c.completed_at.is_not(None))
    withdrawn = consented.where(participants.c.withdrawn_at.is_not(None))
    n_answers = (
        select(func.count())
        .select_from(answers.join(participants, answers.c.participant_id == participants.c.id))
        .where(participants.c.set_id == set_id, participants.c.is_preview.is_(False))
    )
    return {
        "consented": _scalar(engine_or_conn, consented),
        "started": _scalar(engine_or_conn, started),
        "completed": _scalar(engine_or_conn, completed),
        "answers": _scalar(engine_or_conn, n_answers),
        "withdrawn": _scalar(engine_or_conn, withdrawn),
        "previews": _scalar(engine_or_conn, previews),
    }


def sets_with_fingerprint(engine_or_conn, fingerprint: str) -> list[int]:
    """Ids of the sets drawn from one dataset (the same image pool)."""
    query = select(sets.c.id).where(sets.c.fingerprint == fingerprint).order_by(sets.c.id)
    return [row.id for row in _all(engine_or_conn, query)]


def existing_set_ids(engine_or_conn, set_ids: list[int]) -> list[int]:
    query = select(sets.c.id).where(sets.c.id.in_(set_ids)).order_by(sets.c.id)
    return [row.id for row in _all(engine_or_conn, query)]


# --- participants ---------------------------------------------------------------

def participant_by_token(engine_or_conn, token: str) -> Row | None:
    query = select(participants).where(participants.c.token == token)
    if isinstance(engine_or_conn, Connection):
        # Inside a write: lock the participant's row, so that one participant's
        # writes (e.g. the two halves of a double click) go one at a time on
        # PostgreSQL too (SQLite's BEGIN IMMEDIATE already serialises them).
        query = query.with_for_update()
    return _one(engine_or_conn, query)


def saw_first_image(engine_or_conn, set_id: int) -> set[int]:
    """Ids of the set's participants who were shown at least the first image."""
    query = select(shown.c.participant_id).join(participants, participants.c.id == shown.c.participant_id).where(
        participants.c.set_id == set_id, shown.c.position == 1)
    return {row.participant_id for row in _all(engine_or_conn, query)}


def participant_by_prolific(engine_or_conn, set_id: int, prolific_pid: str) -> Row | None:
    query = select(participants).where(
        participants.c.set_id == set_id, participants.c.prolific_pid == prolific_pid
    )
    return _one(engine_or_conn, query)


def took_part_in(engine_or_conn, prolific_pid: str, set_ids: list[int]) -> bool:
    """Whether this PROLIFIC_PID consented to any of these sets."""
    if not set_ids:
        return False
    query = select(participants.c.id).where(
        participants.c.prolific_pid == prolific_pid, participants.c.set_id.in_(set_ids)
    ).limit(1)
    return _one(engine_or_conn, query) is not None


def insert_participant(conn: Connection, values: dict) -> int | None:
    """The new participant's id, or None when its token or (set, PROLIFIC_PID) already exists."""
    statement = _insert(conn, participants).values(consented_at=utcnow(), **values)
    result = conn.execute(statement.on_conflict_do_nothing().returning(participants.c.id))
    return result.scalar_one_or_none()


def update_participant(conn: Connection, participant_id: int, **values) -> None:
    conn.execute(participants.update().where(participants.c.id == participant_id).values(**values))


def record_consent_text(conn: Connection, digest: str, consent_text: str) -> None:
    statement = _insert(conn, consent_texts).values(hash=digest, text=consent_text, first_agreed_at=utcnow())
    conn.execute(statement.on_conflict_do_nothing())


def insert_ignored_click(conn: Connection, values: dict) -> None:
    conn.execute(ignored_clicks.insert().values(at=utcnow(), **values))


def ignored_click_counts(engine_or_conn, set_id: int) -> dict[int, int]:
    """{participant id: clicks the survey ignored} for one set's participants who have any."""
    query = (select(ignored_clicks.c.participant_id, func.count().label("n"))
             .join(participants, participants.c.id == ignored_clicks.c.participant_id)
             .where(participants.c.set_id == set_id).group_by(ignored_clicks.c.participant_id))
    return {row.participant_id: int(row.n) for row in _all(engine_or_conn, query)}


def consent_texts_of_set(engine_or_conn, set_id: int) -> list[Row]:
    """(hash, text) of every consent text the set's participants agreed to."""
    agreed = select(participants.c.consent_hash).where(participants.c.set_id == set_id)
    query = select(consent_texts.c.hash, consent_texts.c.text).where(consent_texts.c.hash.in_(agreed)).order_by(
        consent_texts.c.first_agreed_at)
    return _all(engine_or_conn, query)


def ignored_clicks_of(engine_or_conn, participant_id: int) -> list[Row]:
    query = select(ignored_clicks).where(ignored_clicks.c.participant_id == participant_id).order_by(
        ignored_clicks.c.id)
    return _all(engine_or_conn, query)


# --- shown images and answers ---------------------------------------------------

def record_shown(conn: Connection, participant_id: int, position: int) -> datetime:
    """The FIRST time this position was shown to this participant (kept on reloads)."""
    statement = _insert(conn, shown).values(participant_id=participant_id, position=position, shown_at=utcnow())
    conn.execute(statement.on_conflict_do_nothing())
    return shown_at(conn, participant_id, position)


def shown_at(engine_or_conn, participant_id: int, position: int) -> datetime | None:
    query = select(shown.c.shown_at).where(
        shown.c.participant_id == participant_id, shown.c.position == position
    )
    value = _scalar(engine_or_conn, query)
    return as_utc(value) if value is not None else None


def insert_answer(conn: Connection, values: dict) -> bool:
    """True if this call stored the answer; False if one was already there (kept as is)."""
    statement = _insert(conn, answers).values(**values).on_conflict_do_nothing()
    return conn.execute(statement.returning(answers.c.id)).scalar_one_or_none() is not None


def answer_at(engine_or_conn, participant_id: int, position: int) -> Row | None:
    query = select(answers).where(answers.c.participant_id == participant_id, answers.c.position == position)
    return _one(engine_or_conn, query)


def answers_of(engine_or_conn, participant_id: int) -> list[Row]:
    query = select(answers).where(answers.c.participant_id == participant_id).order_by(answers.c.position)
    return _all(engine_or_conn, query)


def count_answers(engine_or_conn, participant_id: int) -> int:
    query = select(func.count()).select_from(answers).where(answers.c.participant_id == participant_id)
    return _scalar(engine_or_conn, query)


def labels_of(engine_or_conn, set_id: int, image_ids: list[str]) -> dict[str, int]:
    query = select(images.c.image_id, images.c.label).where(
        images.c.set_id == set_id, images.c.image_id.in_(image_ids)
    )
    return {row.image_id: int(row.label) for row in _all(engine_or_conn, query)}


def export_rows(engine: Engine, set_id: int) -> list[Row]:
    """Every answer of a set joined with its participant, the participant's condition
    (name; None for a participant without one), the image's label and, in after_first
    conditions, the response time of the first answer (None elsewhere). Never a
    withdrawn participant's (their answers are deleted; this says so twice)."""
    conditions = SurveyCondition.__table__
    first = FirstAnswer.__table__
    query = (
        select(
            participants.c.id.label("participant_id"),
            participants.c.prolific_pid,
            participants.c.study_id,
            participants.c.session_id,
            participants.c.age_band,
            participants.c.ai_exposure,
            participants.c.is_simulated,
            participants.c.is_preview,
            conditions.c.name.label("condition"),
            participants.c.completed_at,
            answers.c.position,
            answers.c.image_id,
            images.c.label,
            answers.c.answer,
            answers.c.correct,
            answers.c.confidence,
            answers.c.response_ms,
            answers.c.shown_at,
            answers.c.answered_at,
            answers.c.paused_ms,
            answers.c.hint_verdict,
            answers.c.hint_p_ai,
            answers.c.initial_answer,
            first.c.response_ms.label("first_response_ms"),
        )
        .select_from(
            answers.join(participants, answers.c.participant_id == participants.c.id).join(
                images, (images.c.set_id == participants.c.set_id) & (images.c.image_id == answers.c.image_id)
            ).outerjoin(conditions, conditions.c.id == participants.c.condition_id).outerjoin(
                first, (first.c.participant_id == answers.c.participant_id) & (first.c.position == answers.c.position)
            )
        )
        .where(participants.c.set_id == set_id, participants.c.withdrawn_at.is_(None))
        .order_by(participants.c.id, answers.c.position)
    )
    with engine.connect() as conn:
        return list(conn.execute(query))


# --- helpers: accept an Engine (own short read) or a Connection (inside a transaction)

def participants_of_set(engine_or_conn, set_id: int) -> list[Row]:
    return _all(engine_or_conn, select(participants).where(participants.c.set_id == set_id).order_by(participants.c.id))


def rewrite_simulated_times(conn: Connection, participant_id: int, shown_at_by_position: dict[int, tuple[int, datetime]]) -> None:
    """Set a SIMULATED participant's response times (ms) and shown times, by position.
    Refuses a real participant: their server-measured times are evidence."""
    flag = conn.execute(select(participants.c.is_simulated).where(participants.c.id == participant_id)).scalar()
    if not flag:
        raise RuntimeError("refusing to rewrite the response times of a real participant")
    for position, (ms, shown_time) in shown_at_by_position.items():
        conn.execute(answers.update().where(answers.c.participant_id == participant_id,
                                            answers.c.position == position).values(response_ms=ms, shown_at=shown_time))
        conn.execute(shown.update().where(shown.c.participant_id == participant_id,
                                          shown.c.position == position).values(shown_at=shown_time))


def delete_simulated(conn: Connection) -> tuple[int, int]:
    """Delete every simulated participant with their answers: (participants, answers)."""
    simulated = select(participants.c.id).where(participants.c.is_simulated.is_(True))
    n_answers = conn.execute(answers.delete().where(answers.c.participant_id.in_(simulated))).rowcount
    conn.execute(shown.delete().where(shown.c.participant_id.in_(simulated)))
    conn.execute(ignored_clicks.delete().where(ignored_clicks.c.participant_id.in_(simulated)))
    conn.execute(FirstAnswer.__table__.delete().where(FirstAnswer.__table__.c.participant_id.in_(simulated)))
    conn.execute(AttentionAnswer.__table__.delete().where(AttentionAnswer.__table__.c.participant_id.in_(simulated)))
    n_people = conn.execute(participants.delete().where(participants.c.is_simulated.is_(True))).rowcount
    return int(n_people), int(n_answers)


def withdraw_participant(conn: Connection, participant_id: int) -> int:
    """Delete everything a participant answered and said about themselves; the row
    keeps that they took part in a condition and withdrew. Returns the answers deleted."""
    n_answers = conn.execute(answers.delete().where(answers.c.participant_id == participant_id)).rowcount
    for table in (FirstAnswer.__table__, AttentionAnswer.__table__, shown, ignored_clicks):
        conn.execute(table.delete().where(table.c.participant_id == participant_id))
    conn.execute(participants.update().where(participants.c.id == participant_id).values(
        withdrawn_at=utcnow(), prolific_pid=None, study_id=None, session_id=None, age_band=None,
        ai_exposure=None, device_class=None, completion_code=None, image_order=[], check_positions=[],
        questions_at=None, started_at=None, completed_at=None))
    return int(n_answers)


def participant_by_code(engine_or_conn, code: str) -> Row | None:
    return _one(engine_or_conn, select(participants).where(participants.c.completion_code == code))


def _run(engine_or_conn, fn):
    if isinstance(engine_or_conn, Connection):
        return fn(engine_or_conn)
    with engine_or_conn.connect() as conn:
        return fn(conn)


def _one(engine_or_conn, query) -> Row | None:
    return _run(engine_or_conn, lambda conn: conn.execute(query).first())


def _all(engine_or_conn, query) -> list[Row]:
    return _run(engine_or_conn, lambda conn: list(conn.execute(query)))


def _scalar(engine_or_conn, query):
    return _run(engine_or_conn, lambda conn: conn.execute(query).scalar())
