"""study conditions: conditions per set, frozen model hints, assignment, first answers

Every set made before this revision gets one condition, 'control' (the image only,
feedback at the end: what those sets showed), and its participants are assigned
to it, so a set always has at least one condition and every participant one.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("survey_set") as batch:
        batch.add_column(sa.Column("hint_run_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("hint_checkpoint_sha256", sa.String(64), nullable=True))
    op.create_table(
        "survey_condition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("hint", sa.String(12), nullable=False),
        sa.Column("hint_timing", sa.String(12), nullable=False),
        sa.Column("feedback", sa.String(8), nullable=False),
        sa.Column("display_ms", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_survey_condition"),
        sa.ForeignKeyConstraint(["set_id"], ["survey_set.id"], name="fk_survey_condition_set_id_survey_set"),
        sa.UniqueConstraint("set_id", "name", name="uq_survey_condition_set_name"),
        sa.UniqueConstraint("set_id", "position", name="uq_survey_condition_set_position"),
        sa.CheckConstraint("hint IN ('none', 'model', 'model_cam')", name="ck_survey_condition_hint"),
        sa.CheckConstraint("hint_timing IN ('before', 'after_first')", name="ck_survey_condition_hint_timing"),
        sa.CheckConstraint("feedback IN ('none', 'each', 'end')", name="ck_survey_condition_feedback"),
    )
    op.create_table(
        "model_hint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.String(300), nullable=False),
        sa.Column("p_ai", sa.Float(), nullable=False),
        sa.Column("verdict", sa.SmallInteger(), nullable=False),
        sa.Column("cam_png", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_model_hint"),
        sa.ForeignKeyConstraint(["set_id"], ["survey_set.id"], name="fk_model_hint_set_id_survey_set"),
        sa.UniqueConstraint("set_id", "image_id", name="uq_model_hint_set_image"),
        sa.CheckConstraint("verdict IN (0, 1)", name="ck_model_hint_verdict"),
    )
    op.create_table(
        "first_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("answer", sa.SmallInteger(), nullable=False),
        sa.Column("response_ms", sa.Integer(), nullable=False),
        sa.Column("answered_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_first_answer"),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"],
                                name="fk_first_answer_participant_id_participant"),
        sa.UniqueConstraint("participant_id", "position", name="uq_first_answer_participant_position"),
        sa.CheckConstraint("answer IN (0, 1)", name="ck_first_answer_answer"),
    )
    with op.batch_alter_table("participant") as batch:
        batch.add_column(sa.Column("condition_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("assignment", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("is_preview", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_foreign_key("fk_participant_condition_id_survey_condition", "survey_condition",
                                 ["condition_id"], ["id"])
    with op.batch_alter_table("answer") as batch:
        batch.add_column(sa.Column("hint_p_ai", sa.Float(), nullable=True))
        batch.add_column(sa.Column("hint_verdict", sa.SmallInteger(), nullable=True))
        batch.add_column(sa.Column("initial_answer", sa.SmallInteger(), nullable=True))
    # The sets that exist showed the image only: one 'control' condition each.
    op.execute(
        "INSERT INTO survey_condition (set_id, position, name, hint, hint_timing, feedback, display_ms) "
        "SELECT id, 0, 'control', 'none', 'before', 'end', NULL FROM survey_set"
    )
    op.execute(
        "UPDATE participant SET condition_id = "
        "(SELECT c.id FROM survey_condition c WHERE c.set_id = participant.set_id AND c.position = 0)"
    )


def downgrade() -> None:
    with op.batch_alter_table("answer") as batch:
        batch.drop_column("initial_answer")
        batch.drop_column("hint_verdict")
        batch.drop_column("hint_p_ai")
    with op.batch_alter_table("participant") as batch:
        batch.drop_constraint("fk_participant_condition_id_survey_condition", type_="foreignkey")
        batch.drop_column("is_preview")
        batch.drop_column("assignment")
        batch.drop_column("condition_id")
    op.drop_table("first_answer")
    op.drop_table("model_hint")
    op.drop_table("survey_condition")
    with op.batch_alter_table("survey_set") as batch:
        batch.drop_column("hint_checkpoint_sha256")
        batch.drop_column("hint_run_id")
