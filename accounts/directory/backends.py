"""The directory's authentication backend (django-auth-ldap); `local` holds the others.

The directory and local backends each refuse the other's accounts: a local account is never looked up in the directory
(a directory entry of the same name cannot take it over, and the break-glass admin logs
in while the directory is down), and a directory account never logs in with a local
password, so disabling or removing it in the directory refuses it at the next login."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django_auth_ldap.backend import LDAPBackend, ldap_error

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from ..forms import DIRECTORY_DOWN
from ..models import User, UserSource
from ..services.teams import sync_directory_teams


class DirectoryBackend(LDAPBackend):  # type: ignore[misc]
    """Directory accounts: created at the first login, their name and e-mail and their
    mirrored teams brought up to date at every login."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if not username or not password or not getattr(settings, "WHARF_LDAP_ENABLED", False):
            return None
        existing = User.objects.filter(username__iexact=username).values_list("source", flat=True).first()
        if existing is not None and existing != UserSource.LDAP:
            return None  # a local account stays local
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_or_build_user(self, username: str, ldap_user: Any) -> tuple[Any, bool]:
        user, built = super().get_or_build_user(username, ldap_user)
        if built:
            user.source = UserSource.LDAP
        user._wharf_built = built
        return user, built

    def authenticate_ldap_user(self, ldap_user: Any, password: str) -> Any:
        with transaction.atomic():
            user = super().authenticate_ldap_user(ldap_user, password)
            if user is None:
                return None
            actor = Actor.system("ldap")
            if getattr(user, "_wharf_built", False):
                record(
                    AuditAction.USER_CREATE,
                    actor=actor,
                    target_type="user",
                    target_name=user.username,
                    details={"source": UserSource.LDAP.value, "email": user.email},
                )
            mirrored: list[str] = getattr(settings, "WHARF_LDAP_MIRROR_GROUPS", [])
            if mirrored and getattr(settings, "AUTH_LDAP_GROUP_SEARCH", None) is not None:
                groups = set(ldap_user.group_names)
                wanted = groups if mirrored == ["*"] else groups & set(mirrored)
                sync_directory_teams(user, wanted, actor=actor)
            return user


def _note_directory_down(
    sender: Any, context: str, user: Any, request: Any, exception: Exception, **_: Any
) -> None:
    import ldap

    if request is not None and isinstance(exception, ldap.SERVER_DOWN | ldap.TIMEOUT | ldap.CONNECT_ERROR):
        setattr(request, DIRECTORY_DOWN, True)


ldap_error.connect(_note_directory_down, dispatch_uid="wharf-directory-down")
