"""`/api/v1/sync-runs/` (list, read, trigger) and `/api/v1/projects/{project_name}/sync-runs/`
(a project's runs, for anyone who may see its repositories).

Who may start what: a whole-registry sync is for system admins; a project or
repository sync needs `Perm.SYNC` in that project. `/sync-runs/` lists what the
caller may start: every run for system admins, else the runs of projects where
they hold `Perm.SYNC`.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Perm, is_system_admin
from portal.api.actors import request_actor
from portal.api.schema import PROJECT_NAME_PARAMETER

from ..access import get_project
from ..models import Project, Repository, SyncRun
from ..services.content import project_for_repository
from ..services.sync import request_sync
from ..tasks import enqueue_sync
from .registry_filters import SyncRunFilter
from .registry_serializers import SyncRunCreateSerializer, SyncRunSerializer


def _runs() -> QuerySet[SyncRun]:
    return SyncRun.objects.select_related("project", "requested_by").order_by("-created_at", "-id")


class SyncRunViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[SyncRun],
):
    """Sync runs the caller may start, newest first, and starting one."""

    serializer_class = SyncRunSerializer
    queryset = SyncRun.objects.none()
    filterset_class = SyncRunFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[SyncRun]:
        if getattr(self, "swagger_fake_view", False):
            return SyncRun.objects.none()
        user = self.request.user
        if is_system_admin(user):
            return _runs()
        return _runs().filter(project__in=Project.objects.where_user_may(user, Perm.SYNC).values("pk"))

    @extend_schema(
        request=SyncRunCreateSerializer,
        responses={
            202: OpenApiResponse(SyncRunSerializer, description=gettext_lazy("A new run was queued.")),
            200: OpenApiResponse(SyncRunSerializer, description=gettext_lazy("A run of the same scope is already pending.")),
        },
    )
    def create(self, request: Request) -> Response:
        """Queue a sync of the registry, a project or a repository.

        When a run of the same scope is already queued or running, that run comes
        back with 200 instead of a new one with 202.
        """
        serializer = SyncRunCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        scope = data["scope"]
        project: Project | None = None
        repository = data.get("repository", "")
        if scope == SyncRun.Scope.REGISTRY:
            if not is_system_admin(request.user):
                raise PermissionDenied(_("Only system administrators may sync the whole registry."))
        elif scope == SyncRun.Scope.PROJECT:
            project = get_project(request.user, data["project"], Perm.SYNC)
        else:
            known = Repository.objects.filter(name=repository).values_list("project__name", flat=True).first()
            project_name = known or project_for_repository(repository)
            if data.get("project") and data["project"] != project_name:
                raise ValidationError({"project": _("%(repository)s belongs to project %(project_name)s.") % {"repository": repository, "project_name": project_name}})
            project = get_project(request.user, project_name, Perm.SYNC)
        with transaction.atomic():
            run, created = request_sync(
                actor=request_actor(request),
                scope=scope,
                project=project,
                repository=repository,
                trigger=SyncRun.Trigger.API,
                user=request.user,
            )
            if created:
                enqueue_sync(run)
        run = _runs().get(pk=run.pk)
        code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        return Response(SyncRunSerializer(run).data, status=code)


@extend_schema(parameters=[PROJECT_NAME_PARAMETER])
class ProjectSyncRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[SyncRun]):
    """The sync runs of one project (project and repository scope), newest first."""

    serializer_class = SyncRunSerializer
    queryset = SyncRun.objects.none()
    filterset_class = SyncRunFilter
    lookup_value_regex = r"\d+"
    project: Project

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.project = get_project(request.user, kwargs["project_name"], Perm.VIEW_REPOSITORIES)

    def get_queryset(self) -> QuerySet[SyncRun]:
        if getattr(self, "swagger_fake_view", False):
            return SyncRun.objects.none()
        return _runs().filter(project=self.project)
