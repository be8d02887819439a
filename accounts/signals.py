"""Audit receivers for Django's authentication signals (login, logout, failures).

These are the one place where the framework, not a Wharf service, makes the
change, so the audit row is written from its signal, explicitly and synchronously.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from audit.context import Actor
from audit.models import ActorKind, AuditAction
from audit.services import record


@receiver(user_logged_in, dispatch_uid="audit_login")
def audit_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None:
        return
    record(AuditAction.LOGIN, actor=Actor.from_request(request, user), target_type="user", target_name=user.username)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def audit_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is None or user is None:
        return
    record(AuditAction.LOGOUT, actor=Actor.from_request(request, user), target_type="user", target_name=user.username)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def audit_login_failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    actor = Actor.from_request(request) if request is not None else Actor(kind=ActorKind.ANONYMOUS, name="")
    record(
        AuditAction.LOGIN_FAILED,
        actor=Actor(kind=ActorKind.ANONYMOUS, name=username, ip=actor.ip, request_id=actor.request_id),
        target_type="user",
        target_name=username,
    )
