"""Domain errors. Each door maps them: HTTP status and message, SOAP fault, failed job with reason."""

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    """Base of every error a service raises on purpose; ``str(error)`` is a message for the user."""

    status = 400

    def __init__(self, message: str = ""):
        super().__init__(str(message))
        self.message = str(message)


class NotFound(DomainError):
    """The object does not exist, or belongs to another account (never say which)."""

    status = 404

    def __init__(self, message: str = ""):
        super().__init__(message or _l("Not found."))


class PermissionDenied(DomainError):
    status = 403

    def __init__(self, message: str = ""):
        super().__init__(message or _l("You are not allowed to do this."))


class ValidationError(DomainError):
    """Bad input. ``errors`` maps a field name (or ``""`` for the whole input) to its message."""

    status = 422

    def __init__(self, errors: dict[str, str] | str):
        if isinstance(errors, str):
            errors = {"": errors}
        self.errors = {name: str(message) for name, message in errors.items()}
        super().__init__("; ".join(f"{k}: {v}" if k else v for k, v in self.errors.items()))


class Conflict(DomainError):
    """The change contradicts stored data (a duplicate unique value, data a type change cannot keep)."""

    status = 409


class TooManyAttempts(DomainError):
    """Too many tries in a short time (wrong passwords for one account); ``retry_after`` seconds to wait."""

    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class PreconditionFailed(DomainError):
    """The caller changed a version it read earlier, and the object has changed since (HTTP ``If-Match``)."""

    status = 412

    def __init__(self, message: str = ""):
        super().__init__(message or _l("It has changed since you read it: read it again, then retry."))
