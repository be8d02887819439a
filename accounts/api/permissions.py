"""DRF permission classes of the accounts API."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class IsSystemAdmin(BasePermission):
    """Only Wharf's system administrators (active superusers).

    Anonymous callers fail `IsAuthenticated` first and get a 401; everyone else a 403.
    """

    message = "Only system administrators may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_superuser)
