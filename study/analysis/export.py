"""The participants export: one CSV row per person who consented to a set and did
not withdraw, with their condition, score, d', device class, attention checks,
the pre-registered exclusion rules that leave them out, and paradata; its data
dictionary and a description that lists the consent texts they agreed to travel
with it (study.survey.export). People who withdrew are left out entirely (see
study.survey.export), not flagged: the description file counts them."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import Engine

import db.survey as q
from study.analysis.results import load_answers, load_participants, rule_exclusions
from study.analysis.scores import per_participant
from study.labels import ANSWER_NAMES, CLASS_NAMES, FAKE, REAL
from study.survey.checks import ExclusionRules
from study.survey.device import DEVICE_CLASSES
from study.survey.export import COLUMNS, Column, ExportFiles, set_description, write_export
from study.survey.sets import summary

PARTICIPANT_COLUMNS = {  # in order; new columns go at the end
    "participant_id": COLUMNS["participant_id"],
    "prolific_pid": COLUMNS["prolific_pid"],
    "study_id": COLUMNS["study_id"],
    "session_id": COLUMNS["session_id"],
    "age_band": COLUMNS["age_band"],
    "ai_exposure": COLUMNS["ai_exposure"],
    "is_simulated": COLUMNS["is_simulated"],
    "completed": Column("boolean", "1 = answered every image of the set"),
    "consented_at": Column("datetime", "UTC time of consent"),
    "started_at": Column("datetime", "UTC time the first image was requested; empty = never started"),
    "completed_at": Column("datetime", "UTC time the last answer was committed; empty = not completed"),
    "saw_first_image": Column("boolean", "1 = the first image was sent to them (counted as started)"),
    "consent_hash": Column("string", "sha256 of the consent text they saw and agreed to (texts listed in the "
                                     "description file beside this one); empty = consented before versions were "
                                     "recorded"),
    "ignored_clicks": Column("integer", "clicks the survey did not act on: too soon after a page appeared (a double "
                                        "click), an image already answered in another window, or after the set "
                                        "closed"),
    "answered": Column("integer", "number of answers stored"),
    "correct": Column("integer", "number of right answers (the score, for a completed participant)"),
    "accuracy_real": Column("number", "share right among this participant's REAL images"),
    "accuracy_fake": Column("number", "share right among this participant's FAKE images"),
    "hits": Column("integer", f"answered '{ANSWER_NAMES[FAKE]}' to a {CLASS_NAMES[FAKE]} image"),
    "false_alarms": Column("integer", f"answered '{ANSWER_NAMES[FAKE]}' to a {CLASS_NAMES[REAL]} image"),
    "dprime": Column("number", "d' = z(H) - z(F), log-linear correction (Hautus 1995): H = (hits + 0.5) / "
                               "(FAKE + 1), F = (false alarms + 0.5) / (REAL + 1)"),
    "criterion": Column("number", f"c = -(z(H) + z(F)) / 2, same correction; > 0 leans towards "
                                  f"'{ANSWER_NAMES[REAL]}'"),
    "binomial_p": Column("number", "one-sided exact binomial p of `correct` or more right out of `answered` by "
                                   "guessing"),
    "median_response_ms_server": Column("number", "median of this participant's response_ms_server (see the "
                                                  "answers export)"),
    "condition": COLUMNS["condition"],
    "is_preview": COLUMNS["is_preview"],
    "device_class": Column("string", f"{', '.join(DEVICE_CLASSES)}: the coarse class of the browser they "
                                     "consented in (from its User-Agent, which is not kept); empty = the browser "
                                     "did not say"),
    "checks_passed": Column("integer", "attention checks answered with the button the check asked for"),
    "checks_failed": Column("integer", "attention checks answered with the other button"),
    "excluded_by_rules": Column("string", "the set's pre-registered exclusion rules that leave this participant "
                                          "out of the results, ';'-separated: failed_checks (checks_failed > 0), "
                                          "speeder (median_response_ms_server below the set's limit), incomplete "
                                          "(completed = 0); empty = none (the rules are in the description file); "
                                          "the results also leave out previews, and simulated participants "
                                          "unless asked"),
}


def participants_csv(engine: Engine, set_id: int) -> str:
    """One row per participant of the set, with their score and d'."""
    info = summary(engine, set_id)
    answers = load_answers(engine, set_id)
    people = load_participants(engine, set_id)  # withdrawn people are left out (see the module docstring)
    people["excluded_by_rules"] = rule_exclusions(people, answers, ExclusionRules.from_dict(info.exclusion_rules))
    people = people.merge(per_participant(answers), on="participant_id", how="left")
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
            _float(row.binomial_p), _float(row.median_response_ms), _text(row.condition), int(bool(row.is_preview)),
            _text(row.device_class), int(row.checks_passed), int(row.checks_failed), row.excluded_by_rules,
        ])
    return out.getvalue()


def participants_description(engine: Engine, set_id: int) -> str:
    """The set's description and every consent text its participants agreed to."""
    texts = [f"--- consent text {row.hash} ---\n{row.text}" for row in q.consent_texts_of_set(engine, set_id)]
    return (set_description(engine, set_id) + "\n"
            + ("\n\n".join(texts) if texts else "no consent text recorded yet") + "\n")


def write_participants(engine: Engine, set_id: int, out: Path) -> tuple[ExportFiles, int]:
    """The participants export with its dictionary and description: (files, rows)."""
    text = participants_csv(engine, set_id)
    return (write_export(out, text, PARTICIPANT_COLUMNS, participants_description(engine, set_id)),
            text.count("\n") - 1)


def _text(value) -> str:
    return "" if value is None or value != value else str(value)  # None or NaN (pandas' missing text)


def _int(value) -> str:
    return "0" if value is None or value != value else str(int(value))  # NaN: never answered


def _float(value) -> str:
    return "" if value is None or value != value else repr(float(value))
