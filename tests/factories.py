"""Small builders for test data: one district with two streets, and the people who work there."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.engine import SessionFactory
from storage.models import Area, Department, Person, Ticket
from tickets.areas import get_area_by_code
from tickets.directory import load_directory, parse_directory
from tickets.intake import submit_complaint
from tickets.people import find_person, register_person, set_home_area
from tickets.policy import Policy
from tickets.sweeps import sweep


def square(west: float, south: float, size: float = 0.01) -> dict:
    """A GeoJSON square boundary (points are [longitude, latitude]), about 1 km across."""
    east, north = west + size, south + size
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


# Where the grids lie, and a point inside each (latitude, longitude).
BOUNDARIES = {"g1": square(114.50, 38.04), "g2": square(114.51, 38.04), "g3": square(114.60, 38.04)}
INSIDE = {"g1": (38.045, 114.505), "g2": (38.045, 114.515), "g3": (38.045, 114.605)}

DIRECTORY = {
    "areas": [
        {
            "code": "d",
            "name": "示范区",
            "level": "district",
            "children": [
                {
                    "code": "s1",
                    "name": "东城街道",
                    "level": "street",
                    "children": [
                        {
                            "code": "c1",
                            "name": "幸福社区",
                            "level": "community",
                            "children": [
                                {
                                    "code": "g1",
                                    "name": "幸福社区第一网格",
                                    "level": "grid",
                                    "boundary": BOUNDARIES["g1"],
                                },
                                {
                                    "code": "g2",
                                    "name": "幸福社区第二网格",
                                    "level": "grid",
                                    "boundary": BOUNDARIES["g2"],
                                },
                            ],
                        }
                    ],
                },
                {
                    "code": "s2",
                    "name": "西湖街道",
                    "level": "street",
                    "children": [
                        {
                            "code": "c2",
                            "name": "阳光社区",
                            "level": "community",
                            "children": [
                                {
                                    "code": "g3",
                                    "name": "阳光社区第一网格",
                                    "level": "grid",
                                    "boundary": BOUNDARIES["g3"],
                                }
                            ],
                        }
                    ],
                },
            ],
        }
    ],
    "people": [
        {"name": "区管理员", "role": "admin", "area": "d", "user_id": "admin"},
        {"name": "街道员", "role": "staff", "area": "s1", "user_id": "staff-s1"},
        {"name": "社区书记", "role": "staff", "area": "c1", "user_id": "staff-c1"},
        {"name": "西湖街道员", "role": "staff", "area": "s2", "user_id": "staff-s2"},
        {"name": "网格员甲", "role": "worker", "area": "g1", "user_id": "worker-g1"},
        {"name": "网格员乙", "role": "worker", "area": "g2", "user_id": "worker-g2"},
        {"name": "网格员丙", "role": "worker", "area": "g3", "user_id": "worker-g3"},
        {"name": "城管队员", "role": "department", "department": "cg", "user_id": "dept-cg"},
        {"name": "住建科员", "role": "department", "department": "zj", "user_id": "dept-zj"},
        {"name": "水务员", "role": "department", "department": "sw", "user_id": "dept-sw"},
    ],
    # 职能部门: two serving the whole district, a utility serving one street.
    "departments": [
        {"code": "cg", "name": "城管执法局", "serves": "d", "categories": ["城市建设和市政管理"]},
        {"code": "zj", "name": "住建局", "serves": "d", "categories": ["城乡建设", "工程质量"]},
        {"code": "sw", "name": "水务公司", "serves": "s1", "categories": ["水利水电"]},
    ],
}


@dataclass
class Cast:
    """The people and areas of DIRECTORY, fetched by name for readable tests."""

    areas: dict[str, Area]
    people: dict[str, Person]
    departments: dict[str, Department]

    def __getitem__(self, name: str) -> Person:
        return self.people[name]


async def load_cast(session: AsyncSession, policy: Policy) -> Cast:
    await load_directory(session, policy, parse_directory(DIRECTORY))
    areas = {code: await get_area_by_code(session, code) for code in _codes(DIRECTORY["areas"])}
    people = {}
    for spec in DIRECTORY["people"]:
        people[spec["user_id"]] = await find_person(session, "telegram", spec["user_id"])
    for name, grid in (("resident", "g1"), ("resident2", "g1"), ("resident3", "g3")):
        person = await register_person(
            session, policy, channel="telegram", channel_user_id=name, chat_id=name
        )
        people[name] = await set_home_area(session, person, areas[grid].id)
    await session.flush()
    departments = {
        department.code: department for department in (await session.exec(select(Department))).all()
    }
    return Cast(areas, people, departments)


def _codes(areas: list[dict]) -> list[str]:
    return [code for area in areas for code in (area["code"], *_codes(area.get("children", [])))]


async def cast_in(sessions: SessionFactory, policy: Policy) -> Cast:
    async with sessions() as session:
        cast = await load_cast(session, policy)
        await session.commit()
    return cast


async def new_ticket(
    sessions: SessionFactory,
    policy: Policy,
    resident: Person,
    *,
    text: str = "小区楼道的灯坏了一个月，晚上很黑",
    category: str | None = "城乡建设",
    urgency: str = "normal",
    area_id: int | None = None,
) -> int:
    async with sessions() as session:
        ticket = await submit_complaint(
            session,
            policy,
            resident=resident,
            text=text,
            category=category,
            urgency=urgency,
            area_id=area_id,
        )
        await session.commit()
        return ticket.id


# The shape of a large directory file: districts of streets of communities, then grids.
DISTRICTS, STREETS, COMMUNITIES = 4, 20, 20


def directory_yaml(areas: int) -> str:
    """Exactly `areas` areas, the grids spread evenly over the communities, one staff member."""
    above = DISTRICTS * (1 + STREETS * (1 + COMMUNITIES))
    grids, communities = areas - above, DISTRICTS * STREETS * COMMUNITIES
    out = ["areas:"]
    for d in range(DISTRICTS):
        out.append(f"  - {{code: d{d}, name: 第{d}区, level: district, children: [")
        for s in range(STREETS):
            out.append(f"      {{code: d{d}-s{s}, name: 第{s}街道, level: street, children: [")
            for c in range(COMMUNITIES):
                n = (d * STREETS + s) * COMMUNITIES + c
                count = grids // communities + (n < grids % communities)
                kids = ", ".join(
                    f"{{code: d{d}-s{s}-c{c}-g{g}, name: 第{g}网格, level: grid, "
                    f"latitude: {30 + g / 1000:.3f}, longitude: {120 + c / 100:.2f}}}"
                    for g in range(count)
                )
                out.append(
                    f"        {{code: d{d}-s{s}-c{c}, name: 第{c}社区, level: community, "
                    f"children: [{kids}]}},"
                )
            out.append("      ]},")
        out.append("    ]}")
    out.append("people:")
    out.append("  - {name: 王芳, role: staff, area: d0-s0, user_id: 100001}")
    return "\n".join(out) + "\n"


async def run_sweep(sessions: SessionFactory, policy: Policy) -> list[tuple[str, int]]:
    """One sweep, committed: what it fired, as (kind, ticket id)."""
    async with sessions() as session:
        fired = await sweep(session, policy)
        await session.commit()
    return [(event.kind, event.ticket_id) for event in fired]


async def reloaded(sessions: SessionFactory, ticket_id: int) -> Ticket:
    """The ticket as the database holds it now."""
    async with sessions() as session:
        return await session.get(Ticket, ticket_id)
