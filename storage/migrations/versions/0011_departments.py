"""departments: 职能部门, the category → department table, ticket parts (主办/协办/吹哨)

`departments` are the directory file's functional departments, each serving an area and
everything below it; `department_categories` is the category → department table; a handler's
`people.department_id` and a ticket's lead `tickets.department_id`; `ticket_parts` holds each
department's part of a ticket with its own clocks.

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-30 16:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIMES = ("finished_at", "returned_at", "reported_at")
_CLOCKS = (
    "due_accept_at",
    "due_finish_at",
    "due_report_at",
    "remind_at",
    "escalate_at",
    "next_due_at",
)


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["area_id"], ["areas.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_departments_code", "departments", ["code"], unique=True)
    op.create_index("ix_departments_area_id", "departments", ["area_id"], unique=False)

    op.create_table(
        "department_categories",
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.PrimaryKeyConstraint("category", "department_id"),
    )
    op.create_index(
        "ix_department_categories_department_id",
        "department_categories",
        ["department_id"],
        unique=False,
    )

    # ADD COLUMN in place on both databases (a batch copy would drop tables others point at);
    # SQLite takes the REFERENCES clause on a nullable column added this way.
    for table in ("people", "tickets"):
        if op.get_bind().dialect.name == "sqlite":
            # Alembic adds the foreign key as a separate ALTER, which SQLite lacks.
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN department_id INTEGER REFERENCES departments (id)"
            )
        else:
            op.add_column(
                table,
                sa.Column(
                    "department_id", sa.Integer(), sa.ForeignKey("departments.id"), nullable=True
                ),
            )
        op.create_index(f"ix_{table}_department_id", table, ["department_id"], unique=False)

    op.create_table(
        "ticket_parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("accepted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        *(sa.Column(name, sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True) for name in _TIMES),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        *(sa.Column(name, sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True) for name in _CLOCKS),
        sa.Column("accepted_in_time", sa.Boolean(), nullable=True),
        sa.Column("reported_in_time", sa.Boolean(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["people.id"]),
        sa.ForeignKeyConstraint(["accepted_by_id"], ["people.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ticket_parts_ticket_id", "ticket_parts", ["ticket_id"], unique=False)
    op.create_index("ix_ticket_parts_department_state", "ticket_parts", ["department_id", "state"])
    op.create_index(
        "ix_ticket_parts_next_due_at",
        "ticket_parts",
        ["next_due_at"],
        unique=False,
        postgresql_where=sa.text("next_due_at IS NOT NULL"),
        sqlite_where=sa.text("next_due_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_table("ticket_parts")
    for table in ("tickets", "people"):
        op.drop_index(f"ix_{table}_department_id", table_name=table)
        # DROP COLUMN in place (SQLite ≥ 3.35 takes it for a column-level REFERENCES).
        op.drop_column(table, "department_id")
    op.drop_table("department_categories")
    op.drop_table("departments")
