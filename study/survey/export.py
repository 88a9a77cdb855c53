"""The researcher's export of a set's answers: one CSV row per answer, and the
files that travel with every CSV export (in the spirit of psych-DS):

- `NAME.dictionary.csv`, the data dictionary: one row per column of the export
  (column, type, meaning); types are Frictionless Table Schema's (integer,
  number, string, boolean written 1/0, datetime in ISO 8601 UTC); an empty cell
  is a missing value;
- `NAME.txt`, the description: which set (source, split, size, seed, design), its
  conditions and what each showed, the model whose hints were shown, its attention
  checks and pre-registered exclusion rules, who is marked rather than left out
  (simulated participants, previews), and how many withdrew.

People who withdrew are in no export: their answers were deleted when they
withdrew, and a row saying that somebody took part and left would keep what
they asked to take back; the description counts them, so the numbers add up.

The response time is measured on the server, and the column name says so
wherever the CSV goes."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

import db.survey as q
from study.errors import StudyError
from study.labels import ANSWER_NAMES, CLASS_NAMES, FAKE, REAL
from study.survey.checks import ExclusionRules
from study.survey.sets import summary


@dataclass(frozen=True)
class Column:
    type: str  # Frictionless Table Schema: integer | number | string | boolean | datetime
    meaning: str


ANSWER_CODES = f"{REAL} = '{ANSWER_NAMES[REAL]}', {FAKE} = '{ANSWER_NAMES[FAKE]}'"

# The CSV's columns in order. New columns go at the end, so that a reader that
# counts columns keeps working.
COLUMNS = {
    "participant_id": Column("integer", "internal participant number (not the link token, which is a secret); "
                                        "people who withdrew are in no export (their answers were deleted; the "
                                        "description file beside this one counts them)"),
    "prolific_pid": Column("string", "Prolific's PROLIFIC_PID from the link, if any"),
    "study_id": Column("string", "Prolific's STUDY_ID, if any"),
    "session_id": Column("string", "Prolific's SESSION_ID, if any"),
    "age_band": Column("string", "optional question; empty = skipped"),
    "ai_exposure": Column("string", "optional question (how often they see AI images); empty = skipped"),
    "is_simulated": Column("boolean", "1 = a simulated participant, not a person (left out of results unless "
                                      "asked for)"),
    "participant_completed": Column("boolean", "1 = this participant answered every image"),
    "position": Column("integer", "1-based order in which this participant saw the image"),
    "image_id": Column("string", "dataset-relative path of the image (never shown to participants)"),
    "label": Column("integer", f"{REAL} = {CLASS_NAMES[REAL]} photo, {FAKE} = {CLASS_NAMES[FAKE]} (AI-generated)"),
    "answer": Column("integer", f"the (final) answer: {ANSWER_CODES}"),
    "correct": Column("boolean", "1 = answer equals label (computed on the server from the stored label)"),
    "confidence": Column("integer", "optional 1 (guess) - 5 (certain), given with the (final) answer; "
                                    "empty = not given"),
    "response_ms_server": Column("integer", (
        "milliseconds measured ON THE SERVER from the first time the image was sent to the participant "
        "(a reload does not restart the clock) to the moment the (final) answer reached the server; includes "
        "network and page-rendering time, and in after_first conditions the first answer and the time spent "
        "on the hint")),
    "shown_at": Column("datetime", "UTC time the image was first sent"),
    "answered_at": Column("datetime", "UTC time the (final) answer was committed"),
    "paused_ms": Column("integer", "milliseconds the set was closed while this image waited for its answer; "
                                   "already subtracted from response_ms_server"),
    "condition": Column("string", "name of the condition the participant was assigned to (what each condition "
                                  "showed: the description file beside this one); empty = none recorded"),
    "is_preview": Column("boolean", "1 = a researcher previewing a condition, not a participant: never counted "
                                    "in any result or in the balancing of conditions"),
    "hint_verdict": Column("integer", f"the model's verdict shown before the final answer: {ANSWER_CODES}; "
                                      "empty = no hint was shown"),
    "hint_p_ai": Column("number", "the model's P(AI-generated) shown with that verdict; empty = no hint was shown"),
    "initial_answer": Column("integer", f"after_first conditions: the answer given before the hint was shown "
                                        f"({ANSWER_CODES}); empty in other conditions"),
    "first_response_ms_server": Column("integer", "after_first conditions: milliseconds, measured on the server "
                                                  "as response_ms_server, from the image first sent to the "
                                                  "first answer's arrival; empty in other conditions"),
}


# --- the files beside every CSV export ---------------------------------------------

def dictionary_csv(columns: dict[str, Column]) -> str:
    """The data dictionary of an export: column, type, meaning, one row per column."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["column", "type", "meaning"])
    for name, column in columns.items():
        writer.writerow([name, column.type, column.meaning])
    return out.getvalue()


