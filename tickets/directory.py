"""The directory an admin bootstraps from a file: the area tree, staff and workers, and the
functional departments (职能部门) with the categories each takes.

The same shape is accepted from YAML (`minhu areas load FILE.yaml`) and from code (the demo).
Loading is idempotent: areas and departments are matched by code, people by channel identity;
a file that lists departments replaces the category → department table with its own.

The file comes from outside, so reading it is bounded before anything is built from it: its size,
its nesting, and what its aliases expand to (a few kilobytes of nested aliases otherwise become
billions of areas). Every refusal is one line naming the file and the mistake.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from tickets.areas import LEVEL_DEPTH, AreaRow, Level, put_area_tree
from tickets.departments_directory import DepartmentSpec, check_departments, put_departments
from tickets.errors import InvalidInput, NotFound
from tickets.lifecycle import Role
from tickets.people import SUPPORTED_LOCALES, find_person, register_person
from tickets.places import boundary_text, parse_boundary
from tickets.policy import Policy

# The bounds take about 175,000 areas (100,000 with centres are 9 MB of YAML, 1.1 million values,
# and 0.65 GB at the peak of loading) and stop a runaway file, /dev/zero or an alias bomb long
# before it costs more than about 1.2 GB.
MAX_FILE_BYTES = 16 * 1024 * 1024
# Values (scalars, lists, mappings) once every alias is expanded: about 11 per area.
MAX_VALUES = 2_000_000
# Nested lists and mappings: the tree's 4 levels take 9 (areas → area → children → …).
MAX_NESTING = 20
MAX_PROBLEMS_SHOWN = 5

# libyaml parses about three times faster than pure Python; both are safe loaders.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class AreaSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=100)
    level: Level
    # The area's centre (WGS-84); a shared location outside every boundary finds the grid with
    # the nearest centre (within a set distance).
    latitude: float | None = None
    longitude: float | None = None
    # A grid's boundary: a GeoJSON Polygon or MultiPolygon, points as [longitude, latitude];
    # once checked, the GeoJSON text that is stored.
    boundary: Any = None
    children: list[AreaSpec] = Field(default_factory=list)

    @field_validator("level", mode="before")
    @classmethod
    def _known_level(cls, value: Any) -> Any:
        if value not in tuple(level.value for level in Level):  # a list is not hashable
            names = ", ".join(level.value for level in Level)
            raise ValueError(f"unknown level {value!r} (one of {names})")
        return value

    @field_validator("latitude", "longitude", mode="before")
    @classmethod
    def _a_number(cls, value: Any) -> Any:
        if isinstance(value, bool):  # YAML's yes/no/on/off would pass as 1.0 and 0.0
            raise ValueError("must be a number")
        return value

    @model_validator(mode="after")
    def _a_place(self) -> AreaSpec:
        """Checked here rather than per field, so each refusal names the area."""
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError(f"area {self.code!r}: give both latitude and longitude, or neither")
        if self.latitude is not None and not (
            abs(self.latitude) <= 90 and abs(self.longitude or 0.0) <= 180
        ):
            raise ValueError(
                f"area {self.code!r}: latitude {self.latitude:g}, longitude "
                f"{self.longitude:g} is not on Earth (latitude within ±90, longitude within ±180)"
            )
        if self.boundary is not None:
            if self.level is not Level.GRID:
                raise ValueError(f"area {self.code!r} ({self.level}): only a grid takes a boundary")
            try:
                self.boundary = boundary_text(parse_boundary(self.boundary))
            except ValueError as error:
                raise ValueError(f"area {self.code!r}: {error}") from None
        return self


class PersonSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    role: Role
    # A department handler's area is their department's; everyone else names theirs.
    area: str | None = None
    department: str | None = None
    channel: str = Field(default="telegram", pattern=r"^[a-z]+$", max_length=16)
    user_id: str = Field(min_length=1, max_length=64)
    chat_id: str | None = Field(default=None, max_length=64)
    locale: str = "zh-CN"

    @field_validator("user_id", "chat_id", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("role")
    @classmethod
    def _not_resident(cls, value: Role) -> Role:
        if value in (Role.RESIDENT, Role.SYSTEM):
            raise ValueError(
                "residents register themselves; list staff, workers, department handlers and admins"
            )
        return value

    @model_validator(mode="after")
    def _area_or_department(self) -> PersonSpec:
        if self.role is Role.DEPARTMENT:
            if self.department is None:
                raise ValueError(f"{self.name}: a department handler needs `department: CODE`")
            if self.area is not None:
                raise ValueError(
                    f"{self.name}: a department handler's area is their department's; "
                    "leave out `area`"
                )
        else:
            if self.department is not None:
                raise ValueError(f"{self.name}: only role `department` takes a department")
            if self.area is None:
                raise ValueError(f"{self.name}: give the code of their area (`area: CODE`)")
        return self

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"locale must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value


class DirectorySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    areas: list[AreaSpec] = Field(min_length=1)
    people: list[PersonSpec] = Field(default_factory=list)
    # None (no `departments:` key) leaves the departments and their categories as they are.
    departments: list[DepartmentSpec] | None = None

    @model_validator(mode="after")
    def _a_tree(self) -> DirectorySpec:
        rows = area_rows(self)
        _check_unique(rows)
        _check_levels(rows)
        if self.departments is not None:
            check_departments(self.departments)
        return self


def area_rows(spec: DirectorySpec) -> list[AreaRow]:
    """The tree as rows, every parent before its children (walked without recursion)."""
    rows: list[AreaRow] = []
    stack: list[tuple[AreaSpec, str | None]] = [(area, None) for area in reversed(spec.areas)]
    while stack:
        area, parent_code = stack.pop()
        rows.append(
            AreaRow(
                area.code,
                area.name,
                area.level,
                parent_code,
                area.latitude,
                area.longitude,
                area.boundary,
            )
        )
        stack.extend((child, area.code) for child in reversed(area.children))
    return rows


def _check_unique(rows: list[AreaRow]) -> None:
    counts = Counter(row.code for row in rows)
    twice = sorted(code for code, count in counts.items() if count > 1)
    if twice:
        raise ValueError(f"area codes used twice: {_some(twice)}")


def _check_levels(rows: list[AreaRow]) -> None:
    levels = {row.code: row.level for row in rows}
    for row in rows:
        parent = levels.get(row.parent_code) if row.parent_code is not None else None
        if parent is not None and LEVEL_DEPTH[row.level] <= LEVEL_DEPTH[parent]:
            raise ValueError(
                f"area {row.code!r} ({row.level}) cannot sit below {row.parent_code!r} ({parent})"
            )


def _some(items: list[str], shown: int = 10) -> str:
    more = f" … ({len(items)} in all)" if len(items) > shown else ""
    return ", ".join(items[:shown]) + more


def read_directory_file(path: Path) -> DirectorySpec:
    """Read, bound and validate a directory file; any mistake is an InvalidInput of one line."""
    text = _read_text(path)
    return parse_directory(_parse_yaml(text, path))


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as file:
            # One byte past the bound tells "too large" without reading an endless file.
            content = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {path}") from None
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror or error}") from None
    if len(content) > MAX_FILE_BYTES:
        raise InvalidInput(f"{path} is larger than {MAX_FILE_BYTES // 2**20} MB")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        raise InvalidInput(f"{path} is not UTF-8 text (line {line})") from None


def _parse_yaml(text: str, path: Path) -> Any:
    try:
        _check_shape(text, path)
        with _cyclic_gc_paused():
            return yaml.load(text, Loader=_LOADER)  # a safe loader: plain data only
    except yaml.YAMLError as error:
        raise InvalidInput(f"{path} is not valid YAML: {_yaml_problem(error)}") from None


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """A large file is a million new lists and dicts at once, and each batch of them sets off
    the cyclic collector over the growing heap: 100,000 areas took 23 s with it, 5 s without.
    Reference counting still frees everything; only the search for cycles waits."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_shape(text: str, path: Path) -> None:
    """Walk the file's parse events (no objects built, no recursion) and stop at the first sign
    of a runaway or of a value that would be lost: see _Shape."""
    shape = _Shape(path)
    for event in yaml.parse(text, Loader=_LOADER):
        kind = type(event)  # one lookup per event: a large file has millions of them
        if kind is yaml.ScalarEvent:
            shape.node(event, 1, event.value)
        elif kind in _STARTS:
            shape.start(event)
        elif kind in _ENDS:
            shape.end()
        elif kind is yaml.AliasEvent:
            shape.node(event, shape.sizes.get(event.anchor, 1), None)


