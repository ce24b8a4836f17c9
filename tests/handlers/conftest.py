"""Scenario fixtures: the real handlers, the real classifier, a database, the cast of people."""

from __future__ import annotations

import pytest

from handlers.context import Deps
from tests.factories import cast_in
from tests.handlers.channel import Chat


@pytest.fixture(scope="session")
def classifier():
    from nlp.classifier import Classifier

    return Classifier.default()


@pytest.fixture
async def cast(sessions, policy):
    return await cast_in(sessions, policy)


@pytest.fixture
def deps(sessions, policy, classifier) -> Deps:
    return Deps(sessions=sessions, policy=policy, classifier=classifier)


@pytest.fixture
def chat(deps, cast) -> Chat:
    return Chat(deps)
