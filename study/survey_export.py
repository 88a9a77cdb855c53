"""The researcher's export of a set's answers: one CSV row per answer, plus a
data dictionary that travels with it (the response time is measured on the
server, and the column name says so wherever the CSV goes)."""
from __future__ import annotations

import csv
import io

from sqlalchemy import Engine

import db.survey as q
from study.survey_sets import summary

COLUMNS = {
    "participant_id": "internal participant number (not the link token, which is a secret)",
    "prolific_pid": "Prolific's PROLIFIC_PID from the link, if any",
    "study_id": "Prolific's STUDY_ID, if any",
    "session_id": "Prolific's SESSION_ID, if any",
    "age_band": "optional question; empty = skipped",
    "ai_exposure": "optional question (how often they see AI images); empty = skipped",
    "is_simulated": "1 = a simulated participant, not a person",
    "participant_completed": "1 = this participant answered every image",
    "position": "1-based order in which this participant saw the image",
    "image_id": "dataset-relative path of the image (never shown to participants)",
    "label": "0 = REAL photo, 1 = FAKE (AI-generated)",
    "answer": "0 = answered 'Real photo', 1 = answered 'AI-generated'",
    "correct": "1 = answer equals label (computed on the server from the stored label)",
    "confidence": "optional 1 (guess) - 5 (certain); empty = not given",
    "response_ms_server": (
        "milliseconds measured ON THE SERVER from the first time the image was sent to the participant "
        "(a reload does not restart the clock) to the moment the answer reached the server; includes "
        "network and page-rendering time"
    ),
    "shown_at": "UTC time the image was first sent",
    "answered_at": "UTC time the answer was committed",
    "paused_ms": "milliseconds the set was closed while this image waited for its answer; already "
                 "subtracted from response_ms_server",
}


def data_dictionary(engine: Engine, set_id: int) -> str:
    info = summary(engine, set_id)
    lines = [
        f"survey set {info.id}: {info.name} (source {info.source}, split {info.split}, size {info.size}, "
        f"seed {info.seed}, design {info.design}" + (f", pool {info.pool_size}" if info.pool_size else "") + ")",
        "",
    ]
    lines += [f"{name}: {meaning}" for name, meaning in COLUMNS.items()]
    return "\n".join(lines) + "\n"


def answers_csv(engine: Engine, set_id: int) -> str:
    summary(engine, set_id)  # a clear error for an unknown set
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in q.export_rows(engine, set_id):
        writer.writerow([
            row.participant_id, row.prolific_pid or "", row.study_id or "", row.session_id or "",
            row.age_band or "", row.ai_exposure or "", int(bool(row.is_simulated)),
            int(row.completed_at is not None), row.position, row.image_id, row.label, row.answer,
            int(bool(row.correct)), "" if row.confidence is None else row.confidence, row.response_ms,
            q.as_utc(row.shown_at).isoformat(), q.as_utc(row.answered_at).isoformat(), row.paused_ms,
        ])
    return out.getvalue()


# --- participants: one row per person who consented (issue #6) -----------------

