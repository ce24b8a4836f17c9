"""What every page of the web console shares: the console's parts, who is asking and in which
language, rendering a template, cookies, and the answers to a refused request. The app (app.py)
and its pages (chat.py, dashboard.py) import from here, never from each other."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.web import auth
from bot.web.limits import Limiter, Verdict, WebLimits
from bot.web.texts import web_text
from bot.wiring import Services
from handlers.context import Deps
from handlers.texts import label, locale_or_default
from storage.models import Person

SESSION_COOKIE = "minhu_session"
CSRF_COOKIE = "minhu_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
MAX_UPLOAD = 5 * 1024 * 1024  # one photo


@dataclass(frozen=True)
class Console:
    """What every web handler needs, built once per app."""

    services: Services
    deps: Deps
    templates: jinja2.Environment
    # The persona picker lets anyone at the keyboard speak as a demo resident: offered only when
    # the server listens on loopback, where "anyone" is the person at this machine.
    demo_personas: bool
    # Photos residents attach on the web (their ticket keeps the reference "web:<name>").
    media_dir: Path
    # Shared by every process (the database, or Redis when configured): see bot/web/limits.py.
    limiter: Limiter
    limits: WebLimits
    checker: auth.PasswordChecker
    # Cookies only over TLS once the console's public address is https.
    secure_cookies: bool


CONSOLE = web.AppKey("console", Console)

VIEWER = web.RequestKey("viewer", Person | None)  # type: ignore[arg-type]
CSRF = web.RequestKey("csrf", str)


# --- per request -------------------------------------------------------------------------------


def console(request: web.Request) -> Console:
    return request.app[CONSOLE]


def viewer(request: web.Request) -> Person | None:
    return request.get(VIEWER)


def locale_of(request: web.Request) -> str:
    person = viewer(request)
    return locale_or_default(person.locale if person else console(request).services.settings.locale)


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """A page from templates/, with the texts, labels and CSRF token every page uses."""
    locale = locale_of(request)
    person = viewer(request)
    page = (
        console(request)
        .templates.get_template(template)
        .render(
            t=lambda key, **params: web_text(locale, key, **params),
            label=lambda kind, value: label(locale, kind, value),
            lang="zh-CN" if locale == "zh-CN" else "en",
            viewer=person,
            is_staff=person is not None and person.role in ("staff", "admin"),
            csrf=request[CSRF],
            **context,
        )
    )
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")


def message_page(request: web.Request, key: str, status: int) -> web.Response:
    return render(request, "message.html", status=status, message=web_text(locale_of(request), key))


def client_address(request: web.Request) -> str:
    """Who is asking, for per-address limits: the peer's IP, and for IPv6 its /64 (one
    subscriber's whole network). Behind a reverse proxy this is the proxy's address."""
    remote = request.remote or "unknown"
    try:
        ip = ipaddress.ip_address(remote)
    except ValueError:
        return remote
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    httponly: bool = True,
) -> None:
    response.set_cookie(
        name,
        value,
        httponly=httponly,
        samesite="Lax",
        max_age=max_age,
        secure=console(request).secure_cookies,
    )


def too_many(request: web.Request, verdict: Verdict, key: str) -> web.Response:
    """A JSON 429 saying when to come back (Retry-After, and in words)."""
    text = web_text(locale_of(request), key, wait=wait_words(locale_of(request), verdict))
    return web.json_response({"error": text}, status=429, headers=retry_after(verdict))


def retry_after(verdict: Verdict) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(verdict.retry_after)))}


def wait_words(locale: str, verdict: Verdict) -> str:
    seconds = verdict.retry_after
    if seconds < 60:
        return web_text(locale, "wait_seconds", n=max(1, math.ceil(seconds)))
    return web_text(locale, "wait_minutes", n=math.ceil(seconds / 60))
