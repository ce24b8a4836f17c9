"""areas: latitude/longitude become centre_latitude/centre_longitude

The directory file's latitude and longitude are the area's centre; a boundary will sit beside it,
so the columns say which point they hold. A rename keeps the points already stored.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 10:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# RENAME COLUMN in place on both databases (SQLite ≥ 3.25): a batch copy of `areas` would have to
# drop a table that people and tickets point at.
_RENAMES = (("latitude", "centre_latitude"), ("longitude", "centre_longitude"))


def upgrade() -> None:
    for old, new in _RENAMES:
        op.alter_column("areas", old, new_column_name=new)


def downgrade() -> None:
    for old, new in _RENAMES:
        op.alter_column("areas", new, new_column_name=old)
