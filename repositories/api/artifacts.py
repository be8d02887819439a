"""`/api/v1/repositories/{repository_name}/-/artifacts/`: list, read (with the raw
manifest at `.../{digest}/manifest/`) and delete artifacts by digest.

Deleting goes through `services.artifacts.delete_artifact`, which removes the
manifest with every tag on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from portal.api.actors import request_actor
from portal.api.pagination import KeysetListMixin

from ..models import Artifact, Tag
from ..models.labels import Label
from ..services.artifacts import RegistryActionFailed, delete_artifact
from ..services.labels import labels_by_artifact
from .registry_base import (
    DIGEST_REGEX,
    REGISTRY_ERROR_RESPONSES,
    REPOSITORY_NAME_PARAMETER,
    RepositoryScopedViewSet,
    registry_failure,
)
from .registry_filters import ARTIFACT_API_ORDERINGS, ArtifactFilter
from .registry_serializers import ArtifactDetailSerializer, ArtifactSerializer, ManifestSerializer

_LIST_HEAVY = ("manifest", "config", "layers", "annotations", "labels")


@extend_schema(parameters=[REPOSITORY_NAME_PARAMETER])
@extend_schema_view(
    list=extend_schema(operation_id="repositories_artifacts_list"),
    retrieve=extend_schema(operation_id="repositories_artifacts_retrieve"),
)
class ArtifactViewSet(
    KeysetListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    RepositoryScopedViewSet[Artifact],
):
    """The artifacts of a repository, newest push first: top-level ones unless
    `include_children=true`. Reading needs `Perm.VIEW_REPOSITORIES`; deleting,
    `Perm.DELETE_ARTIFACT`."""

    queryset = Artifact.objects.none()
    filterset_class = ArtifactFilter
    lookup_field = "digest"
    lookup_value_regex = DIGEST_REGEX
    http_method_names = ["get", "delete", "head", "options"]
    keyset_orderings = ARTIFACT_API_ORDERINGS
    keyset_default = "-pushed_at"

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "manifest":
            return ManifestSerializer
        return ArtifactSerializer if self.action == "list" else ArtifactDetailSerializer

    def filter_queryset(self, queryset: QuerySet[Artifact]) -> QuerySet[Artifact]:
        # The filters (top-level only by default) choose list rows; any digest can be read.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_queryset(self) -> QuerySet[Artifact]:
        if getattr(self, "swagger_fake_view", False):
            return Artifact.objects.none()
        artifacts = self.repository.artifacts.order_by("-pushed_at", "digest")
        if self.action == "manifest":
            return artifacts
        if self.action == "list":
            artifacts = artifacts.defer(*_LIST_HEAVY)
        return artifacts.select_related("parent", "signature").prefetch_related(
            Prefetch("children", queryset=Artifact.objects.defer(*_LIST_HEAVY)),
            Prefetch("tags", queryset=Tag.objects.order_by("name")),
        )

    # The Wharf labels of the artifacts being answered, one query per response.
    _labels: dict[int, list[Label]] | None = None

    def paginate_queryset(self, queryset: QuerySet[Artifact]) -> Sequence[Artifact] | None:
        page = super().paginate_queryset(queryset)
        if page is not None:
            self._labels = labels_by_artifact({artifact.pk for artifact in page})
        return page

    def get_serializer_context(self) -> dict[str, Any]:
        return super().get_serializer_context() | {"wharf_labels": self._labels}

    @extend_schema(
        operation_id="repositories_artifacts_destroy",
        responses={204: None, 404: OpenApiResponse(description=gettext_lazy("No such artifact.")), **REGISTRY_ERROR_RESPONSES},
    )
    def destroy(self, request: Request, repository_name: str, digest: str) -> Response:
        """Delete this manifest in the registry and in Wharf, with every tag on it."""
        artifact = self.get_object()
        artifact.repository = self.repository
        try:
            delete_artifact(artifact, actor=request_actor(request))
        except RegistryActionFailed as exc:
            raise registry_failure(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(operation_id="repositories_artifacts_manifest", responses={200: ManifestSerializer})
    @action(detail=True, methods=["get"])
    def manifest(self, request: Request, repository_name: str, digest: str) -> Response:
        """The raw manifest as the registry served it."""
        return Response(ManifestSerializer(self.get_object()).data)
