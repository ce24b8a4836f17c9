"""Open311: ix_tickets_service, a service's newest tickets for GET requests

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 17:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_service", "tickets", ["category", "subcategory", "created_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_service", table_name="tickets")
