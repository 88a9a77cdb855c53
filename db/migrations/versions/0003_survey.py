"""survey: sets, their images, participants, shown images and answers

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "survey_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("split", sa.String(20), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("design", sa.String(10), nullable=False),
        sa.Column("pool_size", sa.Integer(), nullable=True),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("opened_at", TZ, nullable=True),
        sa.Column("closed_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_survey_set"),
        sa.CheckConstraint("design IN ('fixed', 'pool')", name=op.f("ck_survey_set_design")),
        sa.CheckConstraint("status IN ('draft', 'open', 'closed')", name=op.f("ck_survey_set_status")),
        sa.CheckConstraint("size >= 2", name=op.f("ck_survey_set_size")),
    )
    op.create_index(
        "uq_survey_set_one_open",
        "survey_set",
        ["status"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "survey_image",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.String(300), nullable=False),
        sa.Column("label", sa.SmallInteger(), nullable=False),
        sa.Column("pool_position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_survey_image"),
        sa.ForeignKeyConstraint(["set_id"], ["survey_set.id"], name="fk_survey_image_set_id_survey_set"),
        sa.UniqueConstraint("set_id", "image_id", name="uq_survey_image_set_image"),
        sa.UniqueConstraint("set_id", "pool_position", name="uq_survey_image_set_position"),
        sa.CheckConstraint("label IN (0, 1)", name=op.f("ck_survey_image_label")),
    )
    op.create_table(
        "participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("prolific_pid", sa.String(64), nullable=True),
        sa.Column("study_id", sa.String(64), nullable=True),
        sa.Column("session_id", sa.String(64), nullable=True),
        sa.Column("consented_at", TZ, nullable=False),
        sa.Column("questions_at", TZ, nullable=True),
        sa.Column("age_band", sa.String(20), nullable=True),
        sa.Column("ai_exposure", sa.String(20), nullable=True),
        sa.Column("started_at", TZ, nullable=True),
        sa.Column("completed_at", TZ, nullable=True),
        sa.Column("completion_code", sa.String(32), nullable=True),
        sa.Column("image_order", sa.JSON(), nullable=False),
        sa.Column("is_simulated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_participant"),
        sa.ForeignKeyConstraint(["set_id"], ["survey_set.id"], name="fk_participant_set_id_survey_set"),
        sa.UniqueConstraint("token", name="uq_participant_token"),
        sa.UniqueConstraint("set_id", "prolific_pid", name="uq_participant_set_prolific"),
    )
    op.create_table(
        "shown_image",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("shown_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shown_image"),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participant.id"], name="fk_shown_image_participant_id_participant"
        ),
        sa.UniqueConstraint("participant_id", "position", name="uq_shown_image_participant_position"),
    )
    op.create_table(
        "answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.String(300), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("answer", sa.SmallInteger(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("confidence", sa.SmallInteger(), nullable=True),
        sa.Column("response_ms", sa.Integer(), nullable=False),
        sa.Column("shown_at", TZ, nullable=False),
        sa.Column("answered_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_answer"),
        sa.ForeignKeyConstraint(
            ["participant_id"], ["participant.id"], name="fk_answer_participant_id_participant"
        ),
        sa.UniqueConstraint("participant_id", "image_id", name="uq_answer_participant_image"),
        sa.UniqueConstraint("participant_id", "position", name="uq_answer_participant_position"),
        sa.CheckConstraint("answer IN (0, 1)", name=op.f("ck_answer_answer")),
        sa.CheckConstraint(
            "confidence IS NULL OR confidence BETWEEN 1 AND 5", name=op.f("ck_answer_confidence")
        ),
    )


def downgrade() -> None:
    op.drop_table("answer")
    op.drop_table("shown_image")
    op.drop_table("participant")
    op.drop_table("survey_image")
    op.drop_index("uq_survey_set_one_open", table_name="survey_set")
    op.drop_table("survey_set")
