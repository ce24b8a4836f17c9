"""The text catalogues (handlers/locale/*/LC_MESSAGES/minhu.po): they parse with Babel and hold
nothing unfinished; every key is in every language with the same parameters; every key the code
names is there, and every key there is named by the code. Each check is also run on a
deliberately broken catalogue, so it is known to fail when it should."""

from __future__ import annotations

import io
import re
import string
import tomllib
from collections.abc import Iterable
from fnmatch import fnmatch
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, read_po

from handlers.dispatch import COMMANDS
from handlers.texts import DEFAULT_LOCALE, LOCALES, catalogue_path, label, tr
from tickets.handling import Satisfaction
from tickets.lifecycle import Action, Role, State
from tickets.sla import CLOCKS, Urgency
from tickets.sources import Source
from tickets.tiers import MODES, TIER_REASONS, Tier

ROOT = Path(__file__).parents[2]
WEB = "web."

# Keys the code builds at run time, so the source never spells them whole.
DYNAMIC_KEYS = {
    *(f"btn_{name}" for name in Satisfaction.ALL),  # handlers/resident.py: f"btn_{name}"
    *(f"period_{name}" for name in ("today", "week", "month")),  # handlers/staff.py
    *(f"why_tier_{reason}" for reason in TIER_REASONS),  # handlers/render.py
    "n_remind_accept",  # handlers/clock_notices.py: f"n_{event.kind}"
    "n_remind_resolve",
}
# Labels are looked up by kind and a value from the domain: every value has a label.
LABELLED = {
    "command": set(COMMANDS),  # every role's menu
    "state": {state.value for state in State},
    "urgency": {urgency.value for urgency in Urgency},
    "clock": set(CLOCKS),  # tickets/sweeps.py
    "satisfaction": set(Satisfaction.ALL),
    "solved": {"1", "0"},
    "role": {role.value for role in Role} - {Role.SYSTEM},  # the clocks never introduce themselves
    "action": {action.value for action in Action},
    "source": {source.value for source in Source},
    "tier": {tier.value for tier in Tier},
    "mode": set(MODES.values()),
}


def read(text: str) -> Catalog:
    return read_po(io.StringIO(text), abort_invalid=True)


def catalogues() -> dict[str, Catalog]:
    return {locale: read(catalogue_path(locale).read_text("utf-8")) for locale in LOCALES}


def entries(catalog: Catalog) -> dict[tuple[str | None, str], str]:
    return {(message.context, message.id): message.string for message in catalog if message.id}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def sources() -> dict[str, str]:
    """The code that names keys: chat (handlers, bot) and the console's templates and scripts."""
    paths = [*ROOT.glob("handlers/**/*.py"), *ROOT.glob("bot/**/*.py")]
    paths += [*ROOT.glob("bot/web/templates/*.html"), *ROOT.glob("bot/web/static/*.js")]
    return {
        str(path.relative_to(ROOT)): path.read_text("utf-8")
        for path in paths
        if not path.is_relative_to(ROOT / "handlers" / "texts")
    }


# --- the checks -------------------------------------------------------------------------------

# A .po line: a comment, a keyword with its quoted string, a continued string, or nothing.
PO_LINE = re.compile(r'#.*|(?:(?:msgctxt|msgid|msgstr) )?"(?:[^"\\]|\\.)*"|')


def malformed(text: str) -> list[str]:
    """What Babel reads past without a word: a line that is no .po syntax (an unclosed quote),
    and entries written twice or lost (the count of msgids differs from the entries read)."""
    found = [
        f"line {number}: {line[:40]}"
        for number, line in enumerate(text.splitlines(), 1)
        if not PO_LINE.fullmatch(line)
    ]
    written = len(re.findall(r'^msgid "', text, re.MULTILINE)) - 1  # less the header
    if written != len(read(text)):
        found.append(f"{written} entries written, {len(read(text))} read")
    return found


def unfinished(catalog: Catalog) -> list[str]:
    """Entries a translator has not finished: fuzzy, empty, obsolete (#~), or a fuzzy header."""
    found = ["header: fuzzy"] if catalog.fuzzy else []
    for message in catalog:
        if message.id and message.fuzzy:
            found.append(f"{message.id}: fuzzy")
        if message.id and not message.string:
            found.append(f"{message.id}: empty")
    found += [f"{key}: obsolete" for key in catalog.obsolete]
    return found


