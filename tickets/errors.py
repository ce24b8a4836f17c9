"""Domain errors: each says why, in words a handler can pass on (codes map to localised texts)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every refusal by the domain. `code` is stable; `params` fill the localised text."""

    code = "domain_error"

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


class InvalidInput(DomainError):
    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class PermissionDenied(DomainError):
    code = "permission_denied"


class IllegalTransition(DomainError):
    code = "illegal_transition"


class StaleTicket(DomainError):
    """The ticket moved on since the button was drawn (a double press, an old message)."""

    code = "stale_ticket"


class PlaceNeeded(DomainError):
    """Nothing says where the problem is: the area is above the grid, with no location and no
    address. Raised before anything is written, so the caller can ask and try again."""

    code = "place_needed"


class RuleViolation(DomainError):
    """A legal move refused by a rule of the clock: return window passed, extension too long …"""

    code = "rule_violation"
