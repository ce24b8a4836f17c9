"""tickets: due_dispatch_at, triage's own clock; ix_tickets_state_created carries it

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATE_CREATED = ["state", "created_at", "due_accept_at", "due_resolve_at", "handling_area_id"]


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(
            sa.Column("due_dispatch_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.drop_index("ix_tickets_state_created", table_name="tickets")
    op.create_index(
        "ix_tickets_state_created", "tickets", [*_STATE_CREATED, "due_dispatch_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_state_created", table_name="tickets")
    op.create_index("ix_tickets_state_created", "tickets", _STATE_CREATED, unique=False)
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("due_dispatch_at")
