"""Outbox drain benchmark (issue #5): queued messages to many chats through the real delivery loop
against a local Bot API `sendMessage` stub that answers 429 as soon as our pacing fails (more than
`--limit` messages in any one-second window, or two to one chat within a second).

    python bench/bench_delivery.py                    # 10,000 messages to 1,000 chats, ~7 min
    python bench/bench_delivery.py --messages 1500    # a quick run, ~1 min
    python bench/bench_delivery.py --database-url postgresql+asyncpg://…/test_dl --redis-url redis://…/2

Prints one JSON object: the sustained rate at the server (first to last accepted message), its
ratio to the limit (the issue asks ≥ 0.93 and no 429), the 429s, lost and doubled messages, and a
baseline measured in the same run: the same stub fed by a bare loop with the same pacer and no
database. `HttpSender` (plain aiohttp) stands in for the aiogram / python-telegram-bot senders;
swap one in at `make_sender`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import platform
import random
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.delivery.loop import Deliverer, DeliveryPolicy  # noqa: E402
from bot.delivery.pacing import Pacer, RedisPacer, build_pacer  # noqa: E402
from bot.settings import Settings  # noqa: E402
from storage.engine import make_engine, make_session_factory  # noqa: E402
from storage.outbox import enqueue_many, outbox_row  # noqa: E402
from storage.schema import create_all, drop_all  # noqa: E402
from tests.bot.bot_api_stub import HttpSender  # noqa: E402
from tickets.clock import SystemClock  # noqa: E402


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def make_sender(base_url: str) -> HttpSender:
    return HttpSender(base_url)


def make_pacer(limit: float, redis_url: str | None) -> Pacer:
    return build_pacer(Settings(_env_file=None, send_per_second=limit, redis_url=redis_url))


def workload(messages: int, chats: int, seed: int = 5) -> list[str]:
    """Every chat gets its share; the order is shuffled, so one chat's messages sometimes come
    close together and the pacer has to defer them."""
    chat_ids = [str(100_000 + index % chats) for index in range(messages)]
    random.Random(seed).shuffle(chat_ids)
    return chat_ids


def measured(stats: dict[str, Any], limit: float, expected: int) -> dict[str, Any]:
    arrivals = stats["accepted"]  # [chat_id, text, arrival time] in arrival order
    counts = collections.Counter(text for _, text, _ in arrivals)
    span = arrivals[-1][2] - arrivals[0][2] if len(arrivals) > 1 else 0.0
    rate = (len(arrivals) - 1) / span if span else 0.0
    return {
        "accepted": len(arrivals),
        "seconds": round(span, 2),
        "rate_per_s": round(rate, 2),
        "ratio_to_limit": round(rate / limit, 4),
        "too_many_429": stats["too_many"],
        "of_which_per_chat": stats["too_many_per_chat"],
        "lost": expected - len(counts),
        "doubled": sum(1 for count in counts.values() if count > 1),
    }


@contextlib.asynccontextmanager
async def stub_server(limit: float) -> AsyncIterator[tuple[str, Callable[[], Awaitable[dict]]]]:
    """The sendMessage stub in a process of its own (as Telegram is): its clock reads arrivals,
    not the moments our busy event loop gets round to them. Yields its URL and a stats getter."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.bot.bot_api_stub", str(port), str(int(limit)), cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    client = aiohttp.ClientSession()

    async def stats() -> dict:
        async with client.get(f"{base}/stats") as response:
            return await response.json()

    try:
        async with asyncio.timeout(30):
            while True:
                try:
                    await stats()
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)  # the server is starting
        yield base, stats
    finally:
        await client.close()
        server.terminate()
        await server.wait()


