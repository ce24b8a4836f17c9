"""Staff's category corrections, as teaching material for the classifier (`minhu nlp mine
--from-db`): the complaint text with the category staff chose, the latest choice per ticket."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CategoryCorrection, Ticket


async def category_corrections(session: AsyncSession) -> list[tuple[str, str]]:
    query = (
        select(Ticket.id, Ticket.text, CategoryCorrection.new_category)
        .join(CategoryCorrection, col(CategoryCorrection.ticket_id) == Ticket.id)
        .order_by(col(CategoryCorrection.id))
    )
    latest: dict[int, tuple[str, str]] = {}
    for ticket_id, text, category in (await session.exec(query)).all():
        latest[ticket_id] = (text, category)  # a later correction of the same ticket wins
    return list(latest.values())
