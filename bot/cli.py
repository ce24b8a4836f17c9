"""The `minhu` command (also `python -m bot`).

minhu db upgrade            bring the database schema up to date (Alembic)
minhu areas load FILE.yaml  load the area tree, departments and people (format: README)
minhu demo                  seed a demo district with two months of history
minhu staff password NAME   set a web console password (read from the terminal or stdin)
minhu apikey create NAME    an Open311 API key, printed once (list, revoke NAME)
minhu run                   serve the configured channels
minhu nlp …                 the complaint classifier: classify, eval, mine
minhu hotline import FILE   open tickets for the 12345 hotline's cases (CSV or JSON lines)
minhu hotline export        the answers to send back to the hotline
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import re
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.clocks import build_scheduler, run_due_clocks
from bot.demo import seed_demo
from bot.logs import configure_logging, redact, secrets_of
from bot.preflight import StartupProblem, check_outside_parts
from bot.settings import Settings
from bot.web.auth import MIN_PASSWORD, demo_accounts, people_named, set_password
from bot.wiring import Services, open_services
from handlers.hotline import announce_imported
from nlp.rules import RulesError
from storage.engine import database_failure
from storage.models import Area, Person
from tickets.apikeys import api_keys, create_api_key, revoke_api_key
from tickets.areas import get_area_by_code
from tickets.corrections import category_corrections
from tickets.directory import load_directory, read_directory_file
from tickets.errors import DomainError
from tickets.hotline import answers_as_csv, answers_as_json_lines, read_case_file
from tickets.hotline_answers import hotline_answers
from tickets.hotline_intake import import_cases
from tickets.report import build_report, percents
from tickets.stats import Period

log = logging.getLogger("minhu")

EXIT_OK, EXIT_USAGE = 0, 2


class UsageError(Exception):
    """Bad input from the command line or a file it names: told plainly, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minhu", description="MinHu (民呼): complaint front end for grid governance"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply migrations up to the newest").set_defaults(
        handler=_db_upgrade
    )

    areas = commands.add_parser("areas", help="the area tree, departments and people")
    area_commands = areas.add_subparsers(dest="areas_command", required=True, metavar="ACTION")
    load = area_commands.add_parser("load", help="load areas and people from a YAML file")
    load.add_argument("file", type=Path)
    load.set_defaults(handler=_areas_load)

    demo = commands.add_parser("demo", help="seed a demo district with history")
    demo.add_argument("--tickets", type=_positive, default=300)
    demo.add_argument("--days", type=_positive, default=60)
    demo.add_argument(
        "--password",
        action="store_true",
        help="also set one web console password (asked for) for the demo staff, workers and "
        "department handlers",
    )
    demo.set_defaults(handler=_demo)

    staff = commands.add_parser("staff", help="staff accounts of the web console")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    password = staff_commands.add_parser("password", help="set a web console password")
    password.add_argument("name", help="the person's display name")
    password.set_defaults(handler=_staff_password)

    apikey = commands.add_parser("apikey", help="Open311 API keys")
    apikey_commands = apikey.add_subparsers(dest="apikey_command", required=True, metavar="ACTION")
    create = apikey_commands.add_parser("create", help="a new key, printed once")
    create.add_argument("name", help="who the key is for (an app, a partner's system)")
    create.set_defaults(handler=_apikey_create)
    apikey_commands.add_parser("list", help="the keys and whether they work").set_defaults(
        handler=_apikey_list
    )
    revoke = apikey_commands.add_parser("revoke", help="a key stops working at once")
    revoke.add_argument("name")
    revoke.set_defaults(handler=_apikey_revoke)

    commands.add_parser("run", help="serve the configured channels").set_defaults(handler=_run)
    worker = commands.add_parser("worker", help="run the SLA clocks as their own process")
    worker.add_argument("--once", action="store_true", help="sweep what is due now, then exit")
    worker.set_defaults(handler=_worker)
    _add_hotline(commands)
    _add_nlp(commands)
    return parser


