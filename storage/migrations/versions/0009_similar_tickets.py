"""tickets: ix_tickets_similar, a community's open tickets by category, for duplicate suggestions

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_similar",
        "tickets",
        ["area_id", "category", "state", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_similar", table_name="tickets")
