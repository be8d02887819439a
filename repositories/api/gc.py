"""`/api/v1/gc-runs/`: garbage collection runs of Wharf's registry, and `/api/v1/gc-schedule/`:
when it runs by itself (system admins only, like the GC page)."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.permissions import IsSystemAdmin
from portal.api.actors import request_actor
from portal.api.errors import ApiError

from ..models import GcRun
from ..services.gc import GcRefused, gc_schedule, request_gc, save_schedule
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
            "recycle_entries",
            "trigger",
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
            400: OpenApiResponse(description=gettext_lazy("Invalid fields.")),
            409: OpenApiResponse(
                description=gettext_lazy("Refused: the registry config is not Wharf's own, or a GC or retention run is active.")
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


class GcScheduleSerializer(serializers.Serializer[Any]):
    """When garbage collection runs by itself: a five-field cron expression (server time zone)."""

    enabled = serializers.BooleanField()
    schedule = serializers.CharField(allow_blank=True, max_length=100, help_text=gettext_lazy("e.g. `0 3 * * 0`: Sundays 03:00."))
    dry_run = serializers.BooleanField(default=False)
    delete_untagged = serializers.BooleanField(default=False)
    last_scheduled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_skipped_reason = serializers.CharField(
        read_only=True, help_text=gettext_lazy("Why the last due minute queued nothing (a GC or retention run was active).")
    )
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    updated_by = serializers.CharField(source="updated_by.username", read_only=True, allow_null=True, default=None)


class GcScheduleViewSet(viewsets.GenericViewSet[Model]):
    """The GC schedule: one object, read and replaced by system admins."""

    permission_classes = [IsAuthenticated, IsSystemAdmin]
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(operation_id="gc_schedule_retrieve", responses={200: GcScheduleSerializer})
    @action(detail=False, methods=["get"], url_path="gc-schedule")
    def gc_schedule(self, request: Request) -> Response:
        """The schedule (disabled and empty until set)."""
        return Response(GcScheduleSerializer(gc_schedule()).data)

    @extend_schema(
        operation_id="gc_schedule_update",
        request=GcScheduleSerializer,
        responses={200: GcScheduleSerializer, 400: OpenApiResponse(description=gettext_lazy("A bad cron expression."))},
    )
    @gc_schedule.mapping.put
    def replace_gc_schedule(self, request: Request) -> Response:
        """Replace the schedule (audited); a bad cron expression is a 400 on `schedule`."""
        body = GcScheduleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = save_schedule(actor=request_actor(request), user=request.user, **body.validated_data)
        return Response(GcScheduleSerializer(row).data)
