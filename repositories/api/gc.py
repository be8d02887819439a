"""`/api/v1/gc-runs/`: garbage collection runs of Wharf's registry (system admins only)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.permissions import IsSystemAdmin
from portal.api.actors import request_actor
from portal.api.errors import ApiError

from ..models import GcRun
from ..services.gc import GcRefused, request_gc
from ..tasks import enqueue_gc


class GcRunSerializer(serializers.ModelSerializer[GcRun]):
    """One garbage collection; for a dry run the removed counts are what a real run would remove."""

    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = GcRun
        fields = [
            "id",
            "status",
            "dry_run",
            "delete_untagged",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "blobs_marked",
            "blobs_removed",
            "manifests_removed",
            "bytes_removed",
            "message",
            "output",
        ]
        read_only_fields = fields


class GcRequestSerializer(serializers.Serializer[Any]):
    dry_run = serializers.BooleanField(default=True)
    delete_untagged = serializers.BooleanField(default=False)


class GcRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet[GcRun]
):
    """Garbage collections, newest first; POST starts one (the "Run GC now" of the page)."""

    serializer_class = GcRunSerializer
    permission_classes = [IsAuthenticated, IsSystemAdmin]
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[GcRun]:
        return GcRun.objects.select_related("requested_by")

    @extend_schema(
        request=GcRequestSerializer,
        responses={
            201: GcRunSerializer,
            400: OpenApiResponse(description="Invalid fields."),
            409: OpenApiResponse(
                description="Refused: the registry config is not Wharf's own, or a GC or retention run is active."
            ),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = GcRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            run = request_gc(actor=request_actor(request), user=request.user, **body.validated_data)
        except GcRefused as exc:
            raise ApiError(status.HTTP_409_CONFLICT, exc.message, code="gc_refused") from exc
        enqueue_gc(run)
        return Response(GcRunSerializer(run).data, status=status.HTTP_201_CREATED)
