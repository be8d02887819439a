"""`/api/v1/repositories/{repository_name}/-/artifacts/{digest}/promotions/`: the
artifact's promotion history (GET, `Perm.VIEW_REPOSITORIES`) and promoting it
(POST `{project, repository, tag}`: pull here and push in `project`, checked by
`replication.access`). A registry that refuses or is down is a 502/503 and nothing
is recorded."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Perm
from portal.api.actors import request_actor
from repositories.access import get_repository
from repositories.api.registry_base import REGISTRY_ERROR_RESPONSES, registry_failure
from repositories.models import Artifact
from repositories.services.errors import RegistryActionFailed

from .. import access
from ..models import Promotion
from ..services import promotion


class PromotionSerializer(serializers.ModelSerializer[Promotion]):
    source_project = serializers.SlugRelatedField(slug_field="name", read_only=True)
    target_project = serializers.SlugRelatedField(slug_field="name", read_only=True)
    promoted_by = serializers.CharField(source="actor_name", read_only=True)

    class Meta:
        model = Promotion
        fields = [
            "id",
            "digest",
            "source_project",
            "source_repository",
            "target_project",
            "target_repository",
            "tag",
            "promoted_by",
            "created_at",
            "referrers",
            "stats",
        ]
        read_only_fields = fields


class PromoteRequestSerializer(serializers.Serializer[Any]):
    project = serializers.CharField(max_length=255, help_text=gettext_lazy("The target project (you need push there)."))
    repository = serializers.CharField(
        max_length=255,
        required=False,
        help_text=gettext_lazy("Its name inside the target project; default: the same as here."),
    )
    tag = serializers.CharField(max_length=128)


class PromotionViewSet(viewsets.GenericViewSet[Promotion]):
    """Promotions of one artifact (by digest) into other projects."""

    serializer_class = PromotionSerializer
    filter_backends: list[Any] = []
    pagination_class = None

    def _artifact(self, perm: Perm) -> Artifact:
        repository = get_repository(self.request.user, self.kwargs["repository_name"], perm)
        artifact = repository.artifacts.filter(digest=self.kwargs["digest"]).first()
        if artifact is None:
            raise Http404(_("No such artifact."))
        artifact.repository = repository
        return artifact

    def get_queryset(self) -> QuerySet[Promotion]:
        return Promotion.objects.none()

    @extend_schema(
        operation_id="repositories_artifacts_promotions_list", responses={200: PromotionSerializer(many=True)}
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Who promoted this digest where and when (promotions whose source or target you may see)."""
        artifact = self._artifact(Perm.VIEW_REPOSITORIES)
        return Response(PromotionSerializer(promotion.history(artifact.digest, request.user), many=True).data)

    @extend_schema(
        operation_id="repositories_artifacts_promote",
        request=PromoteRequestSerializer,
        responses={
            201: PromotionSerializer,
            400: OpenApiResponse(description=gettext_lazy("A bad repository or tag, or a protected tag in the target.")),
            403: OpenApiResponse(description=gettext_lazy("No pull here, or no push in the target project.")),
            404: OpenApiResponse(description=gettext_lazy("No such artifact, or no such target project.")),
            **REGISTRY_ERROR_RESPONSES,
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Copy the artifact (with its platform images and referrers) into another project
        under a tag, mounting its blobs inside the registry."""
        artifact = access.promotion_source_by_name(request.user, kwargs["repository_name"], kwargs["digest"])
        body = PromoteRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        target = access.promotion_target(request.user, body.validated_data["project"])
        try:
            done = promotion.promote(
                artifact,
                target_project=target,
                repository=body.validated_data.get("repository") or artifact.repository.short_name,
                tag=body.validated_data["tag"],
                actor=request_actor(request),
            )
        except RegistryActionFailed as exc:
            raise registry_failure(exc) from exc
        return Response(PromotionSerializer(done).data, status=status.HTTP_201_CREATED)
