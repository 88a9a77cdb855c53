"""The participant's side of the survey, as plain functions the page calls.

consent -> optional questions -> instructions -> image 1..n -> results.
Where a participant is lives in the database, not in the browser: every step
is recomputed from their token (`?p=...`), so a reload or a reopened link
resumes at the next unanswered image. The browser also remembers the token (the
page keeps it in a cookie from the moment the consent page is shown, before the
participant row exists), so `/`, the Back button, a reload right after "Continue"
and a double click all come back to the same person: `current_step` takes the
tokens the browser remembers, and `consent` is idempotent on the token.
Nothing that leaves this module for the page carries an image id or a label
before the answer (ids leak the label).

Clicks aimed at the previous page are not acted on: an action that arrives
sooner after its page appeared than that page's guard time is stored as an
ignored click (db `ignored_click`) and the page asks again.

Response time is measured on the server: from the FIRST time an image was sent
to this participant (kept across reloads, so a reload never resets the clock)
to the moment their answer reached the server, less any time the set was closed
meanwhile (stored apart as paused_ms).
"""
from __future__ import annotations

import hashlib
import io
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from PIL import Image
from sqlalchemy import Engine

import db.conditions as qc
import db.survey as q
from db.schema import utcnow
from study.survey import assignment, checks, scoring
from study.survey.conditions import Condition, from_row
from study.survey.device import device_class
from study.survey.hints import Hint
from study.errors import StudyError
from study.labels import FAKE, REAL, answer_name
from study.data.image_sets import is_image_set
from study.data.imports import read_stored
from study.survey.sets import DISPLAY_PX, ensure_open_set, participant_order, set_conditions, set_pixels
from study.survey.timing import closed_overlap_ms

SCORE_THUMB_PX = 96  # 3x of 32: each answered image beside the participant's score
# Guards: an action this soon after its page appeared was aimed at the page before.
# Operating systems' double-click interval is 500 ms by default (Windows allows up
# to 900 ms), and slow double clicks in Chromium answered image k+1 0.41-0.81 s
# after it appeared; no one judges a picture, or reads two questions, faster.
NEW_IMAGE_GUARD_MS = 1000
QUESTIONS_GUARD_MS = 1000
# The instructions' "Start" sits where the questions' "Continue" was: a second
# click ~1 s later would skip them. Nobody reads them in 2.5 s.
INSTRUCTIONS_GUARD_MS = 2500
TOKEN_BYTES = 24  # 192 bits, 32 url-safe characters
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
_EXTERNAL_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
EXTERNAL_KEYS = {"PROLIFIC_PID": "prolific_pid", "STUDY_ID": "study_id", "SESSION_ID": "session_id"}
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AI_EXPOSURE = ("never", "less than monthly", "monthly", "weekly", "daily")
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L: easy to copy by hand
ALREADY_TOOK_PART = ("You have already taken part in this study (in an earlier round of it), "
                     "so you cannot take part again. Thank you for your interest!")


class SurveyLinkError(StudyError):
    """A link that is malformed, unknown or tampered with: shown as is, nothing written."""


class ConsentChanged(StudyError):
    """The consent text changed (or another set opened with another text) while the
    person was reading: they agreed to a text that is no longer the one in force."""


class AlreadyTookPart(StudyError):
    """This person (PROLIFIC_PID) took part in a set that the open set excludes."""


@dataclass(frozen=True)
class Visit:
    """What the query string asked for, validated."""

    token: str | None = None
    prolific_pid: str | None = None
    study_id: str | None = None
    session_id: str | None = None

    def external_ids(self) -> dict[str, str | None]:
        return {"prolific_pid": self.prolific_pid, "study_id": self.study_id, "session_id": self.session_id}


@dataclass(frozen=True)
class SurveyInfo:
    set_id: int
    size: int
    is_demo: bool
    consent_text: str

    @property
    def consent_hash(self) -> str:
        return consent_digest(self.consent_text)