def mismatched(by_locale: dict[str, Catalog]) -> list[str]:
    """Keys missing in a language, or with other parameters than in the default language, or
    with a parameter list (#. parameters: …) that does not match the text."""
    default = entries(by_locale[DEFAULT_LOCALE])
    found = []
    for locale, catalog in by_locale.items():
        own = entries(catalog)
        found += [f"{locale}: {key[1]} missing" for key in default.keys() - own.keys()]
        found += [f"{locale}: {key[1]} extra" for key in own.keys() - default.keys()]
        for key in own.keys() & default.keys():
            if key[0] is None and placeholders(own[key]) != placeholders(default[key]):
                found.append(f"{locale}: {key[1]} has other parameters")
        for message in catalog:
            # The list is the last comment; a long one wraps onto more lines.
            _, _, listed_text = " ".join(message.auto_comments).partition("parameters:")
            listed = set(re.findall(r"\{(\w+)\}", listed_text))
            if message.id and message.context is None and listed != placeholders(message.string):
                found.append(f"{locale}: {message.id} lists other parameters")
    return found


def unused(catalog: Catalog, code: dict[str, str]) -> list[str]:
    """Keys no code names: a text's key quoted in the code (a console text's without "web."),
    a label's kind in a label() call and its value among the domain's."""
    quoted = set(re.findall(r"""["']([\w.]+)["']""", "\n".join(code.values())))
    kinds = set(re.findall(r"""label\([^()]*?["'](\w+)["']""", "\n".join(code.values())))
    found = []
    for message in catalog:
        if not message.id:
            continue
        if message.context is not None:
            if message.context not in kinds or message.id not in LABELLED.get(message.context, ()):
                found.append(f"{message.context}/{message.id}")
        elif message.id.removeprefix(WEB) not in quoted and message.id not in DYNAMIC_KEYS:
            found.append(message.id)
    return found


def undefined(catalog: Catalog, code: dict[str, str]) -> list[str]:
    """Keys the code names that the catalogue lacks, and domain values without a label."""
    known = {key for (context, key) in entries(catalog) if context is None}
    calls = r"""\b(?:say_key|t|tr|button|web_text)\([^"'()]*["']([a-z_]+)["']"""
    found = []
    for path, source in code.items():
        web = path.startswith("bot/web/")
        for key in re.findall(calls, source):
            if (WEB + key if web else key) not in known:
                found.append(f"{path}: {key}")
    labels = {(context, key) for (context, key) in entries(catalog) if context is not None}
    found += [
        f"{kind}/{value}"
        for kind, values in LABELLED.items()
        for value in values
        if (kind, value) not in labels
    ]
    return found


# --- the product's catalogues ------------------------------------------------------------------


def test_the_catalogues_parse_and_hold_nothing_unfinished():
    for locale, catalog in catalogues().items():
        assert malformed(catalogue_path(locale).read_text("utf-8")) == [], locale
        assert unfinished(catalog) == [], locale
        assert len(catalog) > 250  # really read: the texts, the labels, the console


def test_every_key_is_in_every_language_with_the_same_parameters():
    assert mismatched(catalogues()) == []


def test_every_key_the_code_names_is_in_the_catalogue():
    code = sources()
    assert undefined(catalogues()[DEFAULT_LOCALE], code) == []
    # The scan really found the code's keys, in chat and console alike.
    calls = re.findall(r"""\b(?:say_key|t|tr|button|web_text)\(""", "\n".join(code.values()))
    assert len(calls) > 200


def test_every_key_in_the_catalogue_is_named_by_the_code():
    assert unused(catalogues()[DEFAULT_LOCALE], sources()) == []


