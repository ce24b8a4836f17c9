"""`minhu demo`: a believable demo district with staff, grid workers, residents and two months of
ticket history, made through the domain functions so every ticket has a real timeline.

The complaints are written for the demo (not taken from any data set). Randomness is seeded, so
two runs on empty databases produce the same history.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.engine import SessionFactory
from storage.models import Area, Department, Person, Ticket
from tickets import handling
from tickets.clock import ManualClock
from tickets.departments import (
    accept_part,
    dispatch_to_departments,
    finish_part,
    needs_department,
    resolve_by_lead,
    suggest_departments,
)
from tickets.directory import load_directory, parse_directory
from tickets.intake import submit_complaint
from tickets.lifecycle import State
from tickets.people import register_person, set_home_area, staff_of_area
from tickets.policy import Policy

DEMO_ROOT = "demo"

# (text, category, subcategory, urgency)
COMPLAINTS: list[tuple[str, str, str, str]] = [
    (
        "小区3号楼化粪池堵塞，污水漫到路面，气味很大，请尽快处理",
        "城乡建设",
        "城市建设和市政管理",
        "normal",
    ),
    (
        "我们楼道的声控灯坏了一个多月，晚上老人上下楼很危险",
        "城乡建设",
        "城市建设和市政管理",
        "normal",
    ),
    ("物业费年年涨，服务却越来越差，垃圾几天没人清运", "城乡建设", "住房保障与房地产", "normal"),
    ("小区电动车在楼道里充电，存在火灾隐患，希望有人管一管", "城乡建设", "安全生产", "normal"),
    ("路口的井盖丢了，晚上很容易有人掉下去", "城乡建设", "城市建设和市政管理", "urgent"),
    ("从早上开始整栋楼停水，也没有任何通知", "城乡建设", "城市建设和市政管理", "urgent"),
    ("楼下饭店油烟直排，家里窗户都不敢开", "环境保护", "环境污染", "normal"),
    ("附近工地晚上十一点还在施工，噪音吵得孩子睡不着", "环境保护", "环境污染", "normal"),
    ("河边有人倾倒建筑垃圾，河水都变色了", "环境保护", "环境污染", "normal"),
    ("公司拖欠我们三个月工资，老板一直找借口不发", "劳动和社会保障", "工资福利", "normal"),
    (
        "退休后养老金迟迟没有到账，社保窗口让我们等通知",
        "劳动和社会保障",
        "退休政策及待遇",
        "normal",
    ),
    ("工地欠薪，二十多个农民工过年回不了家", "劳动和社会保障", "工资福利", "urgent"),
    ("学校周边早晚高峰车辆乱停，孩子过马路很危险", "交通运输", "交通运输", "normal"),
    ("公交车改线以后，我们小区附近一站都没有了", "交通运输", "客货运输", "normal"),
    ("菜市场有商贩缺斤少两，投诉多次没人管", "商贸旅游", "市场监管", "normal"),
    ("超市卖过期食品，买回家才发现", "卫生计生", "食品药品监管", "normal"),
    ("社区卫生服务站经常没有医生值班", "卫生计生", "医政监管", "normal"),
    ("幼儿园收费不透明，额外收取各种费用", "教育文体", "教育收费", "normal"),
    ("小区广场舞音响太大声，一直跳到晚上十点", "教育文体", "文化", "normal"),
    ("低保申请交了两个月还没有结果", "民政", "社会救助", "normal"),
    ("村里的路灯全坏了，晚上出门一片漆黑", "农村农业", "村务管理", "normal"),
    ("闻到楼道里有很浓的煤气味，好像是哪家燃气泄漏了", "城乡建设", "安全生产", "emergency"),
    ("电线杆倒了，电线掉在人行道上", "城乡建设", "安全生产", "emergency"),
    ("有人冒充社区工作人员上门收钱，说是办理补贴", "政法", "社会治安", "emergency"),
    ("冬天到了暖气一直不热，屋里只有十几度", "城乡建设", "住房保障与房地产", "urgent"),
]

REPLIES = [
    "已联系物业现场处理，问题已解决，感谢您的反映。",
    "已协调相关部门到现场核实并整改，后续将持续跟进。",
    "网格员已上门查看，已督促责任单位整改完毕。",
    "已转交职能部门处理，今天已完成维修。",
]


# The demo district lies where examples/areas.yaml does (石家庄, WGS-84): its eight grids are
# squares of GRID_SIZE degrees (about 1.1 km × 0.9 km), a community's two one above the other and
# the communities side by side, west to east.
DEMO_SOUTH, DEMO_WEST, GRID_SIZE = 38.03, 114.48, 0.01


def grid_place(column: int, row: int) -> dict:
    """A demo grid's boundary (GeoJSON, [longitude, latitude]) and centre."""
    west, south = DEMO_WEST + column * GRID_SIZE, DEMO_SOUTH + row * GRID_SIZE
    east, north = west + GRID_SIZE, south + GRID_SIZE
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "boundary": {"type": "Polygon", "coordinates": [ring]},
        "latitude": round(south + GRID_SIZE / 2, 6),
        "longitude": round(west + GRID_SIZE / 2, 6),
    }


