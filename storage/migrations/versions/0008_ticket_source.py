"""tickets: source (resident chat, 代办, patrol, hotline, API) and the 代办 resident's contact

Existing tickets all came from residents' chats. The source joins ix_tickets_created_dims, so
tickets per source in a period are counted from the index alone, as categories are.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "source", sa.String(length=16), nullable=False, server_default="resident_chat"
            )
        )
        batch_op.add_column(sa.Column("on_behalf_name", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("on_behalf_phone", sa.String(length=32), nullable=True))
        batch_op.drop_index("ix_tickets_created_dims")
        batch_op.create_index(
            "ix_tickets_created_dims", ["created_at", "area_id", "category", "source"]
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_created_dims")
        batch_op.create_index("ix_tickets_created_dims", ["created_at", "area_id", "category"])
        batch_op.drop_column("on_behalf_phone")
        batch_op.drop_column("on_behalf_name")
        batch_op.drop_column("source")
