"""The researcher's export of a set's answers: one CSV row per answer, plus a
data dictionary that travels with it (the response time is measured on the
server, and the column name says so wherever the CSV goes)."""
from __future__ import annotations

import csv
import io

from sqlalchemy import Engine

import db.survey as q
from study.labels import ANSWER_NAMES, CLASS_NAMES, FAKE, REAL
from study.survey.sets import summary

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
    "label": f"{REAL} = {CLASS_NAMES[REAL]} photo, {FAKE} = {CLASS_NAMES[FAKE]} (AI-generated)",
    "answer": f"{REAL} = answered '{ANSWER_NAMES[REAL]}', {FAKE} = answered '{ANSWER_NAMES[FAKE]}'",
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