async def drain_outbox(args: argparse.Namespace, chat_ids: list[str]) -> dict[str, Any]:
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/bench_delivery.db"
    engine = make_engine(url)
    await drop_all(engine)
    await create_all(engine)
    sessions = make_session_factory(engine)
    clock = SystemClock()
    now = clock.now()
    rows = [
        outbox_row(
            dedupe_key=f"bench:{index}",
            person_id=None,
            channel="telegram",
            chat_id=chat_id,
            body={"text": f"m{index}", "buttons": []},
            now=now,
        )
        for index, chat_id in enumerate(chat_ids)
    ]
    async with sessions() as session:
        for start in range(0, len(rows), 2000):
            await enqueue_many(session, rows[start : start + 2000])
        await session.commit()
    log(f"queued {len(rows)} messages in {url.split('://')[0]}")

    async with stub_server(args.limit) as (base, stats):
        sender = make_sender(base)
        pacer = make_pacer(args.limit, args.redis_url)
        deliverer = Deliverer(sessions, sender, pacer, clock, policy=DeliveryPolicy())
        await deliver_all(deliverer)
        await sender.aclose()
        if isinstance(pacer, RedisPacer):
            await pacer.aclose()
        arrived = await stats()
    await engine.dispose()
    return measured(arrived, args.limit, len(chat_ids)) | {"database": url.split("+")[0]}


async def deliver_all(deliverer: Deliverer) -> None:
    while True:
        report = await deliverer.deliver_once()
        wait = await deliverer.next_due_in()
        log(f"  pass: {report.sent} sent, {report.deferred} deferred, next in {wait}")
        if wait is None:
            return
        await asyncio.sleep(max(wait, 0.05))  # a deferred message's chat is free again


async def bare_loop(args: argparse.Namespace, chat_ids: list[str]) -> dict[str, Any]:
    """The same pacer and stub, no database: the ceiling the outbox loop is measured against."""
    async with stub_server(args.limit) as (base, stats):
        sender = make_sender(base)
        pacer = make_pacer(args.limit, args.redis_url)
        try:
            await bare_sends(sender, pacer, chat_ids)
        finally:
            await sender.aclose()
            if isinstance(pacer, RedisPacer):
                await pacer.aclose()
        arrived = await stats()
    return measured(arrived, args.limit, len(chat_ids))


async def bare_sends(sender: HttpSender, pacer: Pacer, chat_ids: list[str]) -> None:
    if isinstance(pacer, RedisPacer):  # a fresh schedule: the outbox run's slots are over
        keys = [key async for key in pacer.redis.scan_iter("{minhu:pace:*")]
        if keys:
            await pacer.redis.delete(*keys)
    in_flight = asyncio.Semaphore(16)
    sends: set[asyncio.Task[None]] = set()
    waiting = collections.deque(enumerate(chat_ids))
    while waiting:
        index, chat_id = waiting.popleft()
        now = time.time()
        slot = await pacer.reserve(chat_id, now)
        if not slot.granted:
            waiting.append((index, chat_id))
            continue
        if slot.at > now:
            await asyncio.sleep(slot.at - now)
        await in_flight.acquire()
        task = asyncio.create_task(sender.send(chat_id, {"text": f"m{index}"}))
        task.add_done_callback(lambda _task: in_flight.release())
        sends.add(task)
    await asyncio.gather(*sends, return_exceptions=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--chats", type=int, default=1_000)
    parser.add_argument("--limit", type=float, default=30.0, help="the stub's messages per second")
    parser.add_argument("--baseline-messages", type=int, default=1_500)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--redis-url", default=None, help="pace through Redis (shared budget)")
    args = parser.parse_args()

    outbox = await drain_outbox(args, workload(args.messages, args.chats))
    baseline_ids = workload(min(args.baseline_messages, args.messages), args.chats)
    log(f"baseline: {len(baseline_ids)} messages, bare loop")
    baseline = await bare_loop(args, baseline_ids)
    result = {
        "benchmark": "outbox drain",
        "messages": args.messages,
        "chats": args.chats,
        "limit_per_s": args.limit,
        "pacer": "redis" if args.redis_url else "memory",
        "outbox": outbox,
        "baseline_bare_loop": baseline,
        "outbox_over_baseline": round(outbox["rate_per_s"] / baseline["rate_per_s"], 4)
        if baseline["rate_per_s"]
        else None,
        "meets_issue": outbox["ratio_to_limit"] >= 0.93 and outbox["too_many_429"] == 0,
        "python": platform.python_version(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
