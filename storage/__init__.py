"""Storage: SQLModel tables, the async engine and session factory, repositories, migrations."""

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

# The names the layers above use for a unit of work and for a write that collided with another
# (a redelivered update recorded twice, a unique key taken meanwhile), so that they need not
# import SQLAlchemy themselves.
Session = AsyncSession
WriteConflict = IntegrityError

__all__ = ["Session", "WriteConflict"]
