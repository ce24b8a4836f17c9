"""The conversations, channel-neutral: an incoming event in, replies and outbox messages out.

No chat framework is imported here; the Telegram adapters and the web console only translate.
"""