def _add_hotline(commands: Any) -> None:
    hotline = commands.add_parser("hotline", help="the 12345 hotline's cases, in and back")
    actions = hotline.add_subparsers(dest="hotline_command", required=True, metavar="ACTION")
    load = actions.add_parser("import", help="open tickets for a file of hotline cases")
    load.add_argument("file", type=Path, help="CSV or JSON lines (columns: README)")
    load.add_argument(
        "--skip-bad", action="store_true", help="import the good rows of a file with bad ones"
    )
    load.add_argument(
        "--area",
        metavar="CODE",
        help="where cases whose address names no area go (default: the top of the area tree)",
    )
    load.set_defaults(handler=_hotline_import)
    export = actions.add_parser("export", help="write the answers for the hotline")
    export.add_argument("--since", type=_moment, required=True, metavar="DATE")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--out", type=Path, help="the file to write (default: standard output)")
    export.set_defaults(handler=_hotline_export)


def _moment(text: str) -> datetime:
    """A date or a date and time, as typed: local time unless it names a zone."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (2026-11-30)") from None


def _add_nlp(commands: Any) -> None:
    from nlp.cli import add_nlp_parser

    add_nlp_parser(commands, corrections_loader=_load_corrections)


def _load_corrections() -> list[tuple[str, str]]:
    """Staff's category corrections from the configured database, for `nlp mine --from-db`."""

    async def load() -> list[tuple[str, str]]:
        async with open_services(Settings()) as services, services.sessions() as session:
            return await category_corrections(session)

    return asyncio.run(load())


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "nlp":
        from nlp.cli import run_nlp

        return run_nlp(args)
    settings = _read_settings()
    if settings is None:
        return EXIT_USAGE
    configure_logging(settings)
    handler: Callable[[Settings, argparse.Namespace], Any] = args.handler
    try:
        return asyncio.run(handler(settings, args))
    except (UsageError, StartupProblem) as error:
        return _refuse(settings, str(error))
    except RulesError as error:
        return _refuse(settings, f"MINHU_RULES_FILE: {error}")
    except DomainError as error:
        return _refuse(settings, error.message)
    except Exception as error:
        failure = database_failure(error)
        if failure is None:
            raise
        return _refuse(settings, f"cannot use the database {_where(settings)}: {failure}")


def _read_settings() -> Settings | None:
    """The settings, or None after telling on stderr, one line each, what is wrong."""
    try:
        return Settings()
    except ValidationError as error:
        for problem in error.errors():
            where = "__".join(str(part) for part in problem["loc"]).upper()
            name = f"MINHU_{where}: " if where else ""
            message = problem["msg"].removeprefix("Value error, ")
            print(f"minhu: configuration {name}{message}", file=sys.stderr)
    except SettingsError as error:
        # pydantic-settings names the field in its message; the value itself is not repeated.
        field = re.search(r'field "(\w+)"', str(error))
        name = f"MINHU_{field.group(1).upper()}" if field else "a MINHU_ variable"
        print(f"minhu: configuration {name}: not valid JSON", file=sys.stderr)
    return None


def _refuse(settings: Settings, message: str) -> int:
    """A problem with the input or the configuration: one line, no secret, exit status 2."""
    line = redact(" ".join(message.split()), secrets_of(settings))
    print(f"minhu: {line}", file=sys.stderr)
    return EXIT_USAGE


async def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    async with open_services(settings):
        print(f"database ready: {_where(settings)}")
    return EXIT_OK


async def _areas_load(settings: Settings, args: argparse.Namespace) -> int:
    spec = read_directory_file(args.file)  # bounded: size, nesting, aliases
    async with open_services(settings) as services, services.sessions() as session:
        counts = await load_directory(session, services.policy, spec)
        await session.commit()
    departments = f", {counts['departments']} departments" if "departments" in counts else ""
    print(
        f"loaded {counts['areas']} areas{departments} and {counts['people']} people "
        f"from {args.file}"
    )
    return EXIT_OK


