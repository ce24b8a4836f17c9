"""The domain: ticket lifecycle, routing to areas and workers, SLA clocks, people and statistics.

Plain async functions over a session; no chat concepts. Callers own the transaction: nothing here
commits.
"""
