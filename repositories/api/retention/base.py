"""What the retention viewsets share: the project lookup with a per-action permission."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from django.db.models import Model
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.request import Request

from accounts.permissions import Perm
from portal.api.schema import PROJECT_NAME_PARAMETER

from ...access import get_project
from ...models import Project

M = TypeVar("M", bound=Model)


@extend_schema(parameters=[PROJECT_NAME_PARAMETER])
class ProjectRetentionViewSet(viewsets.GenericViewSet[M]):
    """A viewset under `/projects/{project_name}/`: each action needs the permission
    `action_perms` names for it (`Perm.VIEW_RETENTION` if none), checked by
    `get_project` after authentication (anonymous callers get 401 first; a project the
    caller cannot see is 404, one they see without the permission 403)."""

    action_perms: ClassVar[dict[str, Perm]] = {}
    project: Project

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        perm = self.action_perms.get(self.action or "", Perm.VIEW_RETENTION)
        self.project = get_project(request.user, kwargs["project_name"], perm)
