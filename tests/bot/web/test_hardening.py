"""Issue #14, the web console: sign-in throttles, scrypt off the event loop, cookies and caching,
the flood guards of the resident chat and its photos, and bad numbers that used to be HTTP 500."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import timedelta

import aiohttp
from sqlmodel import col, func, select

from storage.models import Person
from tests.bot.web.conftest import DEMO_PASSWORD

STAFF = "赵主任"


def _client(console, address: str = "127.0.0.1") -> aiohttp.ClientSession:
    """A browser; `address` is its loopback source address (127.0.0.0/8 are all this machine),
    so a test can have a stranger and a staff member come from different places."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    return aiohttp.ClientSession(
        console.url, connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True)
    )


async def _csrf(client: aiohttp.ClientSession, page: str = "/login") -> str:
    async with client.get(page) as response:
        assert response.status == 200
    return client.cookie_jar.filter_cookies(client._base_url)["minhu_csrf"].value


async def _login(client: aiohttp.ClientSession, token: str, name: str, password: str) -> int:
    data = {"name": name, "password": password, "csrf": token}
    async with client.post("/login", data=data, allow_redirects=False) as response:
        return response.status


# --- the sign-in throttle ----------------------------------------------------------------------


async def test_spacing_variants_of_a_name_share_its_throttle(console):
    async with _client(console) as client:
        token = await _csrf(client)
        for _ in range(5):
            assert await _login(client, token, STAFF, "guess-guess") == 401
        for variant in (f" {STAFF}", f"{STAFF} ", f"\u3000{STAFF}\t", f"\n{STAFF}"):
            assert await _login(client, token, variant, "guess-guess") == 429, repr(variant)


async def test_concurrent_guesses_are_counted_before_they_are_checked(console):
    async with _client(console) as client:
        token = await _csrf(client)
        statuses = await asyncio.gather(
            *(_login(client, token, STAFF, f"guess-{n:04d}") for n in range(30))
        )
    assert statuses.count(401) == 5 and statuses.count(429) == 25


async def test_one_address_cannot_try_name_after_name(console):
    async with _client(console, "127.0.0.3") as client:
        token = await _csrf(client)
        statuses = [await _login(client, token, f"员工{n}", "guess-guess") for n in range(21)]
    assert statuses == [401] * 20 + [429]


async def test_a_stranger_cannot_lock_staff_out_for_long(console):
    async with _client(console, "127.0.0.2") as stranger:
        token = await _csrf(stranger)
        for _ in range(40):  # as fast as they can: most are refused before any check
            await _login(stranger, token, STAFF, "guess-guess")
    async with _client(console) as staff:
        token = await _csrf(staff)
        data = {"name": STAFF, "password": DEMO_PASSWORD, "csrf": token}
        async with staff.post("/login", data=data, allow_redirects=False) as refused:
            assert refused.status == 429
            assert 0 < int(refused.headers["Retry-After"]) <= 300
            assert "后再试" in await refused.text()
        console.clock.advance(timedelta(minutes=5))
        assert await _login(staff, token, STAFF, DEMO_PASSWORD) == 302


async def test_a_right_password_gives_its_attempt_back(console):
    async with _client(console) as client:
        token = await _csrf(client)
        for _ in range(8):  # signing in again and again is no attack
            assert await _login(client, token, STAFF, DEMO_PASSWORD) == 302
        for _ in range(4):
            assert await _login(client, token, STAFF, "guess-guess") == 401
        assert await _login(client, token, STAFF, DEMO_PASSWORD) == 302