# 职能部门 serving the whole district: (code, name, the categories it takes).
DEPARTMENTS = [
    ("demo-cg", "城管执法局", ["城市建设和市政管理", "环境污染", "安全生产"]),
    ("demo-zj", "住建局", ["住房保障与房地产", "安全生产"]),
    ("demo-rs", "人社局", ["工资福利", "退休政策及待遇"]),
    ("demo-sj", "市场监管局", ["市场监管", "食品药品监管"]),
]
# One ticket in this many, where a department takes its category, goes beyond the grid.
BEYOND_THE_GRID = 6


def _directory() -> dict:
    """Two streets, two communities each, two grids per community, staff at every level, and
    four departments with a handler each; every grid has a boundary and a centre, so a shared
    location finds it."""
    streets = []
    people = [
        {
            "name": "赵主任",
            "role": "staff",
            "area": DEMO_ROOT,
            "channel": "web",
            "user_id": "staff-district",
        },
    ]
    for s, street in enumerate(["东城街道", "西湖街道"], start=1):
        communities = []
        street_code = f"{DEMO_ROOT}-s{s}"
        people.append(
            {
                "name": f"{street}值班员",
                "role": "staff",
                "area": street_code,
                "channel": "web",
                "user_id": f"staff-{street_code}",
            }
        )
        for c, community in enumerate(
            ["幸福社区", "和平社区"] if s == 1 else ["阳光社区", "桃园村"], 1
        ):
            community_code = f"{street_code}-c{c}"
            people.append(
                {
                    "name": f"{community}书记",
                    "role": "staff",
                    "area": community_code,
                    "channel": "web",
                    "user_id": f"staff-{community_code}",
                }
            )
            grids = []
            for g in (1, 2):
                grid_code = f"{community_code}-g{g}"
                place = grid_place(column=(s - 1) * 2 + (c - 1), row=g - 1)
                grids.append(
                    {"code": grid_code, "name": f"{community}第{g}网格", "level": "grid", **place}
                )
                people.append(
                    {
                        "name": f"网格员{s}{c}{g}",
                        "role": "worker",
                        "area": grid_code,
                        "channel": "web",
                        "user_id": f"worker-{grid_code}",
                    }
                )
            communities.append(
                {"code": community_code, "name": community, "level": "community", "children": grids}
            )
        streets.append(
            {"code": street_code, "name": street, "level": "street", "children": communities}
        )
    for code, name, _categories in DEPARTMENTS:
        people.append(
            {
                "name": f"{name}办事员",
                "role": "department",
                "department": code,
                "channel": "web",
                "user_id": f"dept-{code}",
            }
        )
    return {
        "areas": [{"code": DEMO_ROOT, "name": "示范区", "level": "district", "children": streets}],
        "people": people,
        "departments": [
            {"code": code, "name": name, "serves": DEMO_ROOT, "categories": categories}
            for code, name, categories in DEPARTMENTS
        ],
    }


@dataclass(frozen=True)
class DemoSummary:
    areas: int
    people: int
    residents: int
    tickets: int
    already_there: bool = False


async def seed_demo(
    sessions: SessionFactory, policy: Policy, *, tickets: int = 300, days: int = 60
) -> DemoSummary:
    """Create the demo district and `tickets` historical tickets over the last `days` days."""
    async with sessions() as session:
        if (await session.exec(select(Area).where(Area.code == DEMO_ROOT))).first():
            return DemoSummary(0, 0, 0, 0, already_there=True)
    rng = random.Random(20261122)
    end = policy.clock.now()
    starts = sorted(end - timedelta(minutes=rng.randrange(days * 24 * 60)) for _ in range(tickets))
    # One transaction: a demo that fails half-way leaves nothing behind to confuse the next run.
    async with sessions() as session, session.begin():
        loaded = await load_directory(session, policy, parse_directory(_directory()))
        residents = await _residents(session, policy, count=40)
        for start in starts:
            await _one_history(session, policy, rng, rng.choice(residents), start, end)
    return DemoSummary(loaded["areas"], loaded["people"], len(residents), tickets)


