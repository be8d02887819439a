"""Personal API tokens: created (secret shown once) and revoked, both audited."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from ..models import ALL_TOKEN_SCOPES, ApiToken, hash_token_secret

NO_SCOPE = gettext_lazy("Choose at least one scope.")


def clean_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes without duplicates, in `TokenScope` order; a ValidationError on
    `scopes` when empty or when one is unknown."""
    wanted = list(scopes)
    unknown = sorted({str(scope)[:50] for scope in wanted if scope not in ALL_TOKEN_SCOPES})
    if unknown:
        raise ValidationError(
            {"scopes": _("Unknown scope %(unknown)s: choose among %(scopes)s.") % {"unknown": ', '.join(map(repr, unknown)), "scopes": ', '.join(ALL_TOKEN_SCOPES)}}
        )
    if not wanted:
        raise ValidationError({"scopes": NO_SCOPE})
    return [scope for scope in ALL_TOKEN_SCOPES if scope in wanted]


@transaction.atomic
def create_token(
    user: Any,
    *,
    actor: Actor,
    name: str,
    expires_at: datetime | None = None,
    scopes: Iterable[str] = ALL_TOKEN_SCOPES,
) -> tuple[ApiToken, str]:
    """Create a token; returns it with its secret, which is never stored or shown again.

    `scopes` defaults to all of them, what tokens could do before scopes existed;
    the pages and the API always pass the user's choice.
    """
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the token a name, e.g. 'ci-pipeline'.")})
    chosen = clean_scopes(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    if ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True).exists():
        raise ValidationError({"name": _("You already have an active token with this name.")})
    secret = ApiToken.new_secret()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        key_hash=hash_token_secret(secret),
        hint=secret[-4:],
        expires_at=expires_at,
        scopes=chosen,
    )
    record(
        AuditAction.API_TOKEN_CREATE,
        actor=actor,
        target_type="api_token",
        target_name=f"{user.username}/{name}",
        details={"expires_at": expires_at.isoformat() if expires_at else None, "scopes": chosen},
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
    """The usable token with this secret, or None. One indexed query, which also
    loads the token's scopes: callers check them on the returned row."""
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
