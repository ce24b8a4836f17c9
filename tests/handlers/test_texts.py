"""Every string exists in both languages with the same placeholders, and every key the code uses
is defined."""

from __future__ import annotations

import re
import string
from pathlib import Path

from handlers.texts import en, zh_CN

HANDLERS = Path(__file__).parents[2] / "handlers"


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_languages_have_the_same_texts_and_placeholders():
    assert set(zh_CN.TEXTS) == set(en.TEXTS)
    different = {
        key: (placeholders(zh_CN.TEXTS[key]), placeholders(en.TEXTS[key]))
        for key in zh_CN.TEXTS
        if placeholders(zh_CN.TEXTS[key]) != placeholders(en.TEXTS[key])
    }
    assert different == {}
    assert {kind: set(labels) for kind, labels in zh_CN.LABELS.items()} == {
        kind: set(labels) for kind, labels in en.LABELS.items()
    }


def test_every_key_the_code_names_is_defined():
    used = set()
    for path in HANDLERS.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'\b(?:say_key|t|tr|button)\([^"\)]*"([a-z_]+)"', source))
    missing = {key for key in used if key not in zh_CN.TEXTS}
    assert missing == set()
    assert len(used) > 50  # the scan really found the code's keys
