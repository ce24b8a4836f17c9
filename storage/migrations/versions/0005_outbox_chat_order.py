"""outbox: ix_outbox_chat_pending, a chat's pending messages in order, for the per-chat claim

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "sent_at IS NULL AND parked_at IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_outbox_chat_pending",
        "outbox",
        ["channel", "chat_id", "id"],
        unique=False,
        postgresql_where=sa.text(PENDING),
        sqlite_where=sa.text(PENDING),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_chat_pending", table_name="outbox")
