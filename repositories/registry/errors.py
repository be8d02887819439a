"""The one exception type of the registry client, and where status codes are classified.

A `RegistryError` always says whether the failure is *transient* (retrying later may
succeed: the registry is down, overloaded or rate-limiting) or *permanent* (the
request itself is wrong or the content is bad). Callers such as Celery tasks retry
only `RegistryUnavailable`; everything else is recorded and moves on.
"""

from __future__ import annotations

import json

import httpx


class RegistryError(Exception):
    """A failed registry call.

    `status` is the HTTP status (None when no response came back), `code` the
    registry's own error code from the body (e.g. ``MANIFEST_UNKNOWN``) when it gave one.
    `unsent`: the request never reached the registry (connection refused or not made in
    time), so it certainly did nothing; see `may_have_happened`.
    """

    unsent = False

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient
        self.status = status
        self.code = code

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.code:
            parts.append(self.code)
        return " · ".join(parts)

    @property
    def may_have_happened(self) -> bool:
        """A request that got no answer after it was sent (a dropped connection, a read
        timeout): the registry may have carried it out. Callers that delete keep their undo."""
        return self.status is None and not self.unsent

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, transient={self.transient}, "
            f"status={self.status}, code={self.code!r})"
        )


class RegistryUnavailable(RegistryError):
    """Transient: connection refused, timeout, 429 or 5xx. Safe to retry later."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message, transient=True, status=status, code=code)


class ManifestTooLarge(RegistryError):
    """Permanent: a manifest (or config blob) is above the size we agree to read."""

    def __init__(self, message: str, *, limit: int, size: int | None = None) -> None:
        super().__init__(message, transient=False, code="MANIFEST_TOO_LARGE")
        self.limit = limit
        self.size = size


class DigestMismatch(RegistryError):
    """Permanent: the bytes received do not hash to the digest asked for or announced."""

    def __init__(self, message: str, *, expected: str, actual: str) -> None:
        super().__init__(message, transient=False, code="DIGEST_MISMATCH")
        self.expected = expected
        self.actual = actual


class InvalidContent(RegistryError):
    """Permanent: the registry sent something we cannot parse (bad JSON, wrong types)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, transient=False, code="INVALID_CONTENT")


def is_transient_status(status: int) -> bool:
    """The single place deciding which HTTP statuses are worth retrying.

    429 and every 5xx are transient (overload, restarts, proxies in between); other
    4xx mean the request or the content is wrong and will stay wrong.
    """
    return status == 429 or status >= 500


def _error_body(body: bytes) -> tuple[str | None, str | None]:
    """The first `{code, message}` of a Distribution error body, if the body is one."""
    try:
        payload = json.loads(body[:65536] or b"null")
    except (ValueError, UnicodeDecodeError):
        return None, None
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code = errors[0].get("code")
        message = errors[0].get("message")
        return (
            code if isinstance(code, str) else None,
            message if isinstance(message, str) else None,
        )
    return None, None


def error_from_status(status: int, body: bytes, what: str, *, reason: str = "") -> RegistryError:
    """Turn a non-success status and its (decoded) body into the right `RegistryError`."""
    code, detail = _error_body(body)
    message = f"{what}: {detail or reason or 'error'}"
    if is_transient_status(status):
        return RegistryUnavailable(message, status=status, code=code)
    return RegistryError(message, transient=False, status=status, code=code)


def error_from_response(response: httpx.Response, what: str) -> RegistryError:
    """`error_from_status` for a response whose body has been read."""
    return error_from_status(response.status_code, response.content, what, reason=response.reason_phrase)


def error_from_transport(exc: httpx.TransportError, what: str) -> RegistryUnavailable:
    """Connect errors, timeouts and broken connections: always transient."""
    kind = type(exc).__name__
    error = RegistryUnavailable(f"{what}: registry unreachable ({kind}: {exc})")
    error.unsent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
    return error
