"""surveys drawn from researchers' image sets: enlargement cap and balancing

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("survey_set") as batch:
        batch.add_column(sa.Column("max_enlarge", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("balance_by", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("survey_set") as batch:
        batch.drop_column("balance_by")
        batch.drop_column("max_enlarge")
