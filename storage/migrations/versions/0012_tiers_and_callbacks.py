"""tickets: tier, 包案 leader and 未回访; ticket_callbacks: staff 回访 records (句号管理)

A staff member's 回访 record may say nobody answered: its solved and satisfaction stay empty and
it counts in no rate. 未回访 (closed by the clock without a 回访) joins the statistics indexes,
so the 三率 and it are read from the indexes alone.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RATES = ["assigned_at", "accepted_in_time"]
_STATISTICS = {
    "ix_tickets_area_created": ["area_id", "created_at"],
    "ix_tickets_assignee_created": ["assignee_id", "created_at"],
    "ix_tickets_created_at": ["created_at"],
}


def _statistics_indexes(batch_op, rates: list[str]) -> None:
    for name, columns in _STATISTICS.items():
        batch_op.drop_index(name)
        batch_op.create_index(name, [*columns, *rates])


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tier", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("leader_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("unvisited", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_foreign_key("fk_tickets_leader_id", "people", ["leader_id"], ["id"])
        _statistics_indexes(batch_op, [*_RATES, "unvisited"])
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
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        _statistics_indexes(batch_op, _RATES)
        batch_op.drop_constraint("fk_tickets_leader_id", type_="foreignkey")
        batch_op.drop_column("unvisited")
        batch_op.drop_column("leader_id")
        batch_op.drop_column("tier")