def consent_digest(text: str) -> str:
    """The consent version: sha256 of the exact text shown."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ResultItem:
    position: int
    thumbnail_png: bytes
    answer: int
    label: int
    correct: bool
    confidence: int | None

    @property
    def width(self) -> int:
        """The thumbnail's own width: the page asks for no smaller, since Streamlit would
        re-encode a smaller one (an image set's thumbnails are up to 256 px; the column
        fits them)."""
        return Image.open(io.BytesIO(self.thumbnail_png)).size[0]


@dataclass(frozen=True)
class Step:
    """What the page shows next. stage is one of: not_open, consent, resume,
    already_took_part, questions, instructions, image, feedback (right or wrong
    for the image just answered), check (an attention check), done, closed,
    withdrawn."""

    stage: str
    survey: SurveyInfo | None = None
    token: str | None = None  # the participant's (None before consent)
    pending_token: str | None = None  # consent stage: the token the browser keeps and consent will use
    position: int | None = None  # 1-based, "image k of n"
    image_png: bytes | None = None
    answered: int = 0
    score: scoring.Score | None = None
    results: tuple[ResultItem, ...] = ()
    completion_code: str | None = None
    condition: Condition | None = None  # what this participant's condition shows
    # The image stage of a hinted condition: "answer" (one answer; with the hint when
    # timing is before), "first" (after_first: the answer before the hint) or "final"
    # (after_first: the hint is shown, the final answer is asked).
    phase: str = "answer"
    hint: Hint | None = None
    first_answer: int | None = None
    check: int | None = None  # the check stage: which of the participant's checks (1, 2, ...)
    # How wide the page shows image_png (CSS pixels; the browser fits it to a narrower
    # screen) and whether that enlarges it, to be drawn with crisp whole pixels.
    display_width: int = DISPLAY_PX
    crisp: bool = True
    # display_ms conditions: how much longer the image may be seen (0: hidden now),
    # counted from the first time it was sent, so a reload gives no second look.
    display_left_ms: int | None = None
    feedback: ResultItem | None = None  # the feedback stage: the answer just given, with its label


@dataclass(frozen=True)
class AnswerOutcome:
    """stored: this call wrote the answer; duplicate: one was already there (kept
    unchanged, returned here; another window, or the twin of a double click);
    too_soon: ignored, it came within the new-image guard (a click aimed at the
    previous image); closed: the set closed before the answer arrived. All but
    stored leave an ignored_click row and change no answer."""

    status: str
    position: int
    answer: int | None
    completed: bool


# --- the query string -----------------------------------------------------------

def parse_query(params: Mapping[str, str | Sequence[str]]) -> Visit:
    """Validate ?p=TOKEN and Prolific's PROLIFIC_PID / STUDY_ID / SESSION_ID.
    Other keys (e.g. utm_*) are ignored; a repeated or malformed known key is refused."""
    found: dict[str, str] = {}
    for key in ("p", *EXTERNAL_KEYS):
        if key not in params:
            continue
        value = params[key]
        values = [value] if isinstance(value, str) else list(value)
        if len(values) != 1:
            raise SurveyLinkError(f"this survey link is not valid: {key} appears {len(values)} times")
        found[key] = values[0]
    token = found.get("p")
    if token is not None and not _TOKEN.fullmatch(token):
        raise SurveyLinkError(
            "this survey link is not valid (the participant code in it is malformed); "
            "please open the link you were given again"
        )
    external = {}
    for key, field in EXTERNAL_KEYS.items():
        value = found.get(key)
        if value is not None and not _EXTERNAL_ID.fullmatch(value):
            raise SurveyLinkError(
                f"this survey link is not valid: {key} must be 1-64 letters, digits, '-' or '_'"
            )
        external[field] = value
    return Visit(token=token, **external)


# --- where the participant is ---------------------------------------------------

def current_step(engine: Engine, visit: Visit, remembered: Sequence[str | None] = ()) -> Step:
    """The page to show for this visit. `remembered`: tokens this browser kept (this
    tab's session, then its cookie), used when the link carries none. Writes only
    for a valid participant (the moment an image is first shown); a bad link
    raises SurveyLinkError."""
    if visit.token is None:
        return _arrival(engine, visit, [t for t in remembered if t and _TOKEN.fullmatch(t)])
    participant = _participant(engine, visit)
    survey = q.get_set(engine, participant.set_id)
    info = _info(survey)
    if participant.withdrawn_at is not None:
        return Step("withdrawn", survey=info, token=participant.token)
    if participant.completed_at is not None:
        return _done(engine, participant, survey, info)
    if not _accepting(survey, participant):
        return Step("closed", survey=info, token=participant.token,
                    answered=q.count_answers(engine, participant.id))
    if participant.questions_at is None:
        return Step("questions", survey=info, token=participant.token)
    if participant.started_at is None:
        return Step("instructions", survey=info, token=participant.token)
    answered = q.count_answers(engine, participant.id)
    position = answered + 1
    condition = _condition_of(engine, participant)
    if condition.feedback == "each" and answered:
        last = q.answer_at(engine, participant.id, answered)
        if last.feedback_seen_at is None:
            label = q.labels_of(engine, survey.id, [last.image_id])[last.image_id]
            item = ResultItem(answered, _png(engine, survey, last.image_id, SCORE_THUMB_PX), int(last.answer),
                              label, bool(last.correct), last.confidence)
            return Step("feedback", survey=info, token=participant.token, position=answered, answered=answered,
                        condition=condition, feedback=item)
    due = sum(1 for p in participant.check_positions or () if p <= position)
    done_checks = qc.count_attention_answers(engine, participant.id)
    if done_checks < due:
        ordinal = done_checks + 1
        _shown_first_at(engine, participant.id, -ordinal)  # checks are kept as negative positions
        expected = checks.expected_answer(survey.seed, participant.id, ordinal)
        return Step("check", survey=info, token=participant.token, position=position, answered=answered,
                    image_png=checks.check_png(expected, DISPLAY_PX), condition=condition, check=ordinal)
    first_shown = _shown_first_at(engine, participant.id, position)
    image_id = participant.image_order[position - 1]
    display_left = None
    if condition.display_ms:
        seen_ms = int((utcnow() - first_shown).total_seconds() * 1000)
        display_left = max(condition.display_ms - seen_ms, 0)
    phase, hint, first = "answer", None, None
    if condition.asks_twice:
        first_row = qc.first_answer_at(engine, participant.id, position)
        phase = "first" if first_row is None else "final"
        first = None if first_row is None else int(first_row.answer)
    if condition.shows_hint and phase != "first":
        hint = _hint(engine, survey.id, image_id, with_cam=condition.hint == "model_cam")
    png = _png(engine, survey, image_id, DISPLAY_PX)
    width, crisp = _display_width(survey, png)
    return Step(
        "image", survey=info, token=participant.token, position=position, answered=answered,
        image_png=png, condition=condition, phase=phase, hint=hint,
        first_answer=first, display_left_ms=display_left, display_width=width, crisp=crisp,
    )


def _shown_first_at(engine: Engine, participant_id: int, position: int):
    """When this position was first shown: read, and written only the first time (a
    rerun of the same image, each click on its confidence scale, takes no write lock)."""
    known = q.shown_at(engine, participant_id, position)
    if known is not None:
        return known
    with q.write_transaction(engine) as conn:
        return q.record_shown(conn, participant_id, position)


def _condition_of(engine_or_conn, participant) -> Condition:
    row = qc.condition_by_id(engine_or_conn, participant.condition_id) if participant.condition_id else None
    return from_row(row) if row is not None else Condition("control")


def _hint(engine_or_conn, set_id: int, image_id: str, *, with_cam: bool) -> Hint:
    row = qc.hint_for(engine_or_conn, set_id, image_id)
    if row is None:
        raise StudyError("this survey's hints are missing; please tell the researchers")
    return Hint(int(row.verdict), float(row.p_ai), bytes(row.cam_png) if with_cam else None)


def _arrival(engine: Engine, visit: Visit, remembered: list[str]) -> Step:
    """A visit without a token in the link: a returning browser, a Prolific id we
    know, or a new person (the consent page, with the token consent will use)."""
    survey = ensure_open_set(engine)
    unused = []
    for token in remembered:
        known = q.participant_by_token(engine, token)
        if known is None:
            unused.append(token)  # kept since a consent page that was never agreed to
        elif visit.prolific_pid and known.prolific_pid != visit.prolific_pid:
            continue  # a shared browser: this link is another Prolific participant's
        elif survey is None or known.set_id == survey.id:
            return Step("resume", token=known.token)
        elif known.set_id in (survey.exclude_sets or ()):
            return Step("already_took_part", survey=_info(survey))
        # else: an earlier set of another image pool; this browser may take the open one
    if survey is None:
        return Step("not_open")
    if visit.prolific_pid:
        known = q.participant_by_prolific(engine, survey.id, visit.prolific_pid)
        if known is not None:  # the same Prolific participant never starts twice
            return Step("resume", survey=_info(survey), token=known.token)
        if q.took_part_in(engine, visit.prolific_pid, list(survey.exclude_sets or ())):
            return Step("already_took_part", survey=_info(survey))
    pending = unused[0] if unused else secrets.token_urlsafe(TOKEN_BYTES)
    return Step("consent", survey=_info(survey), pending_token=pending)


def _participant(engine_or_conn, visit: Visit):
    participant = q.participant_by_token(engine_or_conn, visit.token)
    if participant is None:
        raise SurveyLinkError(
            "this survey link is not valid (no participant has this code); "
            "please open the link you were given again"
        )
    if visit.prolific_pid and participant.prolific_pid != visit.prolific_pid:
        raise SurveyLinkError("this survey link is not valid: its PROLIFIC_PID does not match the participant code")
    return participant


def _active(conn, token: str):
    """The participant acting, refused once they withdrew."""
    participant = _participant(conn, Visit(token=token))
    if participant.withdrawn_at is not None:
        raise StudyError("You withdrew from this study, so nothing more is recorded. Thank you.")
    return participant


def _accepting(survey, participant) -> bool:
    """Whether the set takes this participant's answers: an open set; a researcher's
    preview also tries a set that is not open yet (a draft)."""
    return survey.status == "open" or (bool(participant.is_preview) and survey.status == "draft")


def _info(survey) -> SurveyInfo:
    return SurveyInfo(set_id=survey.id, size=survey.size, is_demo=bool(survey.is_demo), consent_text=survey.consent_text)


# --- the participant's actions --------------------------------------------------

def consent(
    engine: Engine,
    visit: Visit,
    *,
    token: str | None = None,
    consent_hash: str | None = None,
    simulated: bool = False,
    user_agent: str | None = None,
) -> str:
    """Create the participant (only now: visitors who never consent leave no row)
    and return their token.

    Idempotent: `token` is the one the consent page handed to the browser, so a
    double click, a click from a reloaded page or a second tab all return the same
    participant; the same PROLIFIC_PID gets its existing token back. Only the coarse
    class of `user_agent` (desktop, mobile, tablet) is stored.
    `consent_hash` is the version of the text the person saw (SurveyInfo.consent_hash):
    if the text in force differs, nothing is written and ConsentChanged is raised."""
    if visit.token is not None:
        return _participant(engine, visit).token
    if token is not None and not _TOKEN.fullmatch(token):
        raise SurveyLinkError("this page's participant code is malformed; please reload the page")
    ensure_open_set(engine)  # a first-ever visitor may consent before any page opened the demo set
    token = token or secrets.token_urlsafe(TOKEN_BYTES)
    with q.write_transaction(engine) as conn:
        survey = q.get_open_set(conn, lock=True)
        if survey is None:
            raise StudyError("the survey is not open at the moment; please try again later")
        known = q.participant_by_token(conn, token)
        if known is not None and known.set_id == survey.id:
            return known.token  # the second click of a double click, or a reloaded page
        if known is not None:  # a token of another set: this consent gets a fresh one
            token = secrets.token_urlsafe(TOKEN_BYTES)
        text = survey.consent_text
        if consent_hash is not None and consent_hash != consent_digest(text):
            raise ConsentChanged(
                "The information about this study changed while you were reading it. "
                "Please read the new text below and agree again if you wish to take part."
            )
        if visit.prolific_pid and q.took_part_in(conn, visit.prolific_pid, list(survey.exclude_sets or ())):
            raise AlreadyTookPart(ALREADY_TOOK_PART)
        digest = consent_digest(text)
        values = dict(token=token, set_id=survey.id, image_order=[], is_simulated=simulated,
                      consent_hash=digest, device_class=device_class(user_agent), **visit.external_ids())
        participant_id = q.insert_participant(conn, values)
        if participant_id is None:
            known = q.participant_by_prolific(conn, survey.id, visit.prolific_pid) if visit.prolific_pid else None
            known = known or q.participant_by_token(conn, token)  # a twin request (another process) won
            if known is None:
                raise RuntimeError("participant insert conflicted on something other than token or PROLIFIC_PID")
            return known.token
        q.record_consent_text(conn, digest, text)
        pool = q.set_images(conn, survey.id)
        labels = np.array([row.label for row in pool])
        order = participant_order(survey.seed, participant_id, labels, survey.size, survey.design)
        condition_id, reason = _assign(conn, survey, participant_id, simulated)
        q.update_participant(conn, participant_id, image_order=[pool[i].image_id for i in order],
                             condition_id=condition_id, assignment=reason,
                             check_positions=checks.check_positions(survey.seed, participant_id,
                                                                    survey.attention_checks or 0, survey.size))
    return token


def _assign(conn, survey, participant_id: int, simulated: bool) -> tuple[int, dict]:
    """The condition for a new participant (study/survey/assignment.py), inside the
    consent's transaction, which holds the set's write lock."""
    conditions = set_conditions(conn, survey.id)
    qc.lock_assignment(conn, survey.id)
    rules = checks.ExclusionRules.from_dict(survey.exclusion_rules)
    counted = qc.counted_per_condition(conn, survey.id, simulated=simulated,
                                       failed_checks_count=not rules.failed_checks)
    counts = {condition.name: counted.get(cid, 0) for cid, condition in conditions}
    chosen, reason = assignment.choose(counts, survey.seed, participant_id)
    return next(cid for cid, condition in conditions if condition.name == chosen), reason


def start_preview(engine: Engine, set_id: int, condition_name: str) -> str:
    """A test participant in one condition of a set, for a researcher to try it: marked
    as a preview, never counted in the balancing or the results. Returns its token."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with q.write_transaction(engine) as conn:
        survey = q.get_set(conn, set_id)
        if survey is None:
            raise StudyError(f"no survey set with id {set_id}")
        matching = [cid for cid, c in set_conditions(conn, set_id) if c.name == condition_name]
        if not matching:
            names = ", ".join(c.name for _, c in set_conditions(conn, set_id))
            raise StudyError(f"set {set_id} has no condition {condition_name!r}; it has: {names}")
        digest = consent_digest(survey.consent_text)
        participant_id = q.insert_participant(conn, dict(
            token=token, set_id=set_id, image_order=[], is_simulated=False, is_preview=True,
            consent_hash=digest, condition_id=matching[0], assignment=assignment.preview_reason(condition_name)))
        q.record_consent_text(conn, digest, survey.consent_text)
        pool = q.set_images(conn, set_id)
        labels = np.array([row.label for row in pool])
        order = participant_order(survey.seed, participant_id, labels, survey.size, survey.design)
        q.update_participant(conn, participant_id, image_order=[pool[i].image_id for i in order],
                             check_positions=checks.check_positions(survey.seed, participant_id,
                                                                    survey.attention_checks or 0, survey.size))
    return token


def answer_questions(
    engine: Engine, token: str, age_band: str | None, ai_exposure: str | None, *, min_shown_ms: int = 0
) -> str:
    """Store the optional answers (None = skipped). Only the first call counts.
    Returns "stored", "already" (answered before) or "too_soon" (within
    min_shown_ms of the questions appearing, i.e. of consent: ignored, kept as
    an ignored click)."""
    if age_band is not None and age_band not in AGE_BANDS:
        raise StudyError(f"age band must be one of {', '.join(AGE_BANDS)}")
    if ai_exposure is not None and ai_exposure not in AI_EXPOSURE:
        raise StudyError(f"AI exposure must be one of {', '.join(AI_EXPOSURE)}")
    with q.write_transaction(engine) as conn:
        participant = _active(conn, token)
        if participant.questions_at is not None:
            return "already"
        now = utcnow()
        if _too_soon(conn, participant, "questions", q.as_utc(participant.consented_at), now, min_shown_ms):
            return "too_soon"
        q.update_participant(conn, participant.id, questions_at=now, age_band=age_band, ai_exposure=ai_exposure)
    return "stored"


def begin(engine: Engine, token: str, *, min_shown_ms: int = 0) -> str:
    """The participant has read the instructions: the first image comes next.
    Returns "started", "already", or "too_soon" (within min_shown_ms of the
    instructions appearing: ignored, kept as an ignored click)."""
    with q.write_transaction(engine) as conn:
        participant = _active(conn, token)
        if participant.started_at is not None:
            return "already"
        now = utcnow()
        if participant.questions_at is not None and _too_soon(
            conn, participant, "instructions", q.as_utc(participant.questions_at), now, min_shown_ms
        ):
            return "too_soon"
        values = {"started_at": now}
        if participant.questions_at is None:
            values["questions_at"] = now  # questions skipped by going straight on
        q.update_participant(conn, participant.id, **values)
    return "started"


def _too_soon(conn, participant, step: str, shown_at, now, min_shown_ms: int) -> bool:
    """Whether an action on `step` came within min_shown_ms of it appearing; if so it
    is kept as an ignored click."""
    elapsed = int(round((now - shown_at).total_seconds() * 1000))
    if elapsed >= min_shown_ms:
        return False
    q.insert_ignored_click(conn, dict(participant_id=participant.id, step=step, reason="too_soon",
                                      ms_after_shown=elapsed))
    return True


def submit_answer(
    engine: Engine,
    token: str,
    position: int,
    answer: int,
    confidence: int | None = None,
    *,
    min_response_ms: int = 0,
) -> AnswerOutcome:
    """Store one answer in its own transaction, the moment it is given.

    Idempotent: an answer to a position already answered (a double click, a
    resubmitted form) changes nothing and returns the first answer. Anything
    but the next unanswered image is refused with nothing written. Correctness
    comes from the label stored with the set, never from the browser."""
    if answer not in (REAL, FAKE):
        raise StudyError(f"an answer must be {REAL} ({answer_name(REAL)}) or {FAKE} ({answer_name(FAKE)}), "
                         f"got {answer!r}")
    if confidence is not None and confidence not in (1, 2, 3, 4, 5):
        raise StudyError(f"confidence must be 1-5 or left out, got {confidence!r}")
    with q.write_transaction(engine) as conn:
        participant = _active(conn, token)
        size = len(participant.image_order)
        if not isinstance(position, int) or not 1 <= position <= size:
            raise StudyError(f"there is no image {position!r} in this survey (it has {size})")
        ignored = dict(participant_id=participant.id, step="image", position=position, answer=answer)
        stored = q.answer_at(conn, participant.id, position)
        if stored is not None:
            q.insert_ignored_click(conn, dict(ignored, reason="already_answered"))
            return AnswerOutcome("duplicate", position, int(stored.answer), participant.completed_at is not None)
        survey = q.get_set(conn, participant.set_id)
        if not _accepting(survey, participant):
            q.insert_ignored_click(conn, dict(ignored, reason="set_closed"))
            return AnswerOutcome("closed", position, None, False)
        shown_at, now, paused_ms, response_ms = _timed_answer(conn, participant, survey, position)
        condition = _condition_of(conn, participant)
        first = qc.first_answer_at(conn, participant.id, position) if condition.asks_twice else None
        if condition.asks_twice and first is None:
            raise StudyError(f"image {position} needs a first answer before the model's hint is shown")
        # The final question appears the moment the first answer is stored: the guard
        # runs from then, so the second half of a double click cannot answer it.
        since_shown = response_ms if first is None else \
            int(round((now - q.as_utc(first.answered_at)).total_seconds() * 1000))
        if since_shown < min_response_ms:
            q.insert_ignored_click(conn, dict(ignored, reason="too_soon", ms_after_shown=since_shown))
            return AnswerOutcome("too_soon", position, None, False)
        image_id = participant.image_order[position - 1]
        label = q.labels_of(conn, survey.id, [image_id])[image_id]
        hint = _hint(conn, survey.id, image_id, with_cam=False) if condition.shows_hint else None
        inserted = q.insert_answer(conn, dict(
            participant_id=participant.id, image_id=image_id, position=position, answer=answer,
            correct=scoring.is_correct(answer, label), confidence=confidence, response_ms=response_ms,
            paused_ms=paused_ms, shown_at=shown_at, answered_at=now,
            hint_p_ai=hint.p_ai if hint else None, hint_verdict=hint.verdict if hint else None,
            initial_answer=int(first.answer) if first is not None else None,
        ))
        if not inserted:  # a twin request won the race (PostgreSQL): report its answer
            stored = q.answer_at(conn, participant.id, position)
            return AnswerOutcome("duplicate", position, int(stored.answer), False)
        completed = position == size
        if completed:  # the code exists only once the last answer is committed with it
            q.update_participant(conn, participant.id, completed_at=now, completion_code=_completion_code())
    return AnswerOutcome("stored", position, answer, completed)


def _timed_answer(conn, participant, survey, position: int):
    """(shown_at, now, paused_ms, response_ms) of an answer to `position`, which must be
    the next unanswered image and have been shown; the time the set was closed
    meanwhile is left out of the response time."""
    answered = q.count_answers(conn, participant.id)
    if position != answered + 1:
        raise StudyError(f"image {position} cannot be answered now; the next image is {answered + 1}")
    shown_at = q.shown_at(conn, participant.id, position)
    if participant.started_at is None or shown_at is None:
        raise StudyError(f"image {position} has not been shown yet")
    now = utcnow()
    paused_ms = closed_overlap_ms(q.closures_of(conn, survey.id), shown_at, now)
    return shown_at, now, paused_ms, max(int(round((now - shown_at).total_seconds() * 1000)) - paused_ms, 0)


def submit_first_answer(
    engine: Engine, token: str, position: int, answer: int, *, min_response_ms: int = 0,
) -> AnswerOutcome:
    """after_first conditions: the answer given before the hint, committed the moment it
    is given (its own transaction). Idempotent like submit_answer: a second one for the
    same image changes nothing and returns the first."""
    if answer not in (REAL, FAKE):
        raise StudyError(f"an answer must be {REAL} or {FAKE}, got {answer!r}")
    with q.write_transaction(engine) as conn:
        participant = _active(conn, token)
        ignored = dict(participant_id=participant.id, step="image_first", position=position, answer=answer)
        if not _condition_of(conn, participant).asks_twice:
            raise StudyError("this survey asks for one answer per image")
        stored = qc.first_answer_at(conn, participant.id, position)
        if stored is not None:
            q.insert_ignored_click(conn, dict(ignored, reason="already_answered"))
            return AnswerOutcome("duplicate", position, int(stored.answer), False)
        survey = q.get_set(conn, participant.set_id)
        if not _accepting(survey, participant):
            q.insert_ignored_click(conn, dict(ignored, reason="set_closed"))
            return AnswerOutcome("closed", position, None, False)
        _, _, _, response_ms = _timed_answer(conn, participant, survey, position)
        if response_ms < min_response_ms:
            q.insert_ignored_click(conn, dict(ignored, reason="too_soon", ms_after_shown=response_ms))
            return AnswerOutcome("too_soon", position, None, False)
        if not qc.insert_first_answer(conn, dict(participant_id=participant.id, position=position, answer=answer,
                                                 response_ms=response_ms)):
            stored = qc.first_answer_at(conn, participant.id, position)  # a twin request won the race
            return AnswerOutcome("duplicate", position, int(stored.answer), False)
    return AnswerOutcome("stored", position, answer, False)


def submit_check(engine: Engine, token: str, ordinal: int, answer: int, *, min_response_ms: int = 0) -> str:
    """The answer to attention check number `ordinal`, in its own transaction. Returns
    "stored", "duplicate" (answered before: kept as is) or "too_soon" (ignored, kept
    as an ignored click). Never part of a score."""
    if answer not in (REAL, FAKE):
        raise StudyError(f"an answer must be {REAL} or {FAKE}, got {answer!r}")
    with q.write_transaction(engine) as conn:
        participant = _active(conn, token)
        ignored = dict(participant_id=participant.id, step="check", position=-int(ordinal), answer=answer)
        done = qc.count_attention_answers(conn, participant.id)
        if ordinal <= done:
            q.insert_ignored_click(conn, dict(ignored, reason="already_answered"))
            return "duplicate"
        shown_at = q.shown_at(conn, participant.id, -int(ordinal))
        if ordinal != done + 1 or shown_at is None:
            raise StudyError(f"attention check {ordinal} has not been shown")
        now = utcnow()
        elapsed = int(round((now - shown_at).total_seconds() * 1000))
        if elapsed < min_response_ms:
            q.insert_ignored_click(conn, dict(ignored, reason="too_soon", ms_after_shown=elapsed))
            return "too_soon"
        survey = q.get_set(conn, participant.set_id)
        expected = checks.expected_answer(survey.seed, participant.id, ordinal)
        stored = qc.insert_attention_answer(conn, dict(participant_id=participant.id, ordinal=ordinal,
                                                       expected=expected, answer=answer,
                                                       passed=answer == expected, response_ms=elapsed))
    return "stored" if stored else "duplicate"


def continue_after_feedback(engine: Engine, token: str, position: int, *, min_shown_ms: int = 0) -> str:
    """feedback "each": the person read whether answer `position` was right and goes on.
    Returns "stored", "already" or "too_soon" (within min_shown_ms of the answer, i.e.
    of the feedback appearing: ignored, kept as an ignored click)."""
    with q.write_transaction(engine) as conn:
        participant = _active(conn, token)
        row = q.answer_at(conn, participant.id, position)
        if row is None:
            raise StudyError(f"image {position} has not been answered yet")
        if row.feedback_seen_at is not None:
            return "already"
        if _too_soon(conn, participant, "feedback", q.as_utc(row.answered_at), utcnow(), min_shown_ms):
            return "too_soon"
        return "stored" if qc.mark_feedback_seen(conn, participant.id, position) else "already"


def withdraw(engine: Engine, token: str) -> int:
    """The participant withdraws: every answer they gave and everything they said about
    themselves is deleted, now; the row keeps only that they withdrew. Returns the
    number of answers deleted. Withdrawing twice changes nothing."""
    with q.write_transaction(engine) as conn:
        participant = _participant(conn, Visit(token=token))
        if participant.withdrawn_at is not None:
            return 0
        return q.withdraw_participant(conn, participant.id)


def withdraw_by_code(engine: Engine, code: str) -> int:
    """A withdrawal asked for by completion code (e.g. by e-mail to the researcher)."""
    code = code.strip().upper()
    participant = q.participant_by_code(engine, code)
    if participant is None:
        raise StudyError(f"no participant has the completion code {code!r} (or they already withdrew)")
    return withdraw(engine, participant.token)


def _completion_code() -> str:
    chars = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    return f"{chars[:5]}-{chars[5:]}"


def _done(engine: Engine, participant, survey, info: SurveyInfo) -> Step:
    rows = q.answers_of(engine, participant.id)
    labels = q.labels_of(engine, survey.id, [row.image_id for row in rows])
    items = [
        scoring.ScoredAnswer(row.position, int(row.answer), labels[row.image_id], row.confidence) for row in rows
    ]
    results = tuple(
        ResultItem(item.position, _png(engine, survey, row.image_id, SCORE_THUMB_PX), item.answer, item.label,
                   item.correct, item.confidence)
        for item, row in zip(sorted(items, key=lambda i: i.position), rows)
    )
    return Step(
        "done", survey=info, token=participant.token, answered=len(rows),
        score=scoring.score(items, total=survey.size), results=results,
        completion_code=participant.completion_code, condition=_condition_of(engine, participant),
    )


# --- pictures -------------------------------------------------------------------

_png_cache: dict[tuple, bytes] = {}
_png_lock = threading.Lock()


def render_png(pixels: np.ndarray, size: int) -> bytes:
    """The 32x32 image enlarged with nearest-neighbour (whole pixels, no blur), as PNG."""
    image = Image.fromarray(np.asarray(pixels, dtype=np.uint8), "RGB")
    buffer = io.BytesIO()
    image.resize((size, size), Image.Resampling.NEAREST).save(buffer, format="PNG")
    return buffer.getvalue()


def _display_width(survey, png: bytes) -> tuple[int, bool]:
    """(width, crisp) of a picture on the page. CIFAKE's are enlarged 9x into the PNG
    itself; an image set's are the stored bytes, shown at their own width and enlarged
    (by the browser, with whole pixels) at most max_enlarge times to reach DISPLAY_PX."""
    if not is_image_set(survey.source):
        return DISPLAY_PX, True
    width = Image.open(io.BytesIO(png)).size[0]  # the header only
    factor = max(1, min(int(survey.max_enlarge or 1), DISPLAY_PX // max(width, 1)))
    return width * factor, factor > 1


def _png(engine: Engine, survey, image_id: str, size: int) -> bytes:
    """The picture as people see it: an image set's stored PNG (or its thumbnail for
    the small sizes), byte for byte; a CIFAKE image enlarged to `size`."""
    if is_image_set(survey.source):
        return read_stored(image_id, thumb=size < DISPLAY_PX)
    key = (str(engine.url), survey.id, survey.fingerprint, image_id, size)
    with _png_lock:
        cached = _png_cache.get(key)
    if cached is None:
        ids = tuple(row.image_id for row in q.set_images(engine, survey.id))
        pixels = set_pixels(survey.id, survey.source, survey.fingerprint, ids)[image_id]
        cached = render_png(pixels, size)
        with _png_lock:
            if len(_png_cache) > 4096:
                _png_cache.clear()
            _png_cache[key] = cached
    return cached