async def _demo(settings: Settings, args: argparse.Namespace) -> int:
    secret = _read_password() if args.password else None
    async with open_services(settings) as services:
        summary = await seed_demo(
            services.sessions, services.policy, tickets=args.tickets, days=args.days
        )
        if secret is not None:
            async with services.sessions() as session:
                people = await demo_accounts(session)
                for person in people:
                    await set_password(session, person, secret)
                await session.commit()
            print(f"web console password set for {len(people)} demo staff, workers and handlers")
    if summary.already_there:
        print(f"the demo district is already in {_where(settings)}; nothing added")
    else:
        print(
            f"demo district seeded in {_where(settings)}: {summary.areas} areas, "
            f"{summary.people} staff, workers and department handlers, "
            f"{summary.residents} residents, {summary.tickets} tickets"
        )
    return EXIT_OK


def _read_password() -> str:
    """A password from the terminal (not echoed), or the first line of standard input."""
    if sys.stdin.isatty():
        secret = getpass.getpass("password: ")
        if getpass.getpass("again: ") != secret:
            raise UsageError("the two passwords differ")
    else:
        secret = sys.stdin.readline().rstrip("\n")
    if len(secret) < MIN_PASSWORD:
        raise UsageError(f"a password needs at least {MIN_PASSWORD} characters")
    return secret


async def _staff_password(settings: Settings, args: argparse.Namespace) -> int:
    secret = _read_password()
    async with open_services(settings) as services, services.sessions() as session:
        people = await people_named(session, args.name)
        if len(people) != 1:
            raise UsageError(
                f"{len(people)} staff or workers are called that; a password needs exactly one"
            )
        await set_password(session, people[0], secret)
        await session.commit()
    print("password set; the person's web sessions were signed out")
    return EXIT_OK


