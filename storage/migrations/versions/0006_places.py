"""places: a grid's boundary, the directory's revision, a ticket's address in words

`areas.boundary` holds a grid's GeoJSON polygon from the directory file; `directory_revision` is
bumped by every load that changes the tree, so a process rebuilds its boundary index once per
load; `tickets.address` keeps where the resident said the problem is when nothing else places it.

Revision ID: 0006
Revises: 0010
Create Date: 2026-11-30 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN in place on both databases: a batch copy of `areas` or `tickets` would have to
    # drop tables that others point at.
    op.add_column("areas", sa.Column("boundary", sa.Text(), nullable=True))
    op.add_column(
        "tickets",
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    )
    op.create_table(
        "directory_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("directory_revision")
    op.drop_column("tickets", "address")
    op.drop_column("areas", "boundary")
