"""Every API error is JSON.

DRF's own errors and Django `ValidationError`s from services go through
`exception_handler` (services' field messages become a 400 shaped exactly like DRF's
serializer errors). What DRF does not handle (an unknown URL, an unhandled
exception) reaches Django's handlers, which `portal.errors` answers with
`error_body` for paths under `/api/`.

A view that must refuse with a status DRF has no exception for (409, 413, 502, 503)
raises `ApiError(status, detail)` rather than building a `Response`, so the answer
goes through the same handler and carries the request id like every other error.

Shapes: a field error is `{"field": ["message", ...], ...}` (non-field messages under
`non_field_errors`); every other error is `{"detail": "...", "request_id": "..."}`,
the request id being the one echoed in `X-Request-ID`, so a report can be matched
with the server's log.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler


def request_id(request: HttpRequest) -> str:
    """The id `audit.middleware.RequestContextMiddleware` gave the request ("" if none ran)."""
    return str(getattr(request, "request_id", ""))


def error_body(request: HttpRequest, detail: str) -> dict[str, str]:
    return {"detail": detail, "request_id": request_id(request)}


def unique(messages: Iterable[Any]) -> list[str]:
    """The messages as strings, each once, in their first order."""
    return list(dict.fromkeys(str(m) for m in messages))


def field_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A service's `ValidationError` as DRF's 400 body: field → messages, `__all__`
    renamed `non_field_errors`, and no message twice for one field."""
    if not hasattr(exc, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: unique(exc.messages)}
    errors: dict[str, list[str]] = {}
    for field, field_exc in exc.error_dict.items():
        key = api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field
        errors[key] = unique([*errors.get(key, []), *(m for e in field_exc for m in e.messages)])
    return errors


@contextmanager
def service_fields(renames: Mapping[str, str]) -> Iterator[None]:
    """Report a service's field errors under the API's names for those fields
    (`{"actions": ...}` from the service is `{"permissions": ...}` in the request)."""
    try:
        yield
    except DjangoValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise DjangoValidationError(
            {renames.get(field, field): errors for field, errors in exc.error_dict.items()}
        ) from exc


class ApiError(exceptions.APIException):
    """An error answer raised by a view: `status` with `{"detail": ..., "request_id": ...}`,
    plus `code` in the body when given (a machine-readable reason clients may branch on)."""

    def __init__(self, status: int, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail, code)
        self.status_code = status
        self.body_code = code


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(field_errors(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # unhandled: Django's handler500 answers (portal.errors)
    if isinstance(exc, ApiError) and exc.body_code:
        response.data["code"] = exc.body_code
    if isinstance(response.data, list):  # `raise ValidationError("...")` outside a serializer
        response.data = {api_settings.NON_FIELD_ERRORS_KEY: unique(response.data)}
    request = context.get("request")
    if request is not None:
        if isinstance(response.data, dict) and isinstance(response.data.get("detail"), str):
            response.data["request_id"] = request_id(request)
        # Errors are JSON whatever the client negotiated (CSV exports, the browsable API).
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
    return response
