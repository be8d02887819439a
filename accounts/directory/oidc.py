"""Single sign-on with an OpenID Provider (authlib's Django client): the authorization
code flow with PKCE (S256), endpoints from the provider's discovery document.

Off unless `WHARF_OIDC_DISCOVERY_URL` is set. An OIDC account is created at its first
sign-in (`User.source = oidc`), its name and e-mail follow the ID token's claims, the
groups claim is mirrored into teams like directory groups, and membership of
`WHARF_OIDC_ADMIN_GROUP` (if set) makes a system admin. OIDC accounts have no
password: `docker login` takes a personal access token. A local or LDAP account of the
same name is never taken over."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from ..models import User, UserSource
from ..services.teams import sync_directory_teams


def _setting(name: str) -> Any:
    return getattr(settings, name)


def oidc_enabled() -> bool:
    return bool(getattr(settings, "WHARF_OIDC_ENABLED", False))


def client() -> Any:
    """The provider's client, built from the current settings (authlib reads the
    discovery document on first use)."""
    from authlib.integrations.django_client import OAuth

    oauth = OAuth()
    return oauth.register(
        "wharf",
        client_id=_setting("WHARF_OIDC_CLIENT_ID"),
        client_secret=_setting("WHARF_OIDC_CLIENT_SECRET"),
        server_metadata_url=_setting("WHARF_OIDC_DISCOVERY_URL"),
        client_kwargs={"scope": _setting("WHARF_OIDC_SCOPES"), "code_challenge_method": "S256"},
    )


@transaction.atomic
def sign_in_user(claims: Mapping[str, Any]) -> Any:
    """The account for the ID token's `claims`: created at the first sign-in, brought up to
    date every time. Raises ValidationError when the claims name no usable account."""
    username = str(claims.get(_setting("WHARF_OIDC_USERNAME_CLAIM")) or "").strip()
    if not username:
        raise ValidationError(
            _("The provider sent no “%(claim)s” claim.") % {"claim": _setting("WHARF_OIDC_USERNAME_CLAIM")}
        )
    actor = Actor.system("oidc")
    user = User.objects.select_for_update().filter(username__iexact=username).first()
    if user is not None and user.source != UserSource.OIDC:
        raise ValidationError(
            _("“%(username)s” is a %(source)s account: log in with its password.")
            % {"username": username, "source": user.get_source_display()}
        )
    if user is None:
        user = User(username=username, source=UserSource.OIDC)
        user.set_unusable_password()
        created = True
    else:
        created = False
    if not user.is_active and not created:
        raise ValidationError(_("This account is deactivated."))
    user.first_name = str(claims.get("given_name") or "")[:150]
    user.last_name = str(claims.get("family_name") or "")[:150]
    user.email = str(claims.get("email") or "")[:254]
    groups = {str(g) for g in claims.get(_setting("WHARF_OIDC_GROUPS_CLAIM")) or []}
    admin_group = _setting("WHARF_OIDC_ADMIN_GROUP")
    if admin_group:
        user.is_superuser = user.is_staff = admin_group in groups
    user.save()
    if created:
        record(
            AuditAction.USER_CREATE,
            actor=actor,
            target_type="user",
            target_name=user.username,
            details={"source": UserSource.OIDC.value, "email": user.email, "is_superuser": user.is_superuser},
        )
    mirrored: list[str] = _setting("WHARF_OIDC_MIRROR_GROUPS")
    if mirrored:
        sync_directory_teams(user, groups if mirrored == ["*"] else groups & set(mirrored), actor=actor)
    return user
