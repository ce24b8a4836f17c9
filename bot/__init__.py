"""The runnable application: settings, wiring, channel adapters, delivery, scheduler."""
