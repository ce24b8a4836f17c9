"""The local web console: a chat page on the channel-neutral conversations, and the staff
dashboard. One aiohttp application; the Telegram webhook adds its route to the same app."""

from bot.web.app import build_web_app, serve_web, start_web

__all__ = ["build_web_app", "serve_web", "start_web"]
