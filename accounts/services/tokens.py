"""Personal API tokens: created (secret shown once) and revoked, both audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from ..models import ApiToken, hash_token_secret


@transaction.atomic
def create_token(user: Any, *, actor: Actor, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a token; returns it with its secret, which is never stored or shown again."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the token a name, e.g. 'ci-pipeline'."})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    if ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True).exists():
        raise ValidationError({"name": "You already have an active token with this name."})
    secret = ApiToken.new_secret()
    token = ApiToken.objects.create(
        user=user, name=name, key_hash=hash_token_secret(secret), hint=secret[-4:], expires_at=expires_at
    )
    record(
        AuditAction.API_TOKEN_CREATE,
        actor=actor,
        target_type="api_token",
        target_name=f"{user.username}/{name}",
        details={"expires_at": expires_at.isoformat() if expires_at else None},
    )
    return token, secret


@transaction.atomic
def revoke_token(token: ApiToken, *, actor: Actor) -> ApiToken:
    if token.revoked_at is not None:
        return token
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record(
        AuditAction.API_TOKEN_REVOKE,
        actor=actor,
        target_type="api_token",
        target_name=f"{token.user.username}/{token.name}",
    )
    return token


def authenticate_token(secret: str) -> ApiToken | None:
    """The usable token with this secret, or None. One indexed query."""
    if not secret.startswith("wharf_"):
        return None
    token = ApiToken.objects.usable().select_related("user").filter(key_hash=hash_token_secret(secret)).first()
    if token is not None:
        now = timezone.now()
        # Touch last_used at most once a minute so a busy script does not write on every call.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
    return token
