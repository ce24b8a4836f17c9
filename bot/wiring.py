"""Wiring: the engine, session factory and domain policy built from settings, opened and closed
in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings
from handlers.context import Deps
from storage.engine import SessionFactory, make_engine, make_session_factory
from storage.schema import upgrade_async
from tickets.policy import Policy


@dataclass(frozen=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    policy: Policy

    def deps(self) -> Deps:
        """What the conversations need; the classifier's rules are loaded once per process."""
        # Imported here: commands that never classify (db upgrade) need not load jieba.
        from nlp.classifier import Classifier

        rules = self.settings.rules_file
        classifier = Classifier.from_file(rules) if rules else Classifier.default()
        return Deps(
            sessions=self.sessions,
            policy=self.policy,
            classifier=classifier,
            quiet_seconds=self.settings.draft_quiet_seconds,
        )


@asynccontextmanager
async def open_services(settings: Settings, *, migrate: bool = True) -> AsyncIterator[Services]:
    """Bring the database schema up to date, then hand out what the commands need."""
    if migrate:
        await upgrade_async(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        yield Services(settings, engine, make_session_factory(engine), settings.policy())
    finally:
        await engine.dispose()
