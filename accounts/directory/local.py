"""The backends that need no directory library: local accounts (password hashes), and
keeping OIDC accounts signed in. Importing this module never imports python-ldap."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from ..models import UserSource


class LocalBackend(ModelBackend):
    """Wharf's own accounts, with their password hashes."""

    def user_can_authenticate(self, user: Any) -> bool:
        return super().user_can_authenticate(user) and user.source == UserSource.LOCAL


class SingleSignOnBackend(ModelBackend):
    """Keeps OIDC accounts signed in: it never checks a password (`authenticate` is the
    provider's), only finds the session's user again."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        return None

    def user_can_authenticate(self, user: Any) -> bool:
        return super().user_can_authenticate(user) and user.source == UserSource.OIDC
