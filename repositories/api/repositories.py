"""`/api/v1/projects/{project_name}/repositories/` (a project's repositories) and
`/api/v1/repositories/{repository_name}/` (one repository by its full name).

See `registry_base` for why a repository is addressed by its full name with
literal slashes, and its sub-resources after a `/-/` separator.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Perm
from portal.api.pagination import KeysetListMixin
from portal.api.schema import PROJECT_NAME_PARAMETER

from ..access import get_project, get_repository
from ..freshness import last_synced
from ..models import Project, Repository
from .registry_base import REPOSITORY_NAME_PARAMETER, REPOSITORY_NAME_REGEX
from .registry_filters import REPOSITORY_API_ORDERINGS, RepositoryFilter
from .registry_serializers import RepositoryDetailSerializer, RepositorySerializer


@extend_schema(parameters=[PROJECT_NAME_PARAMETER])
class ProjectRepositoryViewSet(KeysetListMixin, mixins.ListModelMixin, viewsets.GenericViewSet[Repository]):
    """The repositories of a project, by name unless `ordering` says otherwise, paged by
    cursor (never-pushed repositories last in both directions of `last_push_at`).
    Anyone who may see the project may list them (`Perm.VIEW_REPOSITORIES`)."""

    serializer_class = RepositorySerializer
    queryset = Repository.objects.none()
    filterset_class = RepositoryFilter
    project: Project
    keyset_orderings = REPOSITORY_API_ORDERINGS
    keyset_default = "name"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.project = get_project(request.user, kwargs["project_name"], Perm.VIEW_REPOSITORIES)

    def get_queryset(self) -> QuerySet[Repository]:
        if getattr(self, "swagger_fake_view", False):
            return Repository.objects.none()
        return self.project.repositories.select_related("project").order_by("name")


@extend_schema(parameters=[REPOSITORY_NAME_PARAMETER])
class RepositoryViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet[Repository]):
    """One repository, addressed by its full registry name with literal slashes:
    `GET /api/v1/repositories/team/app/sub/`. Its tags and artifacts are at
    `/api/v1/repositories/team/app/sub/-/tags/` and `.../-/artifacts/` (an OCI name
    has no `-` component, so the two never collide).

    Needs `Perm.VIEW_REPOSITORIES` in the repository's project; a repository in a
    project the caller cannot see is the same 404 as a missing one.
    """

    serializer_class = RepositoryDetailSerializer
    queryset = Repository.objects.none()
    lookup_field = "name"
    lookup_url_kwarg = "repository_name"
    lookup_value_regex = REPOSITORY_NAME_REGEX

    def get_object(self) -> Repository:
        return get_repository(self.request.user, self.kwargs["repository_name"], Perm.VIEW_REPOSITORIES)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The repository, with `last_synced_at`: when the newest succeeded sync that
        covered it finished (a registry, project or repository sync)."""
        repository = self.get_object()
        context = self.get_serializer_context() | {"freshness": last_synced(repository)}
        return Response(RepositoryDetailSerializer(repository, context=context).data)
