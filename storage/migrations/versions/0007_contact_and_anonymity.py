"""tickets: contact_phone (a call back wanted, on this number) and anonymous (name and contact
hidden from the assignee)

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# ADD COLUMN in place on both databases: a batch copy of `tickets` would have to drop a table
# that events, callbacks and the outbox point at.
def upgrade() -> None:
    op.add_column("tickets", sa.Column("contact_phone", sa.String(length=32), nullable=True))
    op.add_column(
        "tickets", sa.Column("anonymous", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    op.drop_column("tickets", "anonymous")
    op.drop_column("tickets", "contact_phone")
