"""The directory check shared by the login form and the registry token service."""

from __future__ import annotations

from typing import Any

from django.conf import settings


def directory_login_enabled() -> bool:
    return bool(getattr(settings, "WHARF_LDAP_ENABLED", False))


def directory_user(username: str, password: str) -> Any:
    """The directory account `username` if the directory accepts `password` (creating it or
    bringing it and its mirrored teams up to date), else None: unknown, wrong password,
    removed, in the deny group, or the directory did not answer."""
    from .backends import DirectoryBackend  # imports python-ldap: only when a directory is configured

    return DirectoryBackend().authenticate(None, username=username, password=password)
