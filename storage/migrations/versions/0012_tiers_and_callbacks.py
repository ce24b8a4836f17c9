"""tickets: tier, 包案 leader and 未回访; ticket_callbacks: staff 回访 records (句号管理)

A staff member's 回访 record may say nobody answered: its solved and satisfaction stay empty and
it counts in no rate. 未回访 (closed by the clock without a 回访) joins the statistics indexes,
so the 三率 and it are read from the indexes alone.

Revision ID: 0012
Revises: 0014
Create Date: 2026-11-30 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RATES = ["assigned_at", "accepted_in_time"]
_STATISTICS = {
    "ix_tickets_area_created": ["area_id", "created_at"],
    "ix_tickets_assignee_created": ["assignee_id", "created_at"],
    "ix_tickets_created_at": ["created_at"],
}


def _statistics_indexes(rates: list[str]) -> None:
    for name, columns in _STATISTICS.items():
        op.drop_index(name, table_name="tickets")
        op.create_index(name, "tickets", [*columns, *rates], unique=False)


def upgrade() -> None:
    # tickets: ADD COLUMN in place on both databases, as 0011 does (a batch copy would turn
    # 0011's column-level REFERENCES into a table constraint SQLite cannot drop a column from).
    op.add_column("tickets", sa.Column("tier", sa.String(length=16), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE tickets ADD COLUMN leader_id INTEGER REFERENCES people (id)")
    else:
        op.add_column(
            "tickets",
            sa.Column("leader_id", sa.Integer(), sa.ForeignKey("people.id"), nullable=True),
        )
    op.add_column(
        "tickets", sa.Column("unvisited", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    _statistics_indexes([*_RATES, "unvisited"])
    # Nothing points at ticket_callbacks: a batch copy is safe, and SQLite needs one to make
    # solved and satisfaction nullable.
    with op.batch_alter_table("ticket_callbacks", schema=None) as batch_op:
        batch_op.alter_column("solved", existing_type=sa.Boolean(), nullable=True)
        batch_op.alter_column("satisfaction", existing_type=sa.String(length=16), nullable=True)
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="resident")
        )
        batch_op.add_column(sa.Column("recorded_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("reached", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.create_foreign_key(
            "fk_ticket_callbacks_recorded_by_id", "people", ["recorded_by_id"], ["id"]
        )


def downgrade() -> None:
    op.execute("DELETE FROM ticket_callbacks WHERE NOT reached")
    with op.batch_alter_table("ticket_callbacks", schema=None) as batch_op:
        batch_op.drop_constraint("fk_ticket_callbacks_recorded_by_id", type_="foreignkey")
        batch_op.drop_column("reached")
        batch_op.drop_column("recorded_by_id")
        batch_op.drop_column("kind")
        batch_op.alter_column("satisfaction", existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column("solved", existing_type=sa.Boolean(), nullable=False)
    _statistics_indexes(_RATES)
    # DROP COLUMN in place (SQLite ≥ 3.35 takes it for a column-level REFERENCES).
    for column in ("unvisited", "leader_id", "tier"):
        op.drop_column("tickets", column)
