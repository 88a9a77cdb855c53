"""Queries for a set's conditions, its frozen model hints, who was assigned where,
and the first answers of after_first conditions (db/schema.py)."""
from __future__ import annotations

from sqlalchemy import Connection, Row, func, select, text

from db.schema import (
    Answer,
    AttentionAnswer,
    FirstAnswer,
    IgnoredClick,
    ModelHint,
    Participant,
    ShownImage,
    SurveyCondition,
    utcnow,
)
from db.survey import _all, _insert, _one, _scalar

conditions = SurveyCondition.__table__
hints = ModelHint.__table__
first_answers = FirstAnswer.__table__
participants = Participant.__table__
attention = AttentionAnswer.__table__
answers = Answer.__table__


def insert_conditions(conn: Connection, set_id: int, rows: list[dict]) -> None:
    conn.execute(conditions.insert(), [{"set_id": set_id, "position": i, **row} for i, row in enumerate(rows)])


def replace_conditions(conn: Connection, set_id: int, rows: list[dict]) -> None:
    """Before anybody consented only: previews of the old conditions are deleted with them."""
    old = select(conditions.c.id).where(conditions.c.set_id == set_id)
    previews = select(participants.c.id).where(participants.c.condition_id.in_(old))
    for table in (first_answers, attention, answers):
        conn.execute(table.delete().where(table.c.participant_id.in_(previews)))
    for table in (IgnoredClick.__table__, ShownImage.__table__):
        conn.execute(table.delete().where(table.c.participant_id.in_(previews)))
    conn.execute(participants.delete().where(participants.c.condition_id.in_(old)))
    conn.execute(conditions.delete().where(conditions.c.set_id == set_id))
    insert_conditions(conn, set_id, rows)


def delete_hints(conn: Connection, set_id: int) -> None:
    conn.execute(hints.delete().where(hints.c.set_id == set_id))


def conditions_of(engine_or_conn, set_id: int) -> list[Row]:
    query = select(conditions).where(conditions.c.set_id == set_id).order_by(conditions.c.position)
    return _all(engine_or_conn, query)


def condition_by_id(engine_or_conn, condition_id: int) -> Row | None:
    return _one(engine_or_conn, select(conditions).where(conditions.c.id == condition_id))


ASSIGNMENT_LOCK = 14  # the first key of PostgreSQL's advisory lock (the second is the set id)


