"""participant path: consent versions, ignored clicks, set closures, cross-set exclusion

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("survey_set") as batch:
        # Sets made before this revision exclude nobody: that is what they did.
        batch.add_column(sa.Column("exclude_sets", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("participant") as batch:
        batch.add_column(sa.Column("consent_hash", sa.String(64), nullable=True))
    with op.batch_alter_table("answer") as batch:
        batch.add_column(sa.Column("paused_ms", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "consent_text",
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("first_agreed_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("hash", name="pk_consent_text"),
    )
    op.create_table(
        "ignored_click",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("answer", sa.SmallInteger(), nullable=True),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("ms_after_shown", sa.Integer(), nullable=True),
        sa.Column("at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ignored_click"),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"],
                                name="fk_ignored_click_participant_id_participant"),
    )
    op.create_index("ix_ignored_click_participant_id", "ignored_click", ["participant_id"])
    op.create_table(
        "set_closure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("closed_at", TZ, nullable=False),
        sa.Column("reopened_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_set_closure"),
        sa.ForeignKeyConstraint(["set_id"], ["survey_set.id"], name="fk_set_closure_set_id_survey_set"),
    )
    op.create_index("ix_set_closure_set_id", "set_closure", ["set_id"])


def downgrade() -> None:
    op.drop_index("ix_set_closure_set_id", table_name="set_closure")
    op.drop_table("set_closure")
    op.drop_index("ix_ignored_click_participant_id", table_name="ignored_click")
    op.drop_table("ignored_click")
    op.drop_table("consent_text")
    with op.batch_alter_table("answer") as batch:
        batch.drop_column("paused_ms")
    with op.batch_alter_table("participant") as batch:
        batch.drop_column("consent_hash")
    with op.batch_alter_table("survey_set") as batch:
        batch.drop_column("exclude_sets")
