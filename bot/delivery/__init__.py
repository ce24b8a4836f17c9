"""Outbox delivery: a loop that claims queued messages, sends them through a channel's sender,
retries with backoff, honours 429 retry_after, keeps to the channel's rate limits and parks what
keeps failing."""
