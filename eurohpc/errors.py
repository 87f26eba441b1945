"""Domain errors raised by services. One handler maps them to HTTP (API) and to messages (pages)."""


class DomainError(Exception):
    status_code = 400
    default_code = "rule_violation"

    def __init__(self, message: str, *, code: str | None = None, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.errors = errors or {}


class RuleViolation(DomainError):
    """Input breaks a programme rule (400)."""


class StateConflict(DomainError):
    """The object's state does not allow the action, or it is too late / too early (409)."""

    status_code = 409
    default_code = "state_conflict"


class LimitExceeded(DomainError):
    """A budget, quota or cap would be exceeded (409)."""

    status_code = 409
    default_code = "limit_exceeded"


class NotPermitted(DomainError):
    """The actor's role does not allow the action (403)."""

    status_code = 403
    default_code = "permission_denied"


class AppendOnlyError(Exception):
    """An attempt to change or delete a row of an append-only table."""
