"""COPY records: the columns in the order asked, JSON as the JSON type would write it."""

from __future__ import annotations

import json

from storage.bulk import copy_records
from storage.models import OutboxMessage, TicketEvent
from tests.conftest import MONDAY_10AM


def test_records_follow_the_columns_and_encode_json_columns_only():
    row = {
        "dedupe_key": "t1:v2:n_remind:p3",
        "chat_id": "42",
        "body": {"text": "请及时签收 工单 20261129-0001", "buttons": [[{"data": "v:1"}]]},
        "created_at": MONDAY_10AM,
        "unused": object(),
    }
    columns = ("body", "dedupe_key", "created_at", "chat_id")
    [record] = copy_records(OutboxMessage.__table__, columns, [row])
    assert record == (
        '{"text": "请及时签收 工单 20261129-0001", "buttons": [[{"data": "v:1"}]]}',
        "t1:v2:n_remind:p3",
        MONDAY_10AM,
        "42",
    )
    assert json.loads(record[0]) == row["body"]


def test_a_json_null_and_a_single_column():
    table = TicketEvent.__table__
    assert copy_records(table, ("data", "note"), [{"data": None, "note": None}]) == [("null", None)]
    assert copy_records(table, ("note",), [{"note": "已上报"}, {"note": None}]) == [
        ("已上报",),
        (None,),
    ]
