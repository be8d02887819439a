"""Storage usage in the API: `/api/v1/projects/{name}/usage/` and
`/api/v1/repositories/{name}/-/usage/` (with what deleting some artifacts would free).

Reading usage needs `Perm.VIEW_REPOSITORIES`, the rule the project and repository
pages apply; `get_project` / `get_repository` decide (404 unseen, 403 not allowed).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Perm

from ..access import get_project, get_repository
from ..models import Artifact, Project, Repository
from ..services.usage import project_usage, repository_usage, repository_would_free, would_free
from .registry_base import REPOSITORY_NAME_PARAMETER

MAX_REFERENCES = 1000


class UsageSerializer(serializers.Serializer[Any]):
    logical_size = serializers.IntegerField(help_text=gettext_lazy("Sum over artifacts of their blobs, in bytes: shared blobs count each time."))
    unique_size = serializers.IntegerField(help_text=gettext_lazy("Distinct blobs (manifests, configs, layers), each counted once."))
    shared_size = serializers.IntegerField(help_text=gettext_lazy("logical_size - unique_size."))
    blob_count = serializers.IntegerField(help_text=gettext_lazy("Distinct blobs."))


class FreedSerializer(serializers.Serializer[Any]):
    size = serializers.IntegerField(help_text=gettext_lazy("Bytes of the blobs nothing else references."))
    blob_count = serializers.IntegerField()
    artifact_count = serializers.IntegerField(help_text=gettext_lazy("Artifacts deleted, index children included."))


class RepositoryUsageSerializer(UsageSerializer):
    would_free = FreedSerializer(
        help_text=gettext_lazy("What deleting the artifacts named by `reference` (all of them when none is given) would free "
        "at the next garbage collection.")
    )


def _usage(usage: Any) -> dict[str, int]:
    return {
        "logical_size": usage.logical_size,
        "unique_size": usage.unique_size,
        "shared_size": usage.shared_size,
        "blob_count": usage.blob_count,
    }


class ProjectUsageViewSet(viewsets.GenericViewSet[Any]):
    """A project's storage usage (an action at the project's prefix)."""

    queryset = Project.objects.none()
    filter_backends: list[Any] = []
    pagination_class = None
    serializer_class = UsageSerializer

    @extend_schema(responses={200: UsageSerializer})
    @action(detail=False, methods=["get"])
    def usage(self, request: Request, project_name: str) -> Response:
        """Logical and unique size over every repository of the project; a blob two of
        its repositories share counts once in `unique_size`."""
        project = get_project(request.user, project_name, Perm.VIEW_REPOSITORIES)
        return Response(UsageSerializer(_usage(project_usage(project))).data)


class RepositoryUsageViewSet(viewsets.GenericViewSet[Any]):
    """A repository's storage usage, and what deleting some of its artifacts would free."""

    queryset = Artifact.objects.none()
    filter_backends: list[Any] = []
    pagination_class = None
    serializer_class = RepositoryUsageSerializer

    def _artifacts(self, repository: Repository, references: list[str]) -> list[int]:
        if len(references) > MAX_REFERENCES:
            raise exceptions.ValidationError({"reference": [_("At most %(max)s references.") % {"max": MAX_REFERENCES}]})
        digests = [r for r in references if ":" in r]
        tags = [r for r in references if ":" not in r]
        found = dict(repository.artifacts.filter(digest__in=digests).values_list("digest", "pk"))
        found.update(repository.tags.filter(name__in=tags).values_list("name", "artifact_id"))
        unknown = [r for r in references if r not in found]
        if unknown:
            raise exceptions.ValidationError(
                {"reference": [f"No tag or digest {r!r} in {repository.name}." for r in unknown[:20]]}
            )
        return list(found.values())

    @extend_schema(
        operation_id="repositories_usage",
        parameters=[
            REPOSITORY_NAME_PARAMETER,
            OpenApiParameter(
                "reference",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                many=True,
                description=gettext_lazy("A tag or digest of this repository; repeat it for a set. None: the whole repository."),
            ),
        ],
        responses={200: RepositoryUsageSerializer, 400: OpenApiResponse(description=gettext_lazy("An unknown reference."))},
    )
    @action(detail=False, methods=["get"])
    def usage(self, request: Request, repository_name: str) -> Response:
        """Logical and unique size of the repository, and what deleting the artifacts
        named by `reference` (or the whole repository) would free: their blobs that no
        other artifact, in any repository, references."""
        repository = get_repository(request.user, repository_name, Perm.VIEW_REPOSITORIES)
        references = [r.strip() for r in request.query_params.getlist("reference") if r.strip()]
        if references:
            freed = would_free(self._artifacts(repository, references))
        else:
            freed = repository_would_free(repository)
        data = _usage(repository_usage(repository)) | {
            "would_free": {"size": freed.size, "blob_count": freed.blob_count, "artifact_count": freed.artifact_count}
        }
        return Response(RepositoryUsageSerializer(data).data)
