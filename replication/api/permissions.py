"""The API's face of `replication.access.require_replication_manager`."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.permissions import may_manage_replication


class MayManageReplication(BasePermission):
    """Endpoints, rules and runs: system admins (anonymous callers get 401 first)."""

    message = _("Only system admins may manage registry endpoints and replication.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return may_manage_replication(request.user)
