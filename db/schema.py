"""The tables. Every change to them is an Alembic revision in db/migrations/versions,
so a running study's database is upgraded in place, never recreated."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, DateTime, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so that migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Setting(Base):
    """Small key/value choices a researcher makes in the app (e.g. the dataset source)."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class PreparedDataset(Base):
    """A dataset source decoded into the array cache, with its report."""

    __tablename__ = "prepared_dataset"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(Text)
    n_images: Mapped[int] = mapped_column(Integer)
    cache_path: Mapped[str] = mapped_column(Text)
    report: Mapped[dict] = mapped_column(JSON)
    prepared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- survey: sets of images, participants, what they were shown and answered ---
from sqlalchemy import (  # noqa: E402  (appended section keeps its own imports)
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    UniqueConstraint,
    text,
)


class SurveySet(Base):
    """The images a survey shows. status: draft -> open -> closed; one open at a time."""

    __tablename__ = "survey_set"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(64))
    split: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    design: Mapped[str] = mapped_column(String(10))
    pool_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    consent_text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="draft")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # Ids of earlier sets whose participants (by PROLIFIC_PID, or by this browser's
    # remembered token) may not take this one: a person judges each image pool once.
    exclude_sets: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The training run whose verdicts the hinted conditions show, and the sha256 of
    # its checkpoint file when the hints were computed (ModelHint holds them).
    hint_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hint_checkpoint_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Catch trials per participant, and the pre-registered exclusion rules
    # (study/survey/checks.py), both fixed before anybody consents.
    attention_checks: Mapped[int] = mapped_column(Integer, default=0)
    exclusion_rules: Mapped[dict] = mapped_column(JSON, default=dict)
    # Sets drawn from an image set (source "set:NAME"): the most a picture is enlarged
    # on screen (None: CIFAKE's fixed 9x), and what the draw balanced besides the label.
    max_enlarge: Mapped[int | None] = mapped_column(Integer, nullable=True)
    balance_by: Mapped[str | None] = mapped_column(String(20), nullable=True)
    __table_args__ = (
        CheckConstraint("design IN ('fixed', 'pool')", name="design"),
        CheckConstraint("status IN ('draft', 'open', 'closed')", name="status"),
        CheckConstraint("size >= 2", name="size"),
        # A partial unique index: at most one row may be 'open', even with two app processes.
        Index(
            "uq_survey_set_one_open",
            "status",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )


class SurveyImage(Base):
    """One image of a set (the whole pool when design is 'pool'), with its label."""

    __tablename__ = "survey_image"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("survey_set.id"))
    image_id: Mapped[str] = mapped_column(String(300))
    label: Mapped[int] = mapped_column(SmallInteger)
    pool_position: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        UniqueConstraint("set_id", "image_id", name="uq_survey_image_set_image"),
        UniqueConstraint("set_id", "pool_position", name="uq_survey_image_set_position"),
        CheckConstraint("label IN (0, 1)", name="label"),
    )


class SurveyCondition(Base):
    """One condition of a set (study/survey/conditions.py): what its participants see."""

    __tablename__ = "survey_condition"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("survey_set.id"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(40))
    hint: Mapped[str] = mapped_column(String(12), default="none")
    hint_timing: Mapped[str] = mapped_column(String(12), default="before")
    feedback: Mapped[str] = mapped_column(String(8), default="end")
    display_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    __table_args__ = (
        UniqueConstraint("set_id", "name", name="uq_survey_condition_set_name"),
        UniqueConstraint("set_id", "position", name="uq_survey_condition_set_position"),
        CheckConstraint("hint IN ('none', 'model', 'model_cam')", name="hint"),
        CheckConstraint("hint_timing IN ('before', 'after_first')", name="hint_timing"),
        CheckConstraint("feedback IN ('none', 'each', 'end')", name="feedback"),
    )


class ModelHint(Base):
    """The model's verdict on one image of a set, computed once when the set was made
    and shown alike to everyone of a hinted condition. Carries no id or label."""

    __tablename__ = "model_hint"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("survey_set.id"))
    image_id: Mapped[str] = mapped_column(String(300))
    p_ai: Mapped[float] = mapped_column(Float)
    verdict: Mapped[int] = mapped_column(SmallInteger)
    cam_png: Mapped[bytes] = mapped_column(LargeBinary)  # the Grad-CAM overlay, at the survey's display size
    __table_args__ = (
        UniqueConstraint("set_id", "image_id", name="uq_model_hint_set_image"),
        CheckConstraint("verdict IN (0, 1)", name="verdict"),
    )


