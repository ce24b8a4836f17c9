"""aiogram's Bot API answer models stay built for the life of the process."""

from __future__ import annotations

import gc
import weakref

from aiogram.methods import SendMessage
from aiogram.methods.base import Response

import bot.telegram.aiogram_adapter  # noqa: F401  (it holds the models)


def _answer_model() -> weakref.ref:
    # Parametrised inside a function, as aiogram does for every answer: a module-level
    # subscription would be kept alive by the module's globals and prove nothing.
    return weakref.ref(Response[SendMessage.__returning__])


def test_the_send_message_answer_model_survives_a_full_collection():
    model = _answer_model()
    gc.collect()
    assert model() is not None, "pydantic dropped Response[Message]: the next send rebuilds it"
    assert _answer_model()() is model()