async def _apikey_create(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as services, services.sessions() as session:
        row, key = await create_api_key(session, args.name, services.policy.clock.now())
        await session.commit()
    # The key goes to stdout alone on its line, for a script to take; it is never shown again.
    print(f"API key {row.name!r} created; it is shown only now:", file=sys.stderr)
    print(key)
    return EXIT_OK


async def _apikey_list(settings: Settings, _args: argparse.Namespace) -> int:
    async with open_services(settings) as services, services.sessions() as session:
        rows = await api_keys(session)
    for row in rows:
        state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
        print(f"{row.name}\t{row.prefix}…\tcreated {row.created_at:%Y-%m-%d %H:%M}\t{state}")
    if not rows:
        print("no API keys; make one with: minhu apikey create NAME")
    return EXIT_OK


async def _apikey_revoke(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as services, services.sessions() as session:
        row = await revoke_api_key(session, args.name, services.policy.clock.now())
        await session.commit()
    print(f"API key {row.name!r} revoked")
    return EXIT_OK


async def _hotline_import(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as services:
        policy = services.policy
        found = read_case_file(args.file, policy)
        for line, problem in found.problems:
            print(f"minhu: {args.file}, line {line}: {problem}", file=sys.stderr)
        if found.problems and not args.skip_bad:
            raise UsageError(
                f"{len(found.problems)} bad rows in {args.file}; nothing imported "
                "(--skip-bad imports the others)"
            )
        classifier = services.deps().classifier
        async with services.sessions() as session:
            area = await get_area_by_code(session, args.area) if args.area else None
            made = await import_cases(session, policy, classifier, found.cases, default_area=area)
            await announce_imported(session, policy, made.tickets)
            await session.commit()
    skipped = f", {len(found.problems)} bad rows skipped" if found.problems else ""
    print(
        f"imported {len(made.tickets)} hotline cases from {args.file}; "
        f"{made.already_imported} were there already{skipped}"
    )
    return EXIT_OK


async def _hotline_export(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as services, services.sessions() as session:
        zone = services.policy.calendar.timezone
        since = args.since if args.since.tzinfo else args.since.replace(tzinfo=zone)
        answers = await hotline_answers(session, services.policy, since=since)
    text = answers_as_csv(answers) if args.format == "csv" else answers_as_json_lines(answers)
    if args.out is None:
        sys.stdout.write(text)
    else:
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot write {args.out}: {error.strerror or error}") from None
    print(f"{len(answers)} hotline answers since {since.isoformat()}", file=sys.stderr)
    return EXIT_OK


async def _run(settings: Settings, _args: argparse.Namespace) -> int:
    from bot.delivery.service import serve_channel
    from bot.web import build_web_app, start_web
    from bot.web.app import serve_channel_route

    async with open_services(settings) as services:
        await check_outside_parts(settings)
        deps = services.deps()  # the classifier's rules: a broken file stops us here
        print(await _status(services))
        app = build_web_app(services, deps=deps)
        channels: list[Callable[[asyncio.Event], Awaitable[None]]] = []
        if settings.telegram_token is not None:
            from bot.telegram.aiogram_adapter import webhook_path
            from bot.telegram.serve import telegram_channel, webhook_mode

            telegram = telegram_channel(services, deps)
            if webhook_mode(services):
                telegram.mount(app)  # one web server: the webhook beside the console
                serve_channel_route(app, webhook_path(settings))
            # The channel with its outbox delivery, which stops first (see serve_channel).
            channels.append(lambda stop: serve_channel(services, telegram, stop))
        where = f"{settings.listen_host}:{settings.listen_port}"
        try:
            runner = await start_web(services, app)
        except OSError as error:
            raise UsageError(f"cannot listen on {where}: {error}") from None
        try:
            print(f"minhu run: web console on http://{where}/", flush=True)
            await _clocks_until_stopped(services, "minhu run", *channels)
        finally:
            await runner.cleanup()
    return EXIT_OK


async def _worker(settings: Settings, args: argparse.Namespace) -> int:
    async with open_services(settings) as services, contextlib.AsyncExitStack() as stack:
        await check_outside_parts(settings)
        sender = None
        if settings.telegram_token is not None:
            from bot.telegram.serve import telegram_sender

            sender = await stack.enter_async_context(telegram_sender(services))
        if args.once:
            fired = await run_due_clocks(services)
            print(f"clocks: {fired} reminders, escalations and auto-closes")
            if sender is not None:
                from bot.delivery.service import deliver_due

                report = await deliver_due(services, sender)
                print(
                    f"delivery: {report.sent} sent, {report.parked} parked, "
                    f"{report.retried + report.rate_limited} to retry"
                )
            return EXIT_OK
        channels = []
        if sender is not None:
            from bot.delivery.service import serve_delivery

            channels.append(lambda stop: serve_delivery(services, sender, stop))
        await _clocks_until_stopped(services, "minhu worker", *channels)
    return EXIT_OK


async def _clocks_until_stopped(
    services: Services, who: str, *channels: Callable[[asyncio.Event], Awaitable[None]]
) -> None:
    """Run the scheduler, and the `channels` (each runs until the stop event is set), until
    SIGINT or SIGTERM (the handlers are in place before we say so)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    scheduler = build_scheduler(services)
    scheduler.start()
    seconds = services.settings.sweep_seconds
    print(
        f"{who}: the SLA clocks are running (a sweep every {seconds} s); Ctrl-C stops", flush=True
    )
    try:
        await asyncio.gather(stop.wait(), *(channel(stop) for channel in channels))
    finally:
        await scheduler.stop()


async def _status(services: Services) -> str:
    async with services.sessions() as session:
        areas = (await session.exec(select(func.count()).select_from(Area))).one()
        people = (await session.exec(select(func.count()).select_from(Person))).one()
        now = services.policy.clock.now()
        report = await build_report(session, area=None, period=Period(), now=now, top=0)
    shown = percents(report.rates)
    return (
        f"MinHu database {_where(services.settings)}: {areas} areas, {people} people, "
        f"{report.open} open tickets; 响应率 {shown.response}, "
        f"解决率 {shown.solve}, 满意率 {shown.satisfaction}"
    )


def _where(settings: Settings) -> str:
    return make_url(settings.database_url).render_as_string(hide_password=True)