class Participant(Base):
    """A person taking one set. token is the bearer secret in the URL (?p=...)."""

    __tablename__ = "participant"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("survey_set.id"))
    prolific_pid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    study_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    consented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # sha256 of the consent text this person saw and agreed to (ConsentText holds it);
    # NULL only for people who consented before this was recorded.
    consent_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    questions_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    age_band: Mapped[str | None] = mapped_column(String(20), nullable=True)
    ai_exposure: Mapped[str | None] = mapped_column(String(20), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completion_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    image_order: Mapped[list] = mapped_column(JSON)
    is_simulated: Mapped[bool] = mapped_column(Boolean, default=False)
    # The condition given at consent, and why (the counts it saw, the tie, the draw).
    condition_id: Mapped[int | None] = mapped_column(ForeignKey("survey_condition.id"), nullable=True)
    assignment: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    is_preview: Mapped[bool] = mapped_column(Boolean, default=False)  # a researcher trying a condition
    device_class: Mapped[str | None] = mapped_column(String(10), nullable=True)  # desktop | mobile | tablet
    # Catch trials come before these image positions (seeded per participant).
    check_positions: Mapped[list] = mapped_column(JSON, default=list)
    # Withdrew and had their answers deleted: the row keeps only that (and the
    # condition, so the balance stays honest about who was assigned).
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    __table_args__ = (
        # NULLs are distinct on SQLite and PostgreSQL: only real Prolific ids are unique.
        UniqueConstraint("set_id", "prolific_pid", name="uq_participant_set_prolific"),
    )


class ShownImage(Base):
    """When an image was FIRST sent to a participant: the response-time clock starts here."""

    __tablename__ = "shown_image"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    position: Mapped[int] = mapped_column(Integer)
    shown_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        UniqueConstraint("participant_id", "position", name="uq_shown_image_participant_position"),
    )


class Answer(Base):
    """One participant's answer to one image; never a second row, never overwritten."""

    __tablename__ = "answer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    image_id: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer)
    answer: Mapped[int] = mapped_column(SmallInteger)
    correct: Mapped[bool] = mapped_column(Boolean)
    confidence: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    response_ms: Mapped[int] = mapped_column(Integer)  # shown -> answered, less paused_ms
    # Time the set was closed while this image waited for its answer (not the person's time).
    paused_ms: Mapped[int] = mapped_column(Integer, default=0)
    shown_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The hint shown before this (final) answer, if any, and the answer given before
    # the hint in after_first conditions (FirstAnswer holds its own time).
    hint_p_ai: Mapped[float | None] = mapped_column(Float, nullable=True)
    hint_verdict: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    initial_answer: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    # feedback "each": when the person moved on from the right/wrong page after this answer.
    feedback_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    __table_args__ = (
        UniqueConstraint("participant_id", "image_id", name="uq_answer_participant_image"),
        UniqueConstraint("participant_id", "position", name="uq_answer_participant_position"),
        CheckConstraint("answer IN (0, 1)", name="answer"),
        CheckConstraint("confidence IS NULL OR confidence BETWEEN 1 AND 5", name="confidence"),
    )


class FirstAnswer(Base):
    """after_first conditions: the answer given before the hint was shown, committed
    the moment it was given (the final answer goes to Answer)."""

    __tablename__ = "first_answer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    position: Mapped[int] = mapped_column(Integer)
    answer: Mapped[int] = mapped_column(SmallInteger)
    response_ms: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        UniqueConstraint("participant_id", "position", name="uq_first_answer_participant_position"),
        CheckConstraint("answer IN (0, 1)", name="answer"),
    )


class AttentionAnswer(Base):
    """The answer to one catch trial (an image that says which button to press):
    kept apart from the answers, never in a score."""

    __tablename__ = "attention_answer"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    ordinal: Mapped[int] = mapped_column(Integer)  # 1 = the participant's first check
    expected: Mapped[int] = mapped_column(SmallInteger)
    answer: Mapped[int] = mapped_column(SmallInteger)
    passed: Mapped[bool] = mapped_column(Boolean)
    response_ms: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        UniqueConstraint("participant_id", "ordinal", name="uq_attention_answer_participant_ordinal"),
    )


