"""`/api/v1/repositories/{repository_name}/-/tags/`: list, read and delete tags.

Deleting goes through `services.artifacts.delete_tag`, which removes one tag
only: the artifact and its other tags stay.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from portal import keyset
from portal.api.actors import request_actor
from portal.api.pagination import KeysetPagination
from portal.keyset import Ordering

from ..accessories import (
    Accessory,
    AccessoryMode,
    accessories_for,
    count_accessory_filtered,
    filter_accessories,
)
from ..models import Artifact, Tag
from ..models.labels import Label
from ..services.artifacts import RegistryActionFailed, delete_tag
from ..services.labels import labels_by_artifact
from ..tag_lists import TAG_ORDERINGS, ordered_tags
from .registry_base import (
    REGISTRY_ERROR_RESPONSES,
    REPOSITORY_NAME_PARAMETER,
    TAG_REGEX,
    RepositoryScopedViewSet,
    registry_failure,
)
from .registry_filters import TagFilter
from .registry_serializers import (
    BulkDeleteResultSerializer,
    BulkDeleteTagsSerializer,
    TagOutcome,
    TagSerializer,
)

# The artifact columns a tag row shows; the JSON blobs and manifest bytes stay in the database.
_ARTIFACT_HEAVY = ("manifest", "config", "layers", "annotations", "labels", "error")


def _children() -> Prefetch[str]:
    """The per-platform children of index artifacts, light columns only, in one query."""
    return Prefetch(
        "artifact__children",
        queryset=Artifact.objects.only("id", "parent_id", "digest", "os", "architecture", "variant"),
    )


@extend_schema(parameters=[REPOSITORY_NAME_PARAMETER])
@extend_schema_view(
    list=extend_schema(operation_id="repositories_tags_list"),
    retrieve=extend_schema(operation_id="repositories_tags_retrieve"),
)
class TagViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    RepositoryScopedViewSet[Tag],
):
    """The tags of a repository, by name unless `ordering` says otherwise, paged by
    cursor. Reading needs `Perm.VIEW_REPOSITORIES`; deleting, `Perm.DELETE_ARTIFACT`."""

    serializer_class = TagSerializer
    queryset = Tag.objects.none()
    filterset_class = TagFilter
    lookup_field = "name"
    lookup_url_kwarg = "tag"
    lookup_value_regex = TAG_REGEX
    http_method_names = ["get", "post", "delete", "head", "options"]

    pagination_class = KeysetPagination

    def keyset_ordering(self, request: Request) -> Ordering:
        """The order `?ordering=` asks (validated by `TagFilter`), by name if none."""
        return TAG_ORDERINGS.get(request.query_params.get("ordering") or "name", TAG_ORDERINGS["name"])

    def get_queryset(self) -> QuerySet[Tag]:
        if getattr(self, "swagger_fake_view", False):
            return Tag.objects.none()
        tags = (
            self.repository.tags.select_related("artifact", "artifact__signature")
            .defer(*(f"artifact__{name}" for name in _ARTIFACT_HEAVY))
            .prefetch_related(_children())
        )
        if self.action != "list":
            return tags
        return ordered_tags(self.repository, tags, self.keyset_ordering(self.request))

    def filter_queryset(self, queryset: QuerySet[Tag]) -> QuerySet[Tag]:
        """`TagFilter`'s filters, then `accessories` (`repositories.accessories`) for this
        repository, keeping the tags before it for `keyset_count`."""
        tags = super().filter_queryset(queryset)  # validates every parameter (400) first
        if self.action != "list":
            return tags
        self._unfiltered = tags
        return filter_accessories(tags, self._accessory_mode(), self.repository)

    _unfiltered: QuerySet[Tag] | None = None

    def _accessory_mode(self) -> str:
        return self.request.query_params.get("accessories") or AccessoryMode.INCLUDE

    def keyset_count(self, queryset: QuerySet[Tag]) -> keyset.Total:
        """The list's total (`KeysetPagination`), counted as the page counts it
        (`count_accessory_filtered`): without the per-row accessory work."""
        if self._unfiltered is None:
            return keyset.count(queryset)
        return count_accessory_filtered(self._unfiltered, self._accessory_mode(), self.repository, queryset)

    # The accessories and Wharf labels of the artifacts being answered, one query each per response.
    _accessories: dict[str, list[Accessory]] | None = None
    _labels: dict[int, list[Label]] | None = None

    def paginate_queryset(self, queryset: QuerySet[Tag]) -> Sequence[Tag] | None:
        page = super().paginate_queryset(queryset)  # the API always paginates (portal.api.pagination)
        if page is not None:
            self._accessories = accessories_for(self.repository, (tag.artifact.digest for tag in page))
            self._labels = labels_by_artifact({tag.artifact_id for tag in page})
        return page

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        instance = self.get_object()
        self._accessories = accessories_for(self.repository, [instance.artifact.digest])
        self._labels = labels_by_artifact([instance.artifact_id])
        return Response(self.get_serializer(instance).data)

    def get_serializer_context(self) -> dict[str, Any]:
        return super().get_serializer_context() | {"accessories": self._accessories, "wharf_labels": self._labels}

    @extend_schema(
        operation_id="repositories_tags_destroy",
        responses={204: None, 404: OpenApiResponse(description=gettext_lazy("No such tag.")), **REGISTRY_ERROR_RESPONSES},
    )
    def destroy(self, request: Request, repository_name: str, tag: str) -> Response:
        """Delete this tag in the registry and in Wharf; other tags on the same digest stay."""
        instance = self.get_object()
        instance.repository = self.repository
        try:
            delete_tag(instance, actor=request_actor(request))
        except RegistryActionFailed as exc:
            raise registry_failure(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="repositories_tags_bulk_delete",
        request=BulkDeleteTagsSerializer,
        responses={200: BulkDeleteResultSerializer},
    )
    @action(detail=False, methods=["post"], url_path="bulk-delete", pagination_class=None)
    def bulk_delete(self, request: Request, repository_name: str) -> Response:
        """Delete several tags, one at a time, and say what became of each.

        Once the registry is unavailable the remaining tags are not tried (each try
        would wait for the timeout) and come back `skipped`. A tag named
        `bulk-delete` is shadowed by this route; delete it through this endpoint.
        """
        serializer = BulkDeleteTagsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        names = list(dict.fromkeys(serializer.validated_data["tags"]))
        tags = {t.name: t for t in self.repository.tags.select_related("artifact").filter(name__in=names)}
        actor = request_actor(request)
        results: list[dict[str, str]] = []
        unavailable = ""
        for name in names:
            tag = tags.get(name)
            if tag is None:
                results.append({"tag": name, "outcome": TagOutcome.NOT_FOUND, "detail": _("No such tag.")})
                continue
            if unavailable:
                results.append({"tag": name, "outcome": TagOutcome.SKIPPED, "detail": unavailable})
                continue
            tag.repository = self.repository
            try:
                delete_tag(tag, actor=actor)
            except RegistryActionFailed as exc:
                results.append({"tag": name, "outcome": TagOutcome.FAILED, "detail": exc.message})
                if exc.transient:
                    unavailable = f"Not tried: the registry was unavailable ({exc.message})"
                continue
            results.append({"tag": name, "outcome": TagOutcome.DELETED, "detail": ""})
        deleted = sum(r["outcome"] == TagOutcome.DELETED for r in results)
        body = {"deleted": deleted, "failed": len(results) - deleted, "results": results}
        return Response(BulkDeleteResultSerializer(body).data)
