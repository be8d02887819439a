"""`/api/v1/projects/`: list, create, read, change and delete projects."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Perm, can_create_projects
from portal import keyset
from portal.api.actors import request_actor
from portal.api.pagination import KeysetListMixin

from ..access import get_project
from ..models import Membership, Project
from ..services.projects import create_project, delete_project, update_project
from .filters import ProjectFilter
from .serializers import ProjectCreateSerializer, ProjectSerializer, ProjectUpdateSerializer

# The permission each action on one project needs; get_project() decides.
_OBJECT_PERMS = {
    "retrieve": Perm.VIEW_PROJECT,
    "partial_update": Perm.UPDATE_PROJECT,
    "destroy": Perm.DELETE_PROJECT,
}


def annotated(qs: QuerySet[Project], user: Any) -> QuerySet[Project]:
    """Add what `ProjectSerializer` shows: the caller's role, the member count (a
    subquery, so it is not skewed by the membership join of `for_user`) and the creator."""
    members = (
        Membership.objects.filter(project=OuterRef("pk"))
        .order_by()
        .values("project")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        qs.with_role(user)  # type: ignore[attr-defined]
        .select_related("created_by")
        .annotate(member_count=Coalesce(Subquery(members, output_field=IntegerField()), Value(0)))
    )


class ProjectViewSet(
    KeysetListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Project],
):
    """Projects you may see: public ones, those you belong to, and every one for system admins."""

    serializer_class = ProjectSerializer
    queryset = Project.objects.none()
    filterset_class = ProjectFilter
    lookup_field = "name"
    lookup_value_regex = r"[^/]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    keyset_orderings = keyset.orderings({"name": ("name",), "created_at": ("created_at", "name")})
    keyset_default = "name"

    def get_queryset(self) -> QuerySet[Project]:
        user = self.request.user
        return annotated(Project.objects.for_user(user), user)

    def get_object(self) -> Project:
        user = self.request.user
        project = get_project(user, self.kwargs["name"], _OBJECT_PERMS[self.action])
        return self._fresh(project)

    def _fresh(self, project: Project) -> Project:
        return annotated(Project.objects.filter(pk=project.pk), self.request.user).get()

    @extend_schema(request=ProjectCreateSerializer, responses={201: ProjectSerializer})
    def create(self, request: Request) -> Response:
        if not can_create_projects(request.user, settings.WHARF_PROJECT_CREATION):
            raise PermissionDenied(_("Only system administrators may create projects on this site."))
        serializer = ProjectCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = create_project(
            actor=request_actor(request), creator=request.user, **serializer.validated_data
        )
        return Response(ProjectSerializer(self._fresh(project)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProjectUpdateSerializer, responses={200: ProjectSerializer})
    def partial_update(self, request: Request, name: str) -> Response:
        project = self.get_object()
        serializer = ProjectUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        update_project(project, actor=request_actor(request), **serializer.validated_data)
        return Response(ProjectSerializer(self._fresh(project)).data)

    def perform_destroy(self, instance: Project) -> None:
        delete_project(instance, actor=request_actor(self.request))
