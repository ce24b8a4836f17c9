"""The web application: one aiohttp app for the chat console, the staff dashboard, Open311
GeoReport v2 (bot/web/open311.py) and (added by the Telegram adapter in webhook mode) the
webhook route.

    app = build_web_app(services)
    await serve_web(services, stop, app)   # until `stop` is set
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import jinja2
from aiohttp import web

from bot.settings import Settings
from bot.web import auth, chat, dashboard, open311
from bot.web.limits import WebLimits, build_limiter
from bot.web.pages import (
    CONSOLE,
    CSRF,
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    MAX_UPLOAD,
    SESSION_COOKIE,
    VIEWER,
    Console,
    client_address,
    console,
    locale_of,
    message_page,
    render,
    retry_after,
    set_cookie,
    viewer,
    wait_words,
)
from bot.wiring import Services
from handlers.context import Deps

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
HOUSEKEEPING_SECONDS = 3600  # expired limit buckets and orphan photos go this often


# POST routes of chat channels on the same server (the Telegram webhook): they answer to their
# own secret, not to the console's sign-in and CSRF cookies.
CHANNEL_ROUTES = web.AppKey("channel_routes", set)


def serve_channel_route(app: web.Application, path: str) -> None:
    """Exempt POSTs to `path` from the console's sign-in and CSRF checks."""
    app[CHANNEL_ROUTES].add(path)


def _is_channel_route(request: web.Request) -> bool:
    return request.method == "POST" and request.path in request.app[CHANNEL_ROUTES]


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_web_app(
    services: Services,
    *,
    deps: Deps | None = None,
    media_dir: Path | None = None,
    limits: WebLimits | None = None,
    checker: auth.PasswordChecker | None = None,
) -> web.Application:
    """The console and dashboard as an aiohttp Application the caller may add routes to (the
    Telegram webhook) and run with `aiohttp.web.AppRunner`."""
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )
    app = web.Application(
        middlewares=[_security_headers, _signed_in, _csrf], client_max_size=MAX_UPLOAD + 64 * 1024
    )
    app[CHANNEL_ROUTES] = set()
    settings = services.settings
    app[CONSOLE] = Console(
        services=services,
        deps=deps or services.deps(),
        templates=templates,
        demo_personas=_is_loopback(settings.listen_host),
        media_dir=media_dir or settings.media_dir,
        limiter=build_limiter(settings, services.sessions, services.engine.dialect.name),
        limits=limits or WebLimits.from_settings(settings),
        checker=checker or auth.PasswordChecker(),
        secure_cookies=settings.public_url is not None and settings.public_url.scheme == "https",
    )
    app.cleanup_ctx.append(_housekeeping)
    app.router.add_get("/", _home)
    app.router.add_get("/login", _login_page)
    app.router.add_post("/login", _login)
    app.router.add_post("/logout", _logout)
    chat.add_routes(app.router)
    dashboard.add_routes(app.router)
    open311.add_routes(app.router)
    for path in open311.POST_PATHS:
        serve_channel_route(app, path)
    app.router.add_static("/static", HERE / "static", append_version=True)
    return app


async def start_web(services: Services, app: web.Application) -> web.AppRunner:
    """Listen on settings.listen_host:listen_port; the caller cleans the runner up."""
    settings = services.settings
    # No access log: its lines carry query strings (filters, ticket numbers). In-flight requests
    # get a few seconds at shutdown, not aiohttp's default minute (a stop must be prompt).
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.listen_host, settings.listen_port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


async def serve_web(services: Services, stop: asyncio.Event, app: web.Application) -> None:
    """Serve `app` on settings.listen_host:listen_port until `stop` is set."""
    runner = await start_web(services, app)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


async def _housekeeping(app: web.Application) -> AsyncIterator[None]:
    """While the app runs: the start-up warning, then hourly clean-ups; the limiter's
    connection closes with the app."""
    console = app[CONSOLE]
    warning = exposure_warning(console.services.settings)
    if warning:
        log.warning(warning)
    task = asyncio.create_task(_clean_up_every_hour(console))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await console.limiter.aclose()


async def _clean_up_every_hour(console: Console) -> None:
    while True:
        try:
            await console.limiter.prune(console.services.policy.clock.now())
            await chat.remove_orphan_photos(console.services, console.media_dir)
        except Exception:  # a failed round is retried next hour; the console serves on
            log.exception("web console clean-up failed")
        await asyncio.sleep(HOUSEKEEPING_SECONDS)


