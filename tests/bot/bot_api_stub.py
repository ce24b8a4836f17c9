"""A stand-in for Telegram's Bot API `sendMessage` on aiohttp, strict about the rate limits, and
a minimal sender that speaks to it. Used by the delivery crash test and `bench/bench_delivery.py`
until the aiogram / python-telegram-bot senders are wired in (they replace `HttpSender`; the
server stays).

The server answers 429 with `retry_after` when a message would make more than `per_second`
accepted messages in any one-second window, or when a chat got a message less than
`per_chat_seconds` ago: with a correct pacer it never answers 429.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.delivery.sending import ChatUnreachable, RetryAfter, TemporaryFailure


@dataclass
class Arrival:
    chat_id: str
    text: str
    at: float


@dataclass
class BotApiStub:
    per_second: int = 30
    per_chat_seconds: float = 1.0
    blocked: set[str] = field(default_factory=set)
    accepted: list[Arrival] = field(default_factory=list)
    too_many: int = 0
    too_many_per_chat: int = 0
    # While set, requests are recorded as received and left unanswered (sends in flight) until
    # `let_go`; they are then answered with an error, to a client long dead.
    hold: bool = False
    held: list[Arrival] = field(default_factory=list)
    _let_go: asyncio.Event = field(default_factory=asyncio.Event)
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    reach_at: int | None = None
    _window: deque[float] = field(default_factory=deque)
    _chat_last: dict[str, float] = field(default_factory=dict)

    def let_go(self) -> None:
        """Stop holding; answer normally from now on."""
        self.hold = False
        self._let_go.set()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/sendMessage", self._send_message)
        return app

    async def _send_message(self, request: web.Request) -> web.Response:
        payload = await request.json()
        now = time.monotonic()
        arrival = Arrival(str(payload["chat_id"]), payload.get("text", ""), now)
        if self.hold:
            self.held.append(arrival)
            await self._let_go.wait()
            return _error(502, "Bad Gateway")
        if arrival.chat_id in self.blocked:
            return _error(403, "Forbidden: bot was blocked by the user")
        while self._window and now - self._window[0] >= 1.0:
            self._window.popleft()
        chat_last = self._chat_last.get(arrival.chat_id)
        chat_too_soon = chat_last is not None and now - chat_last < self.per_chat_seconds
        if len(self._window) >= self.per_second or chat_too_soon:
            self.too_many += 1
            self.too_many_per_chat += chat_too_soon
            return _error(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        self._window.append(now)
        self._chat_last[arrival.chat_id] = now
        self.accepted.append(arrival)
        if self.reach_at is not None and len(self.accepted) >= self.reach_at:
            self.reached.set()
        message = {"message_id": len(self.accepted), "date": int(time.time())}
        message["chat"] = {"id": int(arrival.chat_id), "type": "private"}
        message["text"] = arrival.text
        return web.json_response({"ok": True, "result": message})


def _error(code: int, description: str, parameters: dict | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)


async def serve(
    stub: BotApiStub, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, str]:
    """Start the stub; returns the runner (to clean up) and its base URL."""
    runner = web.AppRunner(stub.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    return runner, f"http://{bound[0]}:{bound[1]}"


class HttpSender:
    """`sendMessage` over plain aiohttp, mapping the Bot API's answers onto the delivery errors."""

    def __init__(self, base_url: str, token: str = "123:stub") -> None:
        self._url = f"{base_url}/bot{token}/sendMessage"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))

    async def send(self, chat_id: str, body: Mapping[str, Any]) -> None:
        try:
            async with self._session.post(
                self._url, json={"chat_id": chat_id, "text": body["text"]}
            ) as response:
                answer = await response.json()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TemporaryFailure(type(error).__name__) from error
        if answer.get("ok"):
            return
        code, description = answer.get("error_code"), answer.get("description", "")
        if code == 429:
            raise RetryAfter(float(answer.get("parameters", {}).get("retry_after", 1)), description)
        if code == 403 or (code == 400 and "chat not found" in description):
            raise ChatUnreachable(description)
        raise TemporaryFailure(f"{code}: {description}")

    async def aclose(self) -> None:
        await self._session.close()


def stats_app(stub: BotApiStub) -> web.Application:
    """The stub plus GET /stats: what arrived, for a client in another process."""
    app = stub.app()

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response(
            {
                "accepted": [[a.chat_id, a.text, a.at] for a in stub.accepted],
                "too_many": stub.too_many,
                "too_many_per_chat": stub.too_many_per_chat,
            }
        )

    app.router.add_get("/stats", stats)
    return app


def main() -> None:
    """`python -m tests.bot.bot_api_stub PORT [PER_SECOND]`: the stub in a process of its own,
    so its arrival times are not those of the client's busy event loop."""
    import sys

    port = int(sys.argv[1])
    per_second = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    web.run_app(
        stats_app(BotApiStub(per_second=per_second)),
        host="127.0.0.1",
        port=port,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
