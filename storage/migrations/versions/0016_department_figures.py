"""ticket_callbacks.department_id and the indexes behind 三率 per department

A callback now carries the department that led its ticket (as it carries the area and the
worker), so 解决率 and 满意率 per department are read from one index instead of a join over
the tickets; the parts' 响应率 and 报到 are read from an index of their own.

Revision ID: 0016
Revises: 0012
Create Date: 2026-11-30 17:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CALLBACKS = ["department_id", "at", "solved", "satisfaction"]
_PARTS = ["department_id", "created_at", "role", "state", "accepted_in_time", "reported_in_time"]


def upgrade() -> None:
    # ADD COLUMN in place, as 0011 and 0012 do (SQLite takes a column-level REFERENCES).
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE ticket_callbacks ADD COLUMN department_id INTEGER "
            "REFERENCES departments (id)"
        )
    else:
        op.add_column(
            "ticket_callbacks",
            sa.Column(
                "department_id", sa.Integer(), sa.ForeignKey("departments.id"), nullable=True
            ),
        )
    op.execute(
        "UPDATE ticket_callbacks SET department_id = "
        "(SELECT department_id FROM tickets WHERE tickets.id = ticket_callbacks.ticket_id)"
    )
    op.create_index("ix_callbacks_department_at", "ticket_callbacks", _CALLBACKS, unique=False)
    op.create_index("ix_ticket_parts_rates", "ticket_parts", _PARTS, unique=False)


def downgrade() -> None:
    op.drop_index("ix_ticket_parts_rates", table_name="ticket_parts")
    op.drop_index("ix_callbacks_department_at", table_name="ticket_callbacks")
    op.drop_column("ticket_callbacks", "department_id")
