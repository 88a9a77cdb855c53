"""attention checks, exclusion rules, withdrawal, device class, feedback after each answer

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("survey_set") as batch:
        batch.add_column(sa.Column("attention_checks", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("exclusion_rules", sa.JSON(), nullable=False, server_default="{}"))
    with op.batch_alter_table("participant") as batch:
        batch.add_column(sa.Column("device_class", sa.String(10), nullable=True))
        batch.add_column(sa.Column("check_positions", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("withdrawn_at", TZ, nullable=True))
    with op.batch_alter_table("answer") as batch:
        batch.add_column(sa.Column("feedback_seen_at", TZ, nullable=True))
    op.create_table(
        "attention_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("expected", sa.SmallInteger(), nullable=False),
        sa.Column("answer", sa.SmallInteger(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("response_ms", sa.Integer(), nullable=False),
        sa.Column("answered_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_attention_answer"),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"],
                                name="fk_attention_answer_participant_id_participant"),
        sa.UniqueConstraint("participant_id", "ordinal", name="uq_attention_answer_participant_ordinal"),
    )


def downgrade() -> None:
    op.drop_table("attention_answer")
    with op.batch_alter_table("answer") as batch:
        batch.drop_column("feedback_seen_at")
    with op.batch_alter_table("participant") as batch:
        batch.drop_column("withdrawn_at")
        batch.drop_column("check_positions")
        batch.drop_column("device_class")
    with op.batch_alter_table("survey_set") as batch:
        batch.drop_column("exclusion_rules")
        batch.drop_column("attention_checks")
