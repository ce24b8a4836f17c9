"""The Telegram channel: aiogram 3 (the primary adapter) or python-telegram-bot 22, chosen with
MINHU_TELEGRAM_FRAMEWORK, by long polling or by webhook. Both run the same handlers through
`translate`; `serve.py` is the one entry point."""
