"""The SDK's exceptions.

Client requests raise a `SluiceError` subclass named after the broker's
error code (PROTOCOL.md §4); handlers raise `Retryable` or `Final` to fail
an attempt.
"""


class SluiceError(Exception):
    """An error from the broker (`code` is PROTOCOL.md §4's) or the SDK."""

    code = "error"

    def __init__(self, message, code=None):
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self):
        return str(self)


class BadRequest(SluiceError):
    """bad_request: the request was malformed; nothing was changed."""

    code = "bad_request"


class NotFound(SluiceError):
    """not_found: no such job, run or workflow."""

    code = "not_found"


class Forbidden(SluiceError):
    """forbidden: this key may not send that command (CURVE roles)."""

    code = "forbidden"


class InvalidState(SluiceError):
    """invalid_state: not possible in the job's current state."""

    code = "invalid_state"


class Unreachable(SluiceError):
    """No answer from the broker within the timeout (or no broker at all)."""

    code = "unreachable"


class BrokerError(SluiceError):
    """Any other error code (`internal`, `shutting_down`, ...)."""


_BY_CODE = {c.code: c for c in (BadRequest, NotFound, Forbidden, InvalidState)}


def from_reply(body):
    """The exception for an ERROR body {code, message}."""
    code = body.get("code") if isinstance(body.get("code"), str) else "internal"
    message = body.get("message") if isinstance(body.get("message"), str) else code
    cls = _BY_CODE.get(code, BrokerError)
    return cls(message, code)


class Retryable(Exception):
    """Raised by a handler: the attempt failed and may be tried again
    (after `retry_after` seconds at least, when given)."""

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


class Final(Exception):
    """Raised by a handler: the attempt failed and the job goes dead now,
    whatever attempts remain (bad params, a 404, ...)."""


class Cancelled(Exception):
    """Raised by `job.raise_if_cancelled()` once the attempt is to stop
    (cancelled, timed out, or the worker is shutting down)."""