PARTICIPANT_COLUMNS = {
    "participant_id": COLUMNS["participant_id"],
    "prolific_pid": COLUMNS["prolific_pid"],
    "study_id": COLUMNS["study_id"],
    "session_id": COLUMNS["session_id"],
    "age_band": COLUMNS["age_band"],
    "ai_exposure": COLUMNS["ai_exposure"],
    "is_simulated": COLUMNS["is_simulated"],
    "completed": "1 = answered every image of the set",
    "consented_at": "UTC time of consent",
    "started_at": "UTC time the first image was requested; empty = never started",
    "completed_at": "UTC time the last answer was committed; empty = not completed",
    "saw_first_image": "1 = the first image was sent to them (counted as started)",
    "consent_hash": "sha256 of the consent text they saw and agreed to (texts listed at the end of this file); "
                    "empty = consented before versions were recorded",
    "ignored_clicks": "clicks the survey did not act on: too soon after a page appeared (a double click), "
                      "an image already answered in another window, or after the set closed",
    "answered": "number of answers stored",
    "correct": "number of right answers (the score, for a completed participant)",
    "accuracy_real": "share right among this participant's REAL images",
    "accuracy_fake": "share right among this participant's FAKE images",
    "hits": "answered 'AI-generated' to a FAKE image",
    "false_alarms": "answered 'AI-generated' to a REAL image",
    "dprime": "d' = z(H) - z(F), log-linear correction (Hautus 1995): H = (hits + 0.5) / (FAKE + 1), "
              "F = (false alarms + 0.5) / (REAL + 1)",
    "criterion": "c = -(z(H) + z(F)) / 2, same correction; > 0 leans towards 'Real photo'",
    "binomial_p": "one-sided exact binomial p of `correct` or more right out of `answered` by guessing",
    "median_response_ms_server": "median of this participant's response_ms_server (see the answers export)",
}


def participants_csv(engine: Engine, set_id: int) -> str:
    """One row per participant of the set, with their score and d'."""
    from study.analysis import load_answers, load_participants
    from study.analysis_scores import per_participant

    summary(engine, set_id)
    people = load_participants(engine, set_id).merge(
        per_participant(load_answers(engine, set_id)), on="participant_id", how="left")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PARTICIPANT_COLUMNS)
    for row in people.itertuples(index=False):
        writer.writerow([
            row.participant_id, _text(row.prolific_pid), _text(row.study_id), _text(row.session_id),
            _text(row.age_band), _text(row.ai_exposure), int(bool(row.is_simulated)), int(bool(row.completed)),
            _text(row.consented_at), _text(row.started_at), _text(row.completed_at),
            int(bool(row.saw_first_image)), _text(row.consent_hash), int(row.ignored_clicks),
            _int(row.answered), _int(row.correct), _float(row.accuracy_real), _float(row.accuracy_fake),
            _int(row.hits), _int(row.false_alarms), _float(row.dprime), _float(row.criterion),
            _float(row.binomial_p), _float(row.median_response_ms),
        ])
    return out.getvalue()


def participants_dictionary(engine: Engine, set_id: int) -> str:
    head = data_dictionary(engine, set_id).split("\n\n", 1)[0]
    texts = [f"--- consent text {row.hash} ---\n{row.text}" for row in q.consent_texts_of_set(engine, set_id)]
    return (head + "\n\n" + "\n".join(f"{k}: {v}" for k, v in PARTICIPANT_COLUMNS.items()) + "\n\n"
            + ("\n\n".join(texts) if texts else "no consent text recorded yet") + "\n")


def _text(value) -> str:
    return "" if value is None or value != value else str(value)  # None or NaN (pandas' missing text)


def _int(value) -> str:
    return "0" if value is None or value != value else str(int(value))  # NaN: never answered


def _float(value) -> str:
    return "" if value is None or value != value else repr(float(value))


# --- the database itself --------------------------------------------------------

def database_copy(database_url: str, out) -> int:
    """A consistent copy of the SQLite study database at `out` (SQLite's backup
    API, safe while the app is writing); returns its size in bytes. For a
    PostgreSQL database say to use pg_dump."""
    import sqlite3
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from study.errors import StudyError

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise StudyError(
            f"the database is {url.get_backend_name()}, not a file: copy it with its own tools, "
            f"e.g. `pg_dump --format=custom --file=study.dump --host={url.host or 'localhost'} "
            f"--username={url.username or 'USER'} {url.database or 'DBNAME'}`"
        )
    if not url.database or url.database == ":memory:" or not Path(url.database).is_file():
        raise StudyError(f"there is no SQLite database file at {url.database!r}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(url.database, timeout=15)
    target = sqlite3.connect(out)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return out.stat().st_size


def database_bytes(database_url: str) -> bytes:
    """The same copy, as bytes for a download button."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "study.db"
        database_copy(database_url, path)
        return path.read_bytes()