class ConsentText(Base):
    """Every consent text someone agreed to, by its sha256: the evidence of what
    each participant saw (Participant.consent_hash), even if a set's text changes."""

    __tablename__ = "consent_text"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    first_agreed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class IgnoredClick(Base):
    """A click the survey did not act on, kept as evidence: one that came too soon
    after its page appeared (a double click aimed at the previous page), an answer
    to an image another window had already answered, an answer after the set closed."""

    __tablename__ = "ignored_click"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    step: Mapped[str] = mapped_column(String(20))  # questions | instructions | image
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the image, for step 'image'
    answer: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    reason: Mapped[str] = mapped_column(String(30))  # too_soon | already_answered | set_closed
    ms_after_shown: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SetClosure(Base):
    """One time a set was closed (and reopened): response times leave these spans out."""

    __tablename__ = "set_closure"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("survey_set.id"), index=True)
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reopened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# ---------------------------------------------------------------- training runs (issue #4)
from sqlalchemy import Boolean as _Boolean  # noqa: E402  (appended section keeps its own imports)
from sqlalchemy import CheckConstraint as _CheckConstraint  # noqa: E402


class TrainingRun(Base):
    """One training of a zoo model: its config, per-epoch history, final metrics,
    status and checkpoint; the training page reads it, the CLI and jobs write it."""

    __tablename__ = "training_run"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), index=True)
    config: Mapped[dict] = mapped_column(JSON)
    # [{epoch, train_loss, train_acc, val_loss, val_acc, seconds}, ...]
    history: Mapped[list] = mapped_column(JSON)
    metrics: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    checkpoint_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    dataset_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    dataset_source: Mapped[str | None] = mapped_column(Text, nullable=True)
    device: Mapped[str | None] = mapped_column(String(40), nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(_Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    __table_args__ = (
        _CheckConstraint("status IN ('running', 'finished', 'failed', 'cancelled')", name="status"),
    )


# ---------------------------------------------------------------- background jobs (issue #7)
from sqlalchemy import ForeignKey as _ForeignKey  # noqa: E402  (appended section keeps its own imports)


class TrainingJob(Base):
    """A training queued or running in the background (a `python -m study train`
    subprocess); one runs per device at a time. `params` are the training's
    options; `run_id` is its TrainingRun once it starts."""

    __tablename__ = "training_job"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "train" or "filter" (train, then test on originals too)
    label: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True)
    device: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON)
    run_id: Mapped[int | None] = mapped_column(_ForeignKey("training_run.id"), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    log_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_tail: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    cancel_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    __table_args__ = (
        _CheckConstraint("status IN ('queued', 'running', 'finished', 'failed', 'cancelled')", name="status"),
    )


# --- researchers' own image sets -------------------------------------------------


class ImageSet(Base):
    """A researcher's own images, imported once (study/data/imports.py): each stored
    content-addressed under STUDY_HOME/images, without metadata; ImageSetItem lists them."""

    __tablename__ = "image_set"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    source: Mapped[str] = mapped_column(Text)  # the folder or archive as given
    max_side: Mapped[int] = mapped_column(Integer)  # the long-side cap the images were stored under
    n_images: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict] = mapped_column(JSON)  # what the import did: counts, duplicates, failures
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ImageSetItem(Base):
    """One image of an image set: its stored content, label and where it came from."""

    __tablename__ = "image_set_item"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("image_set.id"))
    sha256: Mapped[str] = mapped_column(String(64))  # of the stored PNG: its file name in the store
    label: Mapped[int] = mapped_column(Integer)
    generator: Mapped[str | None] = mapped_column(String(100), nullable=True)
    category: Mapped[str | None] = mapped_column(String(200), nullable=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    source_path: Mapped[str] = mapped_column(Text)  # inside the source; never shown to participants
    __table_args__ = (
        UniqueConstraint("set_id", "sha256", name="uq_image_set_item_set_sha256"),
        CheckConstraint("label IN (0, 1)", name="label"),
    )
