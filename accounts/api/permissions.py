"""DRF permission classes of the accounts API."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.permissions import is_system_admin


class IsSystemAdmin(BasePermission):
    """Only Wharf's system administrators (active superusers).

    Anonymous callers fail `IsAuthenticated` first and get a 401; everyone else a 403.
    """

    message = "Only system administrators may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_system_admin(request.user)