async def _residents(session: AsyncSession, policy: Policy, *, count: int) -> list[int]:
    grids = (await session.exec(select(Area).where(Area.level == "grid"))).all()
    ids = []
    for number in range(1, count + 1):
        resident = await register_person(
            session,
            policy,
            channel="web",
            channel_user_id=f"resident-{number:03d}",
            chat_id=f"resident-{number:03d}",
            display_name=f"居民{number:03d}",
        )
        await set_home_area(session, resident, grids[number % len(grids)].id)
        ids.append(resident.id)
    return ids


async def _one_history(
    session: AsyncSession,
    policy: Policy,
    rng: random.Random,
    resident_id: int,
    start: datetime,
    end: datetime,
) -> None:
    """One ticket's life from `start`, played on a manual clock and stopped at `end` (now)."""
    clock = ManualClock(start)
    # History is replayed, not typed: the flood guard is not for it.
    at = replace(policy, clock=clock, max_new_tickets_per_hour=1_000_000)
    resident = await session.get(Person, resident_id)
    text, category, subcategory, urgency = rng.choice(COMPLAINTS)
    ticket = await submit_complaint(
        session,
        at,
        resident=resident,
        text=text,
        category=category,
        subcategory=subcategory,
        confidence=round(rng.uniform(0.6, 0.98), 2),
        urgency=urgency,
    )

    def step(hours: float) -> bool:
        """Move the clock on; False once the story would run into the future."""
        return clock.advance(timedelta(hours=hours)) < end

    if ticket.state != State.ASSIGNED or not step(rng.choice([0.1, 0.3, 2, 6, 20])):
        return
    worker = await session.get(Person, ticket.assignee_id)
    if rng.random() < 0.05:
        await handling.return_ticket(
            session, at, ticket_id=ticket.id, actor=worker, reason="不属于本网格，请重新派单"
        )
        return
    await handling.accept_ticket(session, at, ticket_id=ticket.id, actor=worker)
    if not step(rng.uniform(2, 120)):
        return
    reply = rng.choice(REPLIES)
    suggested = await suggest_departments(session, ticket)
    if suggested and ticket.id % BEYOND_THE_GRID == 0:
        if not await _through_departments(session, at, ticket, worker, suggested, reply, step):
            return
    else:
        await handling.resolve_ticket(session, at, ticket_id=ticket.id, actor=worker, reply=reply)
    if not step(rng.uniform(1, 72)) or rng.random() < 0.15:
        return  # no callback yet (the auto-close clock will get it)
    solved = rng.random() < 0.88
    satisfaction = rng.choices(["satisfied", "basic", "unsatisfied"], [70, 20, 10])[0]
    await handling.answer_callback(
        session,
        at,
        ticket_id=ticket.id,
        actor=resident,
        solved=solved,
        satisfaction=satisfaction if solved else "unsatisfied",
    )


async def _through_departments(
    session: AsyncSession,
    at: Policy,
    ticket: Ticket,
    worker: Person,
    suggested: list[Department],
    reply: str,
    step: Callable[[float], bool],
) -> bool:
    """四单制 beyond the grid: the worker asks for a department, the street dispatches to the
    suggested ones (the first leads), each accepts, the assists finish, the lead resolves. False
    when the story reaches now on the way."""
    moved = await needs_department(
        session, at, ticket_id=ticket.id, actor=worker, reason="网格无法解决，需要职能部门处理"
    )
    if not step(1):
        return False
    (staff, *_) = await staff_of_area(session, moved.ticket.handling_area_id)
    lead, *assists = suggested[:2]
    moves = {"ticket_id": ticket.id, "actor": staff}
    await handling.set_tier(session, at, **moves, tier="complex" if assists else "general")
    await dispatch_to_departments(
        session, at, **moves, lead_id=lead.id, assist_ids=[a.id for a in assists]
    )
    handlers = {
        department.id: (
            await session.exec(select(Person).where(Person.department_id == department.id))
        ).first()
        for department in (lead, *assists)
    }
    for department in (lead, *assists):
        if not step(0.5):
            return False
        await accept_part(session, at, ticket_id=ticket.id, actor=handlers[department.id])
    for department in assists:
        if not step(24):
            return False
        await finish_part(
            session, at, ticket_id=ticket.id, actor=handlers[department.id], note="已配合完成"
        )
    if not step(24):
        return False
    await resolve_by_lead(session, at, ticket_id=ticket.id, actor=handlers[lead.id], reply=reply)
    return True