def lock_assignment(conn: Connection, set_id: int) -> None:
    """Serialize assignments to one set until the transaction ends, so each consent
    counts the ones before it. SQLite's write transaction already holds the only
    write lock; PostgreSQL's consents hold the set row FOR SHARE and run side by side."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:kind, :set_id)"), {"kind": ASSIGNMENT_LOCK, "set_id": set_id})


def counted_per_condition(engine_or_conn, set_id: int, *, simulated: bool,
                          failed_checks_count: bool = True) -> dict[int, int]:
    """Participants per condition id who count for balancing: never previews or people
    who withdrew; real people, or (simulated=True) only the simulated ones among
    themselves; with failed_checks_count=False not those who failed a check."""
    query = (
        select(participants.c.condition_id, func.count())
        .where(participants.c.set_id == set_id, participants.c.is_preview.is_(False),
               participants.c.is_simulated.is_(simulated), participants.c.condition_id.is_not(None),
               participants.c.withdrawn_at.is_(None))
        .group_by(participants.c.condition_id)
    )
    if not failed_checks_count:
        failed = select(attention.c.participant_id).where(attention.c.passed.is_(False))
        query = query.where(participants.c.id.not_in(failed))
    return {int(cid): int(n) for cid, n in _all(engine_or_conn, query)}


def participants_per_condition(engine_or_conn, set_id: int) -> list[Row]:
    """(condition_id, is_simulated, is_preview, n) for the set: every group, for the researcher."""
    query = (
        select(participants.c.condition_id, participants.c.is_simulated, participants.c.is_preview,
               func.count().label("n"))
        .where(participants.c.set_id == set_id)
        .group_by(participants.c.condition_id, participants.c.is_simulated, participants.c.is_preview)
    )
    return _all(engine_or_conn, query)


def insert_hints(conn: Connection, set_id: int, rows: list[dict]) -> None:
    conn.execute(hints.insert(), [{"set_id": set_id, **row} for row in rows])


def hint_for(engine_or_conn, set_id: int, image_id: str) -> Row | None:
    query = select(hints).where(hints.c.set_id == set_id, hints.c.image_id == image_id)
    return _one(engine_or_conn, query)


def hints_of(engine_or_conn, set_id: int) -> list[Row]:
    return _all(engine_or_conn, select(hints.c.image_id, hints.c.p_ai, hints.c.verdict).where(hints.c.set_id == set_id))


def insert_first_answer(conn: Connection, values: dict) -> bool:
    """True if this call stored it; False if one was already there (kept as is)."""
    statement = _insert(conn, first_answers).values(answered_at=utcnow(), **values).on_conflict_do_nothing()
    return conn.execute(statement.returning(first_answers.c.id)).scalar_one_or_none() is not None


def first_answer_at(engine_or_conn, participant_id: int, position: int) -> Row | None:
    query = select(first_answers).where(first_answers.c.participant_id == participant_id,
                                        first_answers.c.position == position)
    return _one(engine_or_conn, query)


def delete_first_answers(conn: Connection, participant_ids) -> None:
    conn.execute(first_answers.delete().where(first_answers.c.participant_id.in_(participant_ids)))


# --- attention checks -----------------------------------------------------------

def insert_attention_answer(conn: Connection, values: dict) -> bool:
    statement = _insert(conn, attention).values(answered_at=utcnow(), **values).on_conflict_do_nothing()
    return conn.execute(statement.returning(attention.c.id)).scalar_one_or_none() is not None


def attention_answers_of(engine_or_conn, participant_id: int) -> list[Row]:
    query = select(attention).where(attention.c.participant_id == participant_id).order_by(attention.c.ordinal)
    return _all(engine_or_conn, query)


def count_attention_answers(engine_or_conn, participant_id: int) -> int:
    query = select(func.count()).select_from(attention).where(attention.c.participant_id == participant_id)
    return _scalar(engine_or_conn, query)


def exclusion_facts(engine_or_conn, set_id: int) -> list[dict]:
    """Per participant of the set (not withdrawn): id, completed, failed checks and
    the response times of their answers: what the exclusion rules look at."""
    people = _all(engine_or_conn, select(participants.c.id, participants.c.completed_at)
                  .where(participants.c.set_id == set_id, participants.c.withdrawn_at.is_(None)))
    failed = dict(_all(engine_or_conn, select(attention.c.participant_id, func.count())
                       .where(attention.c.passed.is_(False)).group_by(attention.c.participant_id)))
    times: dict[int, list[int]] = {}
    for pid, ms in _all(engine_or_conn, select(answers.c.participant_id, answers.c.response_ms)
                        .join(participants, participants.c.id == answers.c.participant_id)
                        .where(participants.c.set_id == set_id)):
        times.setdefault(int(pid), []).append(int(ms))
    return [{"id": int(p.id), "completed": p.completed_at is not None, "failed_checks": int(failed.get(p.id, 0)),
             "response_ms": times.get(int(p.id), [])} for p in people]


# --- feedback after each answer ----------------------------------------------------

def mark_feedback_seen(conn: Connection, participant_id: int, position: int) -> bool:
    """True if this call moved the person on; False if they already had."""
    result = conn.execute(answers.update().where(answers.c.participant_id == participant_id,
                                                 answers.c.position == position,
                                                 answers.c.feedback_seen_at.is_(None))
                          .values(feedback_seen_at=utcnow()))
    return result.rowcount == 1


def attention_counts(engine_or_conn, set_id: int) -> dict[int, tuple[int, int]]:
    """{participant id: (checks passed, checks failed)} for the set's participants who answered a check."""
    query = (select(attention.c.participant_id, attention.c.passed, func.count())
             .join(participants, participants.c.id == attention.c.participant_id)
             .where(participants.c.set_id == set_id)
             .group_by(attention.c.participant_id, attention.c.passed))
    out: dict[int, list[int]] = {}
    for pid, passed, n in _all(engine_or_conn, query):
        out.setdefault(int(pid), [0, 0])[0 if passed else 1] += int(n)
    return {pid: (counts[0], counts[1]) for pid, counts in out.items()}


def rewrite_simulated_first_answers(conn: Connection, participant_id: int, by_position: dict[int, tuple[int, object]]
                                    ) -> None:
    """Set a SIMULATED participant's first answers' response times (ms) and answered_at,
    by position. Refuses a real participant: their server-measured times are evidence."""
    flag = conn.execute(select(participants.c.is_simulated).where(participants.c.id == participant_id)).scalar()
    if not flag:
        raise RuntimeError("refusing to rewrite the response times of a real participant")
    for position, (ms, answered_at) in by_position.items():
        conn.execute(first_answers.update().where(first_answers.c.participant_id == participant_id,
                                                  first_answers.c.position == position)
                     .values(response_ms=int(ms), answered_at=answered_at))