async def test_password_checks_leave_the_event_loop_free(console, monkeypatch):
    """Four wrong passwords at once: every scrypt runs on another thread than the event loop's
    (on the loop, each check would hold every other request for its 50 ms). Which thread, not
    how long the loop waited, so a busy machine cannot make it pass or fail."""
    import hashlib
    import threading

    threads: list[int] = []
    scrypt = hashlib.scrypt

    def recorded(*args, **kwargs):
        threads.append(threading.get_ident())
        return scrypt(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", recorded)
    async with _client(console) as client:
        token = await _csrf(client)
        statuses = await asyncio.gather(*(_login(client, token, STAFF, "x" * 9) for _ in range(4)))
    assert statuses == [401] * 4
    assert len(threads) == 4 and threading.get_ident() not in threads


async def test_password_checks_run_a_bounded_number_at_once():
    from bot.web.auth import PasswordChecker, hash_password

    checker = PasswordChecker(max_parallel=2)
    stored = hash_password("the-password")
    peak = 0

    async def watch() -> None:
        nonlocal peak
        while True:
            peak = max(peak, checker.running)
            await asyncio.sleep(0.001)

    watching = asyncio.create_task(watch())
    results = await asyncio.gather(*(checker.verify("wrong-one", stored) for _ in range(6)))
    watching.cancel()
    assert results == [False] * 6 and peak == 2


# --- cookies, caching, the start-up warning ----------------------------------------------------


async def test_cookies_are_secure_behind_an_https_public_url(console_with):
    https = "https://minhu.example.org/"
    async with console_with(public_url=https) as console, _client(console) as client:
        async with client.get("/chat") as page:
            cookies = page.headers.getall("Set-Cookie")
        # A Secure cookie is not sent back over plain http: the form repeats it by hand.
        token = next(c for c in cookies if c.startswith("minhu_csrf=")).split(";")[0][11:]
        client.cookie_jar.update_cookies({"minhu_csrf": token})
        data = {"name": STAFF, "password": DEMO_PASSWORD, "csrf": token}
        async with client.post("/login", data=data, allow_redirects=False) as signed:
            cookies += signed.headers.getall("Set-Cookie")
    names = {cookie.split("=")[0] for cookie in cookies}
    assert {"minhu_csrf", "minhu_resident", "minhu_session"} <= names
    assert all("Secure" in cookie for cookie in cookies), cookies


async def test_plain_http_cookies_stay_usable_on_loopback(console):
    async with _client(console) as client, client.get("/chat") as page:
        assert not any("Secure" in cookie for cookie in page.headers.getall("Set-Cookie"))


async def test_personal_pages_are_never_cached(console):
    async with console.services.sessions() as session:
        number = await _a_ticket(session)
    async with _client(console) as client:
        token = await _csrf(client)
        assert await _login(client, token, STAFF, DEMO_PASSWORD) == 302
        for path in ("/dashboard", "/tickets", f"/tickets/{number}", "/tickets.csv", "/chat"):
            async with client.get(path) as response:
                assert response.status == 200, path
                assert response.headers.get("Cache-Control") == "no-store", path
        headers = {"X-CSRF-Token": token}
        async with client.post("/chat/send", json={"text": "/help"}, headers=headers) as answer:
            assert answer.headers.get("Cache-Control") == "no-store"


async def _a_ticket(session) -> str:
    from storage.models import Ticket

    return (await session.exec(select(Ticket.number))).first()


async def test_start_warns_when_the_console_is_open_without_tls(console_with, caplog):
    caplog.set_level(logging.WARNING, logger="bot.web.app")
    async with console_with(listen_host="0.0.0.0"):
        pass
    warned = [r.getMessage() for r in caplog.records if "MINHU_PUBLIC_URL" in r.getMessage()]
    assert len(warned) == 1 and "0.0.0.0" in warned[0]
    caplog.clear()
    async with console_with(listen_host="0.0.0.0", public_url="https://minhu.example.org"):
        pass
    async with console_with():  # loopback: only this machine can reach it
        pass
    assert not [r for r in caplog.records if "MINHU_PUBLIC_URL" in r.getMessage()]


# --- the resident chat's flood guards ----------------------------------------------------------


async def _new_resident_says(console, text: str) -> int:
    """A browser that drops its cookies: every visit is a new resident."""
    async with _client(console) as client:
        token = await _csrf(client, "/chat")
        headers = {"X-CSRF-Token": token}
        async with client.post("/chat/send", json={"text": text}, headers=headers) as response:
            if response.status == 429:
                assert "后再试" in (await response.json())["error"]
            return response.status


async def test_new_residents_from_one_address_are_limited(console_with):
    async with console_with(web_new_residents_per_hour=3) as console:
        statuses = [await _new_resident_says(console, "/start") for _ in range(5)]
        async with console.services.sessions() as session:
            web_residents = (
                await session.exec(
                    select(func.count())
                    .select_from(Person)
                    .where(col(Person.channel_user_id).startswith("web-"))
                )
            ).one()
        console.clock.advance(timedelta(hours=1))
        later = await _new_resident_says(console, "/start")
    assert statuses == [200] * 3 + [429] * 2 and web_residents == 3 and later == 200


async def test_a_known_resident_is_not_counted_again(console_with):
    async with console_with(web_new_residents_per_hour=1) as console, _client(console) as client:
        token = await _csrf(client, "/chat")
        headers = {"X-CSRF-Token": token}
        for text in ("/start", "/help", "/mytickets"):
            async with client.post("/chat/send", json={"text": text}, headers=headers) as answer:
                assert answer.status == 200, text


def _png() -> bytes:
    from handlers.charts import bar_chart_bytes

    return bar_chart_bytes("照片", (("a", 1),), "png")


async def _send_photo(client, token: str, data: bytes) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("photo", data, filename="p.png", content_type="image/png")
    async with client.post("/chat/photo", data=form, headers={"X-CSRF-Token": token}) as answer:
        await answer.read()
        return answer


async def test_photos_are_limited_in_size_and_number(console_with):
    picture = _png()
    async with console_with(web_photos_per_hour=2) as console, _client(console) as client:
        token = await _csrf(client, "/chat")
        too_big = picture + b"\0" * (5 * 1024 * 1024)
        assert (await _send_photo(client, token, too_big)).status == 400
        first = await _send_photo(client, token, picture)
        second = await _send_photo(client, token, picture + b"\0")
        third = await _send_photo(client, token, picture + b"\0\0")
        stored = sorted(p.name for p in console.media.iterdir())
    assert (first.status, second.status, third.status) == (200, 200, 429)
    assert len(stored) == 2


async def test_photos_never_attached_to_anything_are_removed(console):
    picture = _png()
    async with _client(console) as client:
        token = await _csrf(client, "/chat")
        # A photo without a caption waits in the resident's draft (conversation state).
        assert (await _send_photo(client, token, picture)).status == 200
    drafted = next(console.media.iterdir())
    orphan = console.media / ("ab" * 32 + ".jpg")
    orphan.write_bytes(b"\xff\xd8\xff never attached")
    fresh = console.media / ("cd" * 32 + ".png")
    fresh.write_bytes(b"\x89PNG\r\n\x1a\n still being handled")
    old = (console.clock.now() - timedelta(days=2)).timestamp()
    for path in (drafted, orphan):
        os.utime(path, (old, old))
    from bot.web.chat import remove_orphan_photos

    removed = await remove_orphan_photos(console.services, console.media)
    assert removed == 1
    assert sorted(p.name for p in console.media.iterdir()) == sorted([drafted.name, fresh.name])


# --- bad numbers and bad JSON are 400s ---------------------------------------------------------


async def test_numbers_out_of_range_are_bad_filters(console):
    async with _client(console) as client:
        token = await _csrf(client)
        assert await _login(client, token, STAFF, DEMO_PASSWORD) == 302
        for path in (
            "/tickets?area=9223372036854775808",
            "/tickets.csv?area=9223372036854775808",
            "/tickets?area=2147483648",
            "/tickets?area=%C2%B2",  # "²" is a digit to str.isdigit, not to int()
            "/tickets.csv?page=%C2%B2",
            "/dashboard?days=%C2%B2",
        ):
            async with client.get(path) as response:
                assert response.status == 400, path
                assert "筛选条件有误" in await response.text(), path


async def test_unreadable_chat_json_is_a_400(console):
    async with _client(console) as client:
        token = await _csrf(client, "/chat")
        headers = {"X-CSRF-Token": token, "Content-Type": "application/json"}
        for body in (
            "[" * 100_000 + "]" * 100_000,
            '{"latitude": 1' + "0" * 400 + ', "longitude": 0}',
            '{"text": "' + "长" * 70_000 + '"}',
        ):
            async with client.post("/chat/send", data=body, headers=headers) as response:
                assert response.status == 400, body[:20]
                assert "无法识别" in (await response.json())["error"]


async def test_an_over_long_chat_text_is_refused_with_its_true_length(console):
    async with _client(console) as client:
        token = await _csrf(client, "/chat")
        headers = {"X-CSRF-Token": token}
        async with client.post("/chat/send", json={"text": "长" * 5000}, headers=headers) as sent:
            replies = (await sent.json())["replies"]
    # Not cut to 4,096 on the way in: the resident is told what they sent and what holds.
    assert [r["text"] for r in replies] == ["消息太长（5000 字），请精简到 4000 字以内再发送。"]
