"""Template context every page needs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def wharf(request: HttpRequest) -> dict[str, Any]:
    return {
        "WHARF_PROJECT_CREATION": settings.WHARF_PROJECT_CREATION,
        "WHARF_OIDC_ENABLED": getattr(settings, "WHARF_OIDC_ENABLED", False),
        "WHARF_LDAP_ENABLED": getattr(settings, "WHARF_LDAP_ENABLED", False),
    }