def set_description(engine: Engine, set_id: int) -> str:
    """What a reader of an export needs to know about the set: its draw, its
    conditions and the model whose hints were shown."""
    info = summary(engine, set_id)
    row = q.get_set(engine, set_id)
    lines = [
        f"survey set {info.id}: {info.name} (source {info.source}, split {info.split}, size {info.size}, "
        f"seed {info.seed}, design {info.design}" + (f", pool {info.pool_size}" if info.pool_size else "") + ")",
    ]
    if info.conditions:
        lines.append("conditions (participants were assigned at consent to the one with the fewest counted "
                     "participants):")
        for c in info.conditions:
            display = "unlimited" if c["display_ms"] is None else f"{c['display_ms']} ms"
            lines.append(f"  {c['name']}: hint {c['hint']}, hint_timing {c['hint_timing']}, feedback "
                         f"{c['feedback']}, display {display} ({c['shows']})")
    if info.hint_run_id is not None:
        lines.append(f"hints: training run {info.hint_run_id}, checkpoint sha256 {row.hint_checkpoint_sha256}; "
                     "computed once when the set was made, the same for everyone in a hinted condition")
    rules = ExclusionRules.from_dict(info.exclusion_rules)
    lines.append(f"attention checks: {info.attention_checks} per participant (never scored); pre-registered "
                 f"exclusion rules (fixed before anybody consented): the set {rules.describe()}"
                 + (f" (failed_checks {rules.failed_checks}, speeder_ms {rules.speeder_ms}, incomplete "
                    f"{rules.incomplete})" if rules != ExclusionRules() else ""))
    lines.append("marked, not left out: simulated participants (is_simulated = 1) and researchers' previews "
                 "(is_preview = 1); results never count previews and count simulated participants only when "
                 "asked")
    lines.append(f"withdrew: {info.withdrawn} participant(s); their answers were deleted and they are in no export")
    return "\n".join(lines) + "\n"


def data_dictionary(engine: Engine, set_id: int) -> str:
    """The set's description and the answers' columns in one text (the .txt download)."""
    return (set_description(engine, set_id) + "\n"
            + "\n".join(f"{name}: {column.meaning}" for name, column in COLUMNS.items()) + "\n")


@dataclass(frozen=True)
class ExportFiles:
    csv: Path
    dictionary: Path
    description: Path

    def as_dict(self) -> dict:
        return {"csv": str(self.csv), "dictionary": str(self.dictionary), "description": str(self.description)}


def export_paths(out: Path) -> ExportFiles:
    """`answers.csv` -> answers.dictionary.csv and answers.txt beside it."""
    stem = out.name[:-len(out.suffix)] if out.suffix else out.name
    return ExportFiles(out, out.with_name(f"{stem}.dictionary.csv"), out.with_name(f"{stem}.txt"))


def write_export(out: Path, text: str, columns: dict[str, Column], description: str) -> ExportFiles:
    """Write a CSV export with its data dictionary and description beside it."""
    files = export_paths(Path(out))
    try:
        files.csv.parent.mkdir(parents=True, exist_ok=True)
        files.csv.write_text(text)
        files.dictionary.write_text(dictionary_csv(columns))
        files.description.write_text(description + f"\ncolumn meanings: {files.dictionary.name} "
                                                   "(column, type, meaning)\n")
    except OSError as err:
        raise StudyError(f"cannot write {out}: {err.strerror or err}") from None
    return files


# --- the answers -------------------------------------------------------------------

def answers_csv(engine: Engine, set_id: int) -> str:
    summary(engine, set_id)  # a clear error for an unknown set
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    blank = lambda value: "" if value is None else value  # noqa: E731
    for row in q.export_rows(engine, set_id):
        writer.writerow([
            row.participant_id, row.prolific_pid or "", row.study_id or "", row.session_id or "",
            row.age_band or "", row.ai_exposure or "", int(bool(row.is_simulated)),
            int(row.completed_at is not None), row.position, row.image_id, row.label, row.answer,
            int(bool(row.correct)), blank(row.confidence), row.response_ms,
            q.as_utc(row.shown_at).isoformat(), q.as_utc(row.answered_at).isoformat(), row.paused_ms,
            blank(row.condition), int(bool(row.is_preview)), blank(row.hint_verdict),
            "" if row.hint_p_ai is None else repr(float(row.hint_p_ai)), blank(row.initial_answer),
            blank(row.first_response_ms),
        ])
    return out.getvalue()


def write_answers(engine: Engine, set_id: int, out: Path) -> tuple[ExportFiles, int]:
    """The answers export of a set with its dictionary and description: (files, rows)."""
    text = answers_csv(engine, set_id)
    return write_export(out, text, COLUMNS, set_description(engine, set_id)), text.count("\n") - 1
