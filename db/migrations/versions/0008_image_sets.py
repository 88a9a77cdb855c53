"""researchers' own image sets: imported images and their manifest

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("max_side", sa.Integer(), nullable=False),
        sa.Column("n_images", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_image_set"),
        sa.UniqueConstraint("name", name="uq_image_set_name"),
    )
    op.create_table(
        "image_set_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("label", sa.Integer(), nullable=False),
        sa.Column("generator", sa.String(100), nullable=True),
        sa.Column("category", sa.String(200), nullable=True),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_image_set_item"),
        sa.ForeignKeyConstraint(["set_id"], ["image_set.id"], name="fk_image_set_item_set_id_image_set"),
        sa.UniqueConstraint("set_id", "sha256", name="uq_image_set_item_set_sha256"),
        sa.CheckConstraint("label IN (0, 1)", name="ck_image_set_item_label"),
    )


def downgrade() -> None:
    op.drop_table("image_set_item")
    op.drop_table("image_set")
