"""The console over HTTP without a browser: who may see what, CSRF, bad input, the CSV export."""

from __future__ import annotations

import csv
import io
import re

import aiohttp
import pytest
from sqlmodel import select

from bot.web.auth import hash_password, verify_password
from storage.models import Area, Department, Person, Ticket, TicketPart
from tests.bot.web.conftest import DEMO_PASSWORD


async def _client(console) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(console.url, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _csrf(client: aiohttp.ClientSession) -> str:
    async with client.get("/login") as response:
        assert response.status == 200
    return client.cookie_jar.filter_cookies(client._base_url)["minhu_csrf"].value


async def _signed_in(console, name: str) -> aiohttp.ClientSession:
    client = await _client(console)
    token = await _csrf(client)
    data = {"name": name, "password": DEMO_PASSWORD, "csrf": token}
    async with client.post("/login", data=data, allow_redirects=False) as response:
        assert response.status == 302
    return client


def test_passwords_are_salted_and_checked():
    stored = hash_password("correct horse")
    assert stored != hash_password("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert not verify_password("correct horse", None)


async def test_strangers_see_no_staff_page(console):
    async with await _client(console) as client:
        async with client.get("/tickets") as listed:
            pass
        number = (await _any_ticket(console)).number
        for path in (
            "/dashboard",
            "/tickets",
            f"/tickets/{number}",
            "/tickets.csv",
            "/charts/category.svg",
        ):
            async with client.get(path, allow_redirects=False) as response:
                assert response.status == 302 and response.headers["Location"] == "/login", path
        assert listed.status == 200 and str(listed.url).endswith("/login")


async def test_a_worker_is_not_staff(console):
    worker = await _demo_name(console, "worker-demo-s1-c1-g1")
    client = await _signed_in(console, worker)
    async with client, client.get("/dashboard", allow_redirects=False) as response:
        assert response.status == 403


async def test_posts_need_the_csrf_token_and_the_right_password(console):
    async with await _client(console) as client:
        token = await _csrf(client)
        data = {"name": "赵主任", "password": DEMO_PASSWORD}
        async with client.post("/login", data=data, allow_redirects=False) as response:
            assert response.status == 403 and "表单已过期" in await response.text()
        data = {"name": "赵主任", "password": "wrong-password", "csrf": token}
        async with client.post("/login", data=data, allow_redirects=False) as response:
            assert response.status == 401 and "姓名或密码不正确" in await response.text()
        async with client.post("/chat/send", json={"text": "/start"}) as response:
            assert response.status == 403


async def test_bad_filters_are_named(console):
    async with await _signed_in(console, "赵主任") as client:
        async with client.get("/tickets?state=lost") as response:
            assert response.status == 400 and "筛选条件有误：state" in await response.text()
        async with client.get("/tickets?since=2026-13-01") as response:
            assert response.status == 400 and "since" in await response.text()
        async with client.get("/tickets.csv?page=0") as response:
            assert response.status == 400 and "page" in await response.text()
        async with client.get("/dashboard?days=365") as response:
            assert response.status == 400 and "7/30/90" in await response.text()
        async with client.get("/charts/trend.svg?days=7") as response:
            assert response.status == 200 and "近7天" in await response.text()


async def test_csv_export_follows_the_filters(console):
    client = await _signed_in(console, "赵主任")
    async with client, client.get("/tickets.csv?state=closed") as response:
        assert response.status == 200
        body = (await response.read()).decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0][:3] == ["工单号", "提交时间", "状态"]
    async with console.services.sessions() as session:
        closed = (await session.exec(select(Ticket).where(Ticket.state == "closed"))).all()
    assert sorted(row[0] for row in rows[1:]) == sorted(t.number for t in closed)
    assert {row[2] for row in rows[1:]} == {"已关闭"}  # the reader's words, not the code
    assert {row[4] for row in rows[1:]} <= {"紧急", "较急", "一般"}


async def test_csv_export_speaks_the_readers_language(console):
    async with console.services.sessions() as session:
        staff = (await session.exec(select(Person).where(Person.display_name == "赵主任"))).one()
        staff.locale = "en"
        session.add(staff)
        await session.commit()
    client = await _signed_in(console, "赵主任")
    async with client, client.get("/tickets.csv?state=closed") as response:
        rows = list(csv.reader(io.StringIO((await response.text())[1:])))
    assert rows[1:], "the demo district has closed tickets"
    assert {row[2] for row in rows[1:]} == {"closed"}
    assert {row[4] for row in rows[1:]} <= {"emergency", "urgent", "normal"}
    assert {row[7] for row in rows[1:]} <= {"", "satisfied", "mostly satisfied", "not satisfied"}
    assert any(row[7] for row in rows[1:]), "some closed ticket has a rating"


async def test_staff_see_only_their_subtree(console):
    async with console.services.sessions() as session:
        west = (await session.exec(select(Area).where(Area.code == "demo-s2"))).one()
        tickets = (await session.exec(select(Ticket))).all()
        areas = {a.id: a for a in (await session.exec(select(Area))).all()}
    outside = next(t for t in tickets if not areas[t.area_id].path.startswith(west.path))
    inside = next(t for t in tickets if areas[t.area_id].path.startswith(west.path))
    staff = await _demo_name(console, "staff-demo-s2")
    async with await _signed_in(console, staff) as client:
        async with client.get(f"/tickets/{outside.number}") as response:
            assert response.status == 404
        async with client.get(f"/tickets/{inside.number}") as response:
            assert response.status == 200
        async with client.get("/tickets.csv") as response:
            numbers = {row[0] for row in csv.reader(io.StringIO((await response.text())[1:]))}
    assert inside.number in numbers and outside.number not in numbers


async def test_a_resident_cookie_cannot_speak_for_a_worker(console):
    async with await _client(console) as client:
        token = await _csrf(client)
        client.cookie_jar.update_cookies({"minhu_resident": "worker-demo-s1-c1-g1"})
        headers = {"X-CSRF-Token": token}
        async with client.post("/chat/send", json={"text": "/tasks"}, headers=headers) as response:
            assert response.status == 403


@pytest.mark.parametrize(
    "body", [{"text": ""}, {"latitude": 100, "longitude": 0}, {"id": -1, "text": "x"}, []]
)
async def test_bad_chat_input_is_refused_plainly(console, body):
    async with await _client(console) as client:
        async with client.get("/chat"):
            pass
        token = client.cookie_jar.filter_cookies(client._base_url)["minhu_csrf"].value
        headers = {"X-CSRF-Token": token}
        async with client.post("/chat/send", json=body, headers=headers) as response:
            assert response.status == 400
            assert "无法识别" in (await response.json())["error"]


async def _any_ticket(console) -> Ticket:
    async with console.services.sessions() as session:
        return (await session.exec(select(Ticket))).first()


async def _demo_name(console, user_id: str) -> str:
    async with console.services.sessions() as session:
        person = (await session.exec(select(Person).where(Person.channel_user_id == user_id))).one()
        return person.display_name


async def test_a_photo_is_stored_and_shown_only_to_those_handling_its_ticket(console):
    from handlers.charts import bar_chart_bytes

    picture = bar_chart_bytes("照片", (("a", 1),), "png")  # any real PNG
    async with await _client(console) as client:
        async with client.get("/chat"):
            pass
        token = client.cookie_jar.filter_cookies(client._base_url)["minhu_csrf"].value
        headers = {"X-CSRF-Token": token}
        form = aiohttp.FormData()
        form.add_field("photo", b"GIF89a not a photo we take", filename="x.gif")
        async with client.post("/chat/photo", data=form, headers=headers) as response:
            assert response.status == 400 and "JPEG" in (await response.json())["error"]
        form = aiohttp.FormData()
        form.add_field("photo", picture, filename="lamp.png", content_type="image/png")
        form.add_field("caption", "路灯坏了")
        async with client.post("/chat/photo", data=form, headers=headers) as response:
            assert response.status == 200 and (await response.json())["replies"]
        stored = [path.name for path in console.media.iterdir()]
        assert len(stored) == 1 and stored[0].endswith(".png")
        async with client.get(f"/media/{stored[0]}") as response:
            assert response.status == 403
    staff = await _signed_in(console, "赵主任")
    async with staff:
        # While the photo is in a draft, it is nobody's evidence yet.
        async with staff.get(f"/media/{stored[0]}") as response:
            assert response.status == 403
        ticket = await _any_ticket(console)
        async with console.services.sessions() as session:
            ticket = await session.get(Ticket, ticket.id)
            ticket.attachments = [*ticket.attachments, {"kind": "photo", "ref": f"web:{stored[0]}"}]
            session.add(ticket)
            await session.commit()
        async with staff.get(f"/media/{stored[0]}") as response:
            assert response.status == 200 and response.content_type == "image/png"
            assert await response.read() == picture
    async with await _client(console) as stranger:
        async with stranger.get("/chat"):
            pass
        async with stranger.get(f"/media/{stored[0]}") as response:
            assert response.status == 403


async def test_guessing_a_password_is_stopped(console):
    async with await _client(console) as client:
        token = await _csrf(client)
        data = {"name": "赵主任", "password": "guess-guess", "csrf": token}
        statuses = []
        for _ in range(6):
            async with client.post("/login", data=data, allow_redirects=False) as response:
                statuses.append(response.status)
        data["password"] = DEMO_PASSWORD  # even the right one, while the name is blocked
        async with client.post("/login", data=data, allow_redirects=False) as response:
            statuses.append(response.status)
            assert "尝试次数过多，请 1 秒后再试" in await response.text()
    assert statuses == [401] * 5 + [429, 429]


async def test_staff_merge_a_suggested_duplicate_from_the_ticket_page(console):
    from datetime import timedelta

    from tickets.intake import submit_complaint

    numbers = []
    async with console.services.sessions() as session:
        for user_id in ("resident-001", "resident-009"):  # the same grid
            resident = (
                await session.exec(select(Person).where(Person.channel_user_id == user_id))
            ).one()
            ticket = await submit_complaint(
                session,
                console.services.policy,
                resident=resident,
                text="小区路灯坏了，晚上很黑",
                category="城乡建设",
                keywords=["路灯", "很黑"],
            )
            numbers.append(ticket.number)
            console.clock.advance(timedelta(minutes=5))
        await session.commit()
    original, duplicate = numbers
    async with await _signed_in(console, "赵主任") as staff:
        async with staff.get(f"/tickets/{original}") as response:
            assert 'id="similar"' not in await response.text()  # the older one
        async with staff.get(f"/tickets/{duplicate}") as response:
            page = await response.text()
        assert 'id="similar"' in page and f'href="/tickets/{original}"' in page
        assert "相同的词：路灯、很黑" in page and f"合并到 {original}" in page
        token = staff.cookie_jar.filter_cookies(staff._base_url)["minhu_csrf"].value
        form = {"csrf": token, "original": "1", "version": "1"}
        async with console.services.sessions() as session:
            ids = {
                t.number: t
                for t in (
                    await session.exec(select(Ticket).where(Ticket.number.in_(numbers)))
                ).all()
            }
        form["original"] = str(ids[original].id)
        form["version"] = str(ids[duplicate].version + 1)  # a page older than the ticket
        async with staff.post(f"/tickets/{duplicate}/merge", data=form) as response:
            assert f"工单 {duplicate} 已有新进展，这个按钮已过期" in await response.text()
        form["version"] = str(ids[duplicate].version)
        async with staff.post(f"/tickets/{duplicate}/merge", data=form) as response:
            assert f"工单 {duplicate} 已合并到 {original}。" in await response.text()
    async with console.services.sessions() as session:
        merged = await session.get(Ticket, ids[duplicate].id)
    assert (merged.state, merged.merged_into_id) == ("closed", ids[original].id)


async def test_the_dashboard_shows_each_departments_figures(console):
    async with console.services.sessions() as session:
        ticket = (await session.exec(select(Ticket).order_by(Ticket.id))).first()
        root = (await session.exec(select(Area).where(Area.parent_id.is_(None)))).one()
        department = Department(code="test-cg", name="测试城管", area_id=root.id)
        session.add(department)
        await session.flush()
        now = console.services.policy.clock.now()
        for role, state, in_time in (("lead", "accepted", True), ("summoned", "summoned", None)):
            session.add(
                TicketPart(
                    ticket_id=ticket.id,
                    department_id=department.id,
                    role=role,
                    state=state,
                    created_at=now,
                    accepted_in_time=in_time,
                )
            )
        await session.commit()
    client = await _signed_in(console, "赵主任")
    async with client, client.get("/dashboard") as response:
        page = await response.text()
    row = re.search(rf'<tr id="department-{department.id}">(.*?)</tr>', page).group(1)
    assert re.findall(r"<td>(.*?)</td>", row) == ["测试城管", "100.0%", "—", "—", "0/1"]
    # The demo's own departments have rows of their own.
    assert page.count('<tr id="department-') > 1


async def test_the_dashboard_shows_three_rates_per_tier_and_unvisited(console):
    async with console.services.sessions() as session:
        tickets = (await session.exec(select(Ticket).order_by(Ticket.id))).all()
        tickets[0].tier = "complex"
        tickets[0].state, tickets[0].unvisited = "closed", True  # auto-closed, nobody called
        session.add(tickets[0])
        await session.commit()
    client = await _signed_in(console, "赵主任")
    async with client.get("/dashboard") as response:
        page = await response.text()
    assert re.search(r'id="rate-unvisited"><span>未回访</span><b>1</b>', page)
    row = re.search(r'<tr id="tier-complex">(.*?)</tr>', page).group(1)
    assert re.findall(r"<td>(.*?)</td>", row)[0] == "复杂" and row.endswith("<td>1</td>")
    async with client, client.get(f"/tickets/{tickets[0].number}") as response:
        assert '<td id="ticket-tier">复杂（现场办）</td>' in await response.text()


async def test_a_department_handler_works_in_the_web_chat_but_sees_no_console(console):
    from tickets import departments

    policy = console.services.policy
    async with console.services.sessions() as session:
        # The demo's 城管执法局 and its handler, who signs in with the demo's password.
        department = (
            await session.exec(select(Department).where(Department.code == "demo-cg"))
        ).one()
        handler = (
            await session.exec(select(Person).where(Person.department_id == department.id))
        ).one()
        query = select(Ticket).where(Ticket.state == "accepted").order_by(Ticket.id.desc())
        ticket = (await session.exec(query)).first()
        worker = await session.get(Person, ticket.assignee_id)
        staff = (
            await session.exec(select(Person).where(Person.channel_user_id == "staff-district"))
        ).one()
        await departments.needs_department(
            session, policy, ticket_id=ticket.id, actor=worker, reason="需要城管"
        )
        await departments.dispatch_to_departments(
            session, policy, ticket_id=ticket.id, actor=staff, lead_id=department.id
        )
        await session.commit()

    client = await _signed_in(console, handler.display_name)
    async with client:
        async with client.get("/dashboard", allow_redirects=False) as response:
            assert response.status == 403
        async with client.get("/chat") as page:
            assert "收到派单" in await page.text()  # the composer's hint is a department's
        token = client.cookie_jar.filter_cookies(client._base_url)["minhu_csrf"].value
        headers = {"X-CSRF-Token": token}

        async def send(body: dict) -> dict:
            async with client.post("/chat/send", json=body, headers=headers) as response:
                assert response.status == 200
                return (await response.json())["replies"][-1]

        listed = await send({"text": "/tasks"})
        (line,) = [b for row in listed["buttons"] for b in row if ticket.number in b["text"]]
        shown = await send({"button": line["data"]})
        assert "本部门：主办" in shown["text"]
        accept = next(b for row in shown["buttons"] for b in row if b["text"] == "接单")
        assert (await send({"button": accept["data"]}))["text"].startswith("已接单。请于")
    async with console.services.sessions() as session:
        assert (await session.get(Ticket, ticket.id)).state == "accepted"
        part = (
            await session.exec(select(TicketPart).where(TicketPart.ticket_id == ticket.id))
        ).one()
    assert (part.state, part.accepted_by_id is not None) == ("accepted", True)
