"""Who is acting, from where, under which request id.

An `Actor` is built once per request (or per task) and handed to service
functions, which pass it on to `audit.services.record`. Tasks and commands use
`Actor.system()`; the registry's notifications use `Actor.registry(name)`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .models import ActorKind


def client_ip(request: HttpRequest) -> str | None:
    """The client's address; X-Forwarded-For only when the deployment trusts it."""
    if settings.WHARF_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def request_id(request: HttpRequest) -> str:
    """The id set by `RequestContextMiddleware` (or a fresh one outside it)."""
    rid = getattr(request, "request_id", None)
    return rid if isinstance(rid, str) else uuid.uuid4().hex


@dataclass(frozen=True)
class Actor:
    """The subject of an audited change."""

    kind: str
    name: str
    ip: str | None = None
    request_id: str = ""
    user_id: int | None = None

    @classmethod
    def from_request(cls, request: HttpRequest, user: Any = None) -> Actor:
        user = user if user is not None else getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return cls(
                kind=ActorKind.USER,
                name=user.get_username(),
                ip=client_ip(request),
                request_id=request_id(request),
                user_id=user.pk,
            )
        return cls(
            kind=ActorKind.ANONYMOUS,
            name="",
            ip=client_ip(request),
            request_id=request_id(request),
        )

    @classmethod
    def for_user(cls, user: Any) -> Actor:
        """An actor for work done on a user's behalf outside a request (shell, tests)."""
        return cls(kind=ActorKind.USER, name=user.get_username(), user_id=user.pk)

    @classmethod
    def system(cls, name: str = "wharf") -> Actor:
        return cls(kind=ActorKind.SYSTEM, name=name)

    @classmethod
    def registry(cls, name: str, ip: str | None = None) -> Actor:
        return cls(kind=ActorKind.REGISTRY, name=name, ip=ip)
