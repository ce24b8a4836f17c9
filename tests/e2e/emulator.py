"""The Telegram Bot API emulator (telegram-test-api with the project's shim, emulator/shim.js)
and the people who use it: each `Person` writes, sends photos and locations, presses buttons by
their visible text, and reads what the bot sent to their chat.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

EMULATOR_DIR = Path(__file__).parent / "emulator"
BOT_USER = {"id": 666, "is_bot": True, "first_name": "MinHu Test", "username": "minhu_test_bot"}
# Generous: two shared cores, and the classifier loads in the first turn.
WAIT_SECONDS = float(os.environ.get("MINHU_E2E_WAIT", "30"))


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}, but CI=true requires the end-to-end tests")
    pytest.skip(reason)


class EmulatorProcess:
    """`node shim.js 0` on 127.0.0.1, on a free port it reports when it is ready."""

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None:
            _unavailable("node is not installed (the Telegram emulator needs it)")
        if not (EMULATOR_DIR / "node_modules" / "telegram-test-api").is_dir():
            _unavailable(f"the emulator is not installed: run `npm ci` in {EMULATOR_DIR}")
        self.process = subprocess.Popen(
            [str(node), "shim.js", "0"],
            cwd=EMULATOR_DIR,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.kill()
            raise RuntimeError("the Telegram emulator did not start")
        self.url = f"http://127.0.0.1:{json.loads(line)['port']}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@dataclass
class Message:
    """One message the bot sent to a chat, as the person sees it."""

    message_id: int
    text: str
    buttons: list[list[dict[str, str]]]
    photo: bool = False
    file_id: str | None = None  # a photo's file id (its largest size)
    location: tuple[float, float] | None = None
    keyboard: list[list[dict[str, Any]]] = field(default_factory=list)  # under the text field

    def button(self, label: str) -> str | None:
        for row in self.buttons:
            for button in row:
                if button["text"] == label:
                    return button["callback_data"]
        return None


@dataclass
class Emulator:
    url: str
    http: aiohttp.ClientSession

    async def post(self, path: str, payload: dict[str, Any]) -> Any:
        async with self.http.post(f"{self.url}{path}", json=payload) as response:
            response.raise_for_status()
            return await response.json()

    async def fail(self, method: str, count: int, **failure: Any) -> None:
        """The next `count` calls of `method` fail (429 with retry_after unless told else)."""
        await self.post("/_shim/fail", {"method": method, "count": count, **failure})

    async def state(self) -> dict[str, Any]:
        async with self.http.get(f"{self.url}/_shim/state") as response:
            return await response.json()

    def person(self, token: str, user_id: int, name: str, language: str = "zh-hans") -> Person:
        return Person(self, token, user_id, name, language)


@dataclass
class Person:
    emulator: Emulator
    token: str
    user_id: int
    name: str
    language: str
    inbox: list[Message] = field(default_factory=list)
    read: int = 0  # messages already consumed by next()

    @property
    def _user(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "is_bot": False,
            "first_name": self.name,
            "language_code": self.language,
        }

    def _message(self, **content: Any) -> dict[str, Any]:
        chat = {"id": self.user_id, "type": "private", "first_name": self.name}
        return {
            "botToken": self.token,
            "from": self._user,
            "chat": chat,
            "date": int(time.time()),
            **content,
        }

    async def say(self, text: str) -> None:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            length = len(text.split(" ", 1)[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        await self.emulator.post("/sendMessage", self._message(**content))

    async def photo(self, file_id: str, caption: str = "") -> None:
        sizes = [
            {
                "file_id": f"{file_id}-small",
                "file_unique_id": f"{file_id}s",
                "width": 90,
                "height": 90,
            },
            {"file_id": file_id, "file_unique_id": file_id, "width": 1280, "height": 960},
        ]
        await self.emulator.post("/sendMessage", self._message(photo=sizes, caption=caption))

    async def location(self, latitude: float, longitude: float) -> None:
        location = {"latitude": latitude, "longitude": longitude}
        await self.emulator.post("/sendMessage", self._message(location=location))

    async def contact(self, phone: str) -> None:
        """Share a phone number with the contact button (the person's own)."""
        contact = {"phone_number": phone, "first_name": self.name, "user_id": self.user_id}
        await self.emulator.post("/sendMessage", self._message(contact=contact))

    async def sticker(self) -> None:
        sticker = {
            "file_id": "sticker-1",
            "file_unique_id": "sticker1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        await self.emulator.post("/sendMessage", self._message(sticker=sticker))

    async def press(self, label: str, *, on: str = "") -> None:
        """Press `label` on the newest message that shows it (and whose text contains `on`)."""
        for message in reversed(self.inbox):
            data = message.button(label) if on in message.text else None
            if data is not None:
                await self.press_data(data, message.message_id)
                return
        raise AssertionError(f"{self.name} sees no button {label!r}")

    async def press_data(self, data: str, message_id: int = 1) -> None:
        """A callback query with any data at all, as a forged or stale button would send."""
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": self.user_id, "type": "private", "first_name": self.name},
            "from": BOT_USER,
            "text": "…",
        }
        query = {"botToken": self.token, "from": self._user, "message": message, "data": data}
        await self.emulator.post("/sendCallback", query)

    async def _fetch(self) -> None:
        payload = {"token": self.token, "chatId": self.user_id}
        answer = await self.emulator.post("/getUpdates", payload)
        for stored in answer["result"]:
            body = stored["message"]
            markup = body.get("reply_markup") or {}
            photo, place = body.get("photo"), body.get("location")
            self.inbox.append(
                Message(
                    message_id=stored["messageId"],
                    text=body.get("text") or body.get("caption") or "",
                    buttons=markup.get("inline_keyboard") or [],
                    photo=bool(photo),
                    file_id=photo[-1]["file_id"] if isinstance(photo, list) else None,
                    location=(place["latitude"], place["longitude"]) if place else None,
                    keyboard=markup.get("keyboard") or [],
                )
            )

    async def next(self, timeout: float = WAIT_SECONDS) -> Message:
        """The next message the bot sends this person, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        while len(self.inbox) <= self.read:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} got no message within {timeout:g} s")
            await self._fetch()
            if len(self.inbox) <= self.read:
                await asyncio.sleep(0.02)
        self.read += 1
        return self.inbox[self.read - 1]

    async def expect(self, beginning: str) -> Message:
        message = await self.next()
        assert message.text.startswith(beginning), (self.name, beginning, message.text)
        return message

    async def quiet(self, seconds: float = 0.5) -> list[str]:
        """What arrives within `seconds` (for checking that nothing more comes)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await self._fetch()
            await asyncio.sleep(0.05)
        extra = [message.text for message in self.inbox[self.read :]]
        self.read = len(self.inbox)
        return extra
