"""web console: people.password_hash, web_sessions, the dashboard's ticket indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(
            sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_web_sessions_person_id", "web_sessions", ["person_id"], unique=False)
    op.create_index(
        "ix_tickets_state_created",
        "tickets",
        ["state", "created_at", "due_accept_at", "due_resolve_at", "handling_area_id"],
        unique=False,
    )
    op.create_index(
        "ix_tickets_created_dims", "tickets", ["created_at", "area_id", "category"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_created_dims", table_name="tickets")
    op.drop_index("ix_tickets_state_created", table_name="tickets")
    op.drop_index("ix_web_sessions_person_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("password_hash")