def test_an_installed_wheel_carries_the_catalogues():
    """pyproject's package data names every .po, so a wheel (not only a checkout) has them."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = project["tool"]["setuptools"]["package-data"]["handlers"]
    files = [path.relative_to(ROOT / "handlers") for path in ROOT.glob("handlers/locale/**/*.po")]
    assert len(files) == len(LOCALES)
    assert [file for file in files if not any(fnmatch(str(file), p) for p in patterns)] == []


def test_texts_and_labels_come_from_the_catalogues():
    assert tr("en-GB", "lang_set") == "Language set to English."
    assert (
        tr("zh-hans", "stale", number="A1", state="x")
        == "工单 A1 已有新进展，这个按钮已过期。当前状态：x。"
    )
    assert label("en", "clock", "accept") == "accept"
    assert label("zh-CN", "action", "cancel") == "撤回"  # a context keeps 撤回 apart from 取消
    assert label("zh-CN", "command", "cancel") == "取消当前操作"
    assert label("en", "state", "no-such-state") == "no-such-state"
    assert [tr(locale, "language_name") for locale in LOCALES] == ["中文", "English"]


# --- the checks fail on a broken catalogue ------------------------------------------------------


def broken(text: str, edits: Iterable[tuple[str, str]]) -> Catalog:
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    return read(text)


def test_the_checks_find_a_broken_catalogue():
    good = catalogues()
    en = catalogue_path("en").read_text("utf-8")
    bad = broken(
        en,
        [
            ('msgid "welcome"\n', '#, fuzzy\nmsgid "welcome"\n'),  # unfinished
            ('msgid "lang_set"\nmsgstr "Language set to English."', 'msgid "lang_set"\nmsgstr ""'),
            ('msgid "withdrawn"\n', 'msgid "withdrawn_gone"\n'),  # missing, extra and unused
            ("Ticket {number} has been withdrawn.", "Ticket {num} has been withdrawn."),
            ('msgid "n_reopened"\nmsgstr "', 'msgid "n_reopened"\nmsgstr "{what} '),
        ],
    )
    assert unfinished(bad) == ["welcome: fuzzy", "lang_set: empty"]
    assert sorted(mismatched({**good, "en": bad})) == [
        "en: n_reopened has other parameters",
        "en: n_reopened lists other parameters",
        "en: withdrawn missing",
        "en: withdrawn_gone extra",
        "en: withdrawn_gone lists other parameters",
    ]
    assert unused(bad, sources()) == ["withdrawn_gone"]
    assert undefined(bad, sources()) == ["handlers/resident.py: withdrawn"]
    extra_label = broken(
        en,
        [
            (
                'msgctxt "urgency"\n',
                'msgctxt "urgency"\nmsgid "x"\nmsgstr "x"\n\nmsgctxt "urgency"\n',
            )
        ],
    )
    assert unused(extra_label, sources()) == ["urgency/x"]
    no_label = broken(en, [('msgctxt "role"\nmsgid "admin"', 'msgctxt "roles"\nmsgid "admin"')])
    assert "role/admin" in undefined(no_label, sources())


def test_a_catalogue_that_does_not_parse_is_refused():
    with pytest.raises(PoFileError):
        read('msgid "welcome"\nmsgtsr "Hello"\n')
    en = catalogue_path("en").read_text("utf-8")
    # Babel reads these two without complaint; the line check catches them.
    unclosed = en.replace('msgid "welcome"', 'msgid "welcome', 1)
    assert malformed(unclosed) == ['line 25: msgid "welcome']
    twice = en + '\nmsgid "welcome"\nmsgstr "Hi"\n'
    count = len(read(en))
    assert malformed(twice) == [f"{count + 1} entries written, {count} read"]


@pytest.mark.parametrize(
    ("limit", "zh", "en"),
    [
        ("1wd", "1 个工作日", "1 working day"),
        ("5wd", "5 个工作日", "5 working days"),
        ("15m", "15 分钟", "15 minutes"),
        ("1h", "1 小时", "1 hour"),
        ("24h", "24 小时", "24 hours"),
        ("7d", "7 天", "7 days"),
        ("2wh", "2 个工作小时", "2 working hours"),
        ("1wh", "1 个工作小时", "1 working hour"),
    ],
)
def test_configured_limits_read_as_words(limit, zh, en):
    from handlers.render import duration_words

    assert (duration_words("zh-CN", limit), duration_words("en", limit)) == (zh, en)
