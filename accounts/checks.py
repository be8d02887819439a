"""System checks: a bad directory configuration is reported by `manage.py check` (and at
start-up) with the variable to fix, instead of failing at someone's login."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register


@register()
def directory_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return [
        Error(f"{variable}: {message}", id="wharf.E101")
        for variable, message in [
            *getattr(settings, "WHARF_LDAP_PROBLEMS", []),
            *getattr(settings, "WHARF_OIDC_PROBLEMS", []),
        ]
    ]
