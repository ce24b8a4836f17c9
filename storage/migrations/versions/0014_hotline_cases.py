"""tickets: the 12345 hotline's case number (unique where given) and its deadline (办理时限)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GIVEN = "external_number IS NOT NULL"


def upgrade() -> None:
    # ADD COLUMN in place (nullable, no foreign key), not a batch copy of the table: SQLite
    # would rewrite the foreign keys 0011 added inline as table constraints, which its DROP
    # COLUMN then refuses to drop.
    op.add_column("tickets", sa.Column("external_number", sa.String(length=64), nullable=True))
    op.add_column(
        "tickets", sa.Column("external_due_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
    )
    op.create_index(
        "uq_tickets_external_number",
        "tickets",
        ["external_number"],
        unique=True,
        postgresql_where=sa.text(_GIVEN),
        sqlite_where=sa.text(_GIVEN),
    )


def downgrade() -> None:
    op.drop_index("uq_tickets_external_number", table_name="tickets")
    op.drop_column("tickets", "external_due_at")
    op.drop_column("tickets", "external_number")