_STARTS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class _Shape:
    """Bounds on the file's nesting (MAX_NESTING) and on its values once aliases are expanded
    (MAX_VALUES: an alias counts as every value of the node it repeats), and no key twice in one
    mapping (YAML loaders keep the last one silently)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.values = 0
        self.sizes: dict[str, int] = {}  # anchor → values in its node
        # Each open list or mapping: [values before it, its anchor, its keys (None for a list),
        # whether its next node is a key].
        self.open: list[list[Any]] = []

    def node(self, event: yaml.Event, size: int, scalar: str | None) -> None:
        self.values += size
        if self.values > MAX_VALUES:
            raise InvalidInput(
                f"{self.path} holds more than {MAX_VALUES:,} values once its aliases (*name) "
                f"are expanded (line {event.start_mark.line + 1})"
            )
        anchor = getattr(event, "anchor", None)
        if scalar is not None and anchor is not None:
            self.sizes[anchor] = 1
        if self.open and self.open[-1][2] is not None:
            self._key_or_value(event, scalar)

    def _key_or_value(self, event: yaml.Event, scalar: str | None) -> None:
        mapping = self.open[-1]
        if mapping[3] and scalar is not None and scalar != "<<":  # merge keys may repeat
            if scalar in mapping[2]:
                raise InvalidInput(
                    f"{self.path} gives the key {scalar!r} twice in one mapping "
                    f"(line {event.start_mark.line + 1})"
                )
            mapping[2].add(scalar)
        mapping[3] = not mapping[3]

    def start(self, event: yaml.CollectionStartEvent) -> None:
        before = self.values
        self.node(event, 1, None)
        keys = set() if isinstance(event, yaml.MappingStartEvent) else None
        self.open.append([before, event.anchor, keys, True])
        if len(self.open) > MAX_NESTING:
            raise InvalidInput(
                f"{self.path} nests lists and mappings deeper than {MAX_NESTING} levels "
                f"(line {event.start_mark.line + 1})"
            )

    def end(self) -> None:
        before, anchor, _, _ = self.open.pop()
        if anchor is not None:
            self.sizes[anchor] = self.values - before


def _yaml_problem(error: yaml.YAMLError) -> str:
    """PyYAML's message spans several lines; its problem and position fit on one."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        what = ", ".join(part for part in (error.context, error.problem) if part)
        return f"{what} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(error).split())