def exposure_warning(settings: Settings) -> str | None:
    """A warning when the console can be reached from other machines with no https address in
    front: passwords and residents' data would cross the network in clear."""
    if _is_loopback(settings.listen_host):
        return None
    if settings.public_url is not None and settings.public_url.scheme == "https":
        return None
    return (
        f"the web console listens on {settings.listen_host} without TLS: put an https reverse "
        "proxy in front and set MINHU_PUBLIC_URL to its https address"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@web.middleware
async def _security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    # Pages carry names, phones and complaints: no browser or proxy may keep a copy. Static
    # files and charts say otherwise for themselves.
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
    )
    return response


@web.middleware
async def _signed_in(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who is signed in (None for residents and strangers); the session row is checked on every
    request, so signing out or a new password takes effect at once."""
    if _is_channel_route(request):
        return await handler(request)
    services = console(request).services
    token = request.cookies.get(SESSION_COOKIE)
    person = None
    if token:
        async with services.sessions() as session:
            person = await auth.signed_in(session, token, services.policy.clock.now())
    request[VIEWER] = person
    return await handler(request)


@web.middleware
async def _csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Double-submit: a POST must repeat the CSRF cookie in a form field or header. With
    SameSite=Lax cookies this stops another site's page from posting as the signed-in person."""
    if _is_channel_route(request):
        return await handler(request)
    cookie = request.cookies.get(CSRF_COOKIE)
    request[CSRF] = cookie or secrets.token_urlsafe(24)
    if request.method == "POST":
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.content_type == "application/x-www-form-urlencoded":
            sent = (await request.post()).get(CSRF_FIELD)
        if not cookie or not isinstance(sent, str) or not hmac.compare_digest(cookie, sent):
            return message_page(request, "bad_form", 403)
    response = await handler(request)
    if not cookie:
        set_cookie(request, response, CSRF_COOKIE, request[CSRF], httponly=False)
    return response


# --- home and sign-in ---------------------------------------------------------------------------


async def _home(request: web.Request) -> web.Response:
    person = viewer(request)
    target = "/dashboard" if person and person.role in ("staff", "admin") else "/chat"
    raise web.HTTPFound(target)


async def _login_page(request: web.Request) -> web.Response:
    return render(request, "login.html", error=None, name="", wait="")


async def _login(request: web.Request) -> web.Response:
    """Every attempt counts against the name, the client's address and everyone before its
    password is checked; a right password gives the attempt back."""
    form = await request.post()
    name, password = str(form.get("name", ""))[:100], str(form.get("password", ""))[:200]
    here = console(request)
    services, now = here.services, here.services.policy.clock.now()
    checks = here.limits.sign_in(auth.throttle_name(name), client_address(request))
    verdict = await here.limiter.hit(checks, now)
    if not verdict.allowed:
        wait = wait_words(locale_of(request), verdict)
        refused = render(request, "login.html", 429, error="too_many_tries", name=name, wait=wait)
        refused.headers.update(retry_after(verdict))
        return refused
    try:
        found = await auth.sign_in(services.sessions, name, password, now, here.checker)
    except auth.Busy:
        await here.limiter.undo([key for key, _ in checks])  # not checked: no guess was made
        busy = render(request, "login.html", status=503, error="busy", name=name, wait="")
        busy.headers["Retry-After"] = "5"
        return busy
    if found is None:
        log.info("web sign-in refused")  # never the name: it is personal data
        return render(request, "login.html", status=401, error="bad_sign_in", name=name, wait="")
    await here.limiter.undo([key for key, _ in checks])
    person, token = found
    target = "/dashboard" if person.role in ("staff", "admin") else "/chat"
    response = web.HTTPFound(target)
    set_cookie(request, response, SESSION_COOKIE, token, max_age=auth.SESSION_DAYS * 86400)
    raise response


async def _logout(request: web.Request) -> web.Response:
    services = console(request).services
    async with services.sessions() as session:
        await auth.sign_out(session, request.cookies.get(SESSION_COOKIE))
        await session.commit()
    response = web.HTTPFound("/")
    response.del_cookie(SESSION_COOKIE)
    raise response
