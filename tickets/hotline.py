"""The 12345 hotline's files (接诉即办): cases to import, and the answers that go back.

A case file is CSV (a header line, then one case a row) or JSON lines (one object a line), with
the columns below; a Chinese header names the same column. Times without a zone are the office's
local time. A row that cannot be used is reported by its line number, without quoting it (it
holds a caller's name and phone).

The answer file carries, per case number, what the hotline needs back: the reply (办理结果),
when it was resolved and closed, the resident's callback (回访) and the ticket's 三率 fields.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from tickets.categories import CATEGORIES, SUBCATEGORIES
from tickets.contact import check_phone
from tickets.errors import InvalidInput
from tickets.intake import MAX_ADDRESS_CHARS, check_address, check_complaint_text
from tickets.policy import Policy
from tickets.sources import MAX_NAME_CHARS

# column: its Chinese header; the first four are required.
COLUMNS = {
    "case_number": "工单编号",
    "received_at": "来电时间",
    "text": "诉求内容",
    "caller_phone": "来电号码",
    "caller_name": "来电人",
    "address": "地址",
    "category": "诉求分类",
    "deadline": "办理时限",
}
REQUIRED = ("case_number", "received_at", "text")
MAX_CASE_NUMBER_CHARS = 64
# A file is read whole before anything is written: bounded, so a wrong file cannot eat memory.
MAX_FILE_BYTES = 64 * 1024 * 1024


def _column(name: str) -> Any:
    return Field(default=None, validation_alias=AliasChoices(name, COLUMNS[name]))


class CaseRow(BaseModel):
    """One row as the file gives it: types checked, texts stripped, nothing else yet."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    case_number: str | None = _column("case_number")
    received_at: datetime | None = _column("received_at")
    text: str | None = _column("text")
    caller_phone: str | None = _column("caller_phone")
    caller_name: str | None = _column("caller_name")
    address: str | None = _column("address")
    category: str | None = _column("category")
    deadline: datetime | date | None = _column("deadline")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_missing(cls, value: Any) -> Any:
        # CSV has no null: an empty cell means "not given", as a missing JSON key does.
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)  # case numbers and phones written as JSON numbers
        return value

    @field_validator("deadline", mode="before")
    @classmethod
    def _date_alone(cls, value: Any) -> Any:
        # Read as a date, not as its first moment: a deadline day runs to its end.
        if isinstance(value, str) and len(value.strip()) == len("2026-12-01"):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                return value
        return value


@dataclass(frozen=True)
class HotlineCase:
    """A case ready to become a ticket. Times are UTC; `caller_phone` is E.164."""

    line: int
    case_number: str
    received_at: datetime
    text: str
    caller_phone: str | None
    caller_name: str | None = field(repr=False)
    address: str | None = field(repr=False)
    category: str | None
    subcategory: str | None
    deadline: datetime | None


@dataclass
class CaseFile:
    """What a file held: the usable cases, and each unusable line with why."""

    cases: list[HotlineCase] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)


class CaseFileError(InvalidInput):
    """The file as a whole cannot be read (missing, not CSV or JSON lines, a column missing)."""