def parse_directory(data: Any) -> DirectorySpec:
    """Validate a loaded YAML document; the first few problems are listed with where they are."""
    if data is None:
        raise InvalidInput("the directory file is empty")
    try:
        with _cyclic_gc_paused():  # a model per area: the same storm of new objects as the YAML
            return DirectorySpec.model_validate(data)
    except ValidationError as error:
        problems = [_problem(item) for item in error.errors()]
        more = len(problems) - MAX_PROBLEMS_SHOWN
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        shown += f"; and {more} more" if more > 0 else ""
        raise InvalidInput(f"the directory file is not valid: {shown}") from None


def _problem(item: Any) -> str:
    # A rule of ours (ValueError) reads better without pydantic's "Value error, " prefix.
    cause = item.get("ctx", {}).get("error")
    message = str(cause) if isinstance(cause, ValueError) else item["msg"]
    where = ".".join(str(part) for part in item["loc"])
    return " ".join(f"{where}: {message}".split()) if where else " ".join(message.split())


async def load_directory(
    session: AsyncSession, policy: Policy, spec: DirectorySpec
) -> dict[str, int]:
    """Create or update the areas and people of `spec`; returns how many of each were loaded."""
    rows = area_rows(spec)
    area_ids = await put_area_tree(session, rows)
    departments = await put_departments(session, spec.departments, area_ids)
    for person_spec in spec.people:
        await _load_person(session, policy, person_spec, area_ids, departments)
    counts = {"areas": len(rows), "people": len(spec.people)}
    if spec.departments is not None:
        counts["departments"] = len(spec.departments)
    return counts


async def _load_person(
    session: AsyncSession,
    policy: Policy,
    spec: PersonSpec,
    area_ids: dict[str, int],
    departments: dict[str, tuple[int, int]],
) -> None:
    department_id: int | None = None
    if spec.department is not None:
        if spec.department not in departments:
            raise NotFound(f"no department with code {spec.department!r}", code=spec.department)
        department_id, area_id = departments[spec.department]
    else:
        found = area_ids.get(spec.area or "")
        if found is None:
            raise NotFound(f"no area with code {spec.area!r}", code=spec.area)
        area_id = found
    person = await find_person(session, spec.channel, spec.user_id)
    if person is None:
        person = await register_person(
            session,
            policy,
            channel=spec.channel,
            channel_user_id=spec.user_id,
            chat_id=spec.chat_id or spec.user_id,
        )
    person.role, person.area_id, person.display_name = spec.role, area_id, spec.name
    person.department_id = department_id
    person.chat_id, person.locale, person.on_duty = spec.chat_id or spec.user_id, spec.locale, True
    session.add(person)