def read_case_file(path: Path, policy: Policy) -> CaseFile:
    """Read and check every row of the file at `path`; nothing is written."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CaseFileError(f"{path} has {size:,} bytes; at most {MAX_FILE_BYTES:,}")
        content = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        raise CaseFileError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise CaseFileError(f"{path} is not UTF-8 text") from None
    return parse_cases(content, policy, json_lines=_is_json_lines(path, content))


def _is_json_lines(path: Path, content: str) -> bool:
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        return True
    if path.suffix.lower() == ".csv":
        return False
    return content.lstrip().startswith("{")


def parse_cases(content: str, policy: Policy, *, json_lines: bool) -> CaseFile:
    """Check each record of `content`; a case number given twice is a problem on its second
    line (which of the two is meant cannot be told)."""
    result = CaseFile()
    first_line: dict[str, int] = {}
    records = _json_records(content) if json_lines else _csv_records(content)
    for line, record in records:
        try:
            case = check_case(line, record, policy)
        except InvalidInput as problem:
            result.problems.append((line, problem.message))
            continue
        if case.case_number in first_line:
            earlier = first_line[case.case_number]
            result.problems.append((line, f"case number given before, on line {earlier}"))
            continue
        first_line[case.case_number] = line
        result.cases.append(case)
    return result


def _json_records(content: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield number, f"not JSON ({error.msg})"
            continue
        yield number, record if isinstance(record, dict) else "not a JSON object"


def _csv_records(content: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.reader(io.StringIO(content, newline=""))
    header = next(reader, None)
    if header is None:
        return
    names = [_column_name(cell) for cell in header]
    missing = [column for column in REQUIRED if column not in names]
    if missing:
        wanted = ", ".join(f"{column} ({COLUMNS[column]})" for column in missing)
        raise CaseFileError(f"line 1: the header lacks the columns {wanted}")
    line = reader.line_num
    for cells in reader:
        start, line = line + 1, reader.line_num  # a quoted cell may span lines
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(names):
            yield start, f"{len(cells)} cells; the header names {len(names)}"
            continue
        yield start, {name: cell for name, cell in zip(names, cells, strict=False) if name}


def _column_name(cell: str) -> str:
    cell = cell.strip()
    for name, chinese in COLUMNS.items():
        if cell in (name, chinese):
            return name
    return ""  # a column the import does not read


def check_case(line: int, record: dict[str, Any] | str, policy: Policy) -> HotlineCase:
    """One record as a case, or InvalidInput saying what is wrong (never quoting the value)."""
    if isinstance(record, str):
        raise InvalidInput(record)
    try:
        row = CaseRow.model_validate(record)
    except ValidationError as error:
        first = error.errors()[0]
        where = first["loc"][0] if first["loc"] else "row"  # the column, not union branches
        raise InvalidInput(f"{where}: {first['msg']}") from None
    for column in REQUIRED:
        if getattr(row, column) is None:
            raise InvalidInput(f"{column}: missing")
    case_number = row.case_number or ""
    if len(case_number) > MAX_CASE_NUMBER_CHARS:
        raise InvalidInput(f"case_number: longer than {MAX_CASE_NUMBER_CHARS} characters")
    zone = policy.calendar.timezone
    category, subcategory = _category(row.category)
    return HotlineCase(
        line=line,
        case_number=case_number,
        received_at=_utc(row.received_at, zone),
        text=_checked("text", lambda: check_complaint_text(row.text or "", policy)),
        caller_phone=_checked("caller_phone", lambda: _phone(row.caller_phone)),
        caller_name=_name(row.caller_name),
        address=_checked("address", lambda: _address(row.address)),
        category=category,
        subcategory=subcategory,
        deadline=_deadline(row.deadline, zone),
    )


def _checked(column: str, check: Any) -> Any:
    try:
        return check()
    except InvalidInput as problem:
        raise InvalidInput(f"{column}: {problem.message}") from None


def _phone(value: str | None) -> str | None:
    return None if value is None else check_phone(value)


def _address(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_ADDRESS_CHARS:
        raise InvalidInput(f"longer than {MAX_ADDRESS_CHARS} characters")
    return check_address(value)


def _name(value: str | None) -> str | None:
    if value is not None and len(value) > MAX_NAME_CHARS:
        raise InvalidInput(f"caller_name: longer than {MAX_NAME_CHARS} characters")
    return value


def _category(value: str | None) -> tuple[str | None, str | None]:
    """The taxonomy's 一级 (and 二级) class named by the hotline ("城乡建设/市政管理" or
    "城乡建设-其他"); a name outside the taxonomy is left to the classifier."""
    if value is None:
        return None, None
    for separator in ("/", "／", "-", ">", "·"):
        value = value.replace(separator, "/")
    first, _, second = (part.strip() for part in value.partition("/"))
    if first not in CATEGORIES:
        return None, None
    second = second.split("/")[0].strip()
    return first, second if second in SUBCATEGORIES.get(first, ()) else None


# Times a case may carry: the clocks add days to them, which must stay within the calendar.
YEARS = range(1900, 3000)


def _utc(moment: datetime | None, zone: ZoneInfo, field: str = "received_at") -> datetime:
    assert moment is not None  # checked as required
    if moment.year not in YEARS:
        raise InvalidInput(f"{field}: the year must be between {YEARS[0]} and {YEARS[-1]}")
    local = moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
    return local.astimezone(UTC)


def _deadline(value: datetime | date | None, zone: ZoneInfo) -> datetime | None:
    """A date alone is a deadline at the end of that local day."""
    if value is None:
        return None
    if value.year not in YEARS:
        raise InvalidInput(f"deadline: the year must be between {YEARS[0]} and {YEARS[-1]}")
    if not isinstance(value, datetime):
        value = datetime.combine(value + timedelta(days=1), time(), tzinfo=zone)
    return _utc(value, zone, "deadline")


# --- the answers going back ----------------------------------------------------------------------

ANSWER_COLUMNS = (
    "case_number",
    "ticket_number",
    "merged_into",
    "state",
    "reply",
    "resolved_at",
    "closed_at",
    "callback_at",
    "solved",
    "satisfaction",
    "responded_in_time",
)


def answers_as_csv(answers: list[dict[str, Any]]) -> str:
    """The answers as CSV: a header, then one row a case; yes/no as true/false, none empty."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=ANSWER_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for answer in answers:
        writer.writerow({key: _cell(value) for key, value in answer.items()})
    return out.getvalue()


def answers_as_json_lines(answers: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(answer, ensure_ascii=False) + "\n" for answer in answers)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
