"""`/api/v1/replication-rules/` (CRUD, and `POST {id}/runs/` to start a run),
`/api/v1/replication-runs/` (read, `?rule=`) and `.../{id}/items/` (`?status=`).
System admins only (`MayManageReplication`), as the pages."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from portal.api.actors import request_actor

from ..models import RegistryEndpoint, ReplicationItem, ReplicationRule, ReplicationRun
from ..services import rules as rule_service
from ..services import runs as run_service
from .permissions import MayManageReplication


class RuleSerializer(serializers.ModelSerializer[ReplicationRule]):
    endpoint = serializers.SlugRelatedField(slug_field="name", queryset=RegistryEndpoint.objects.all())
    labels = serializers.ListField(child=serializers.CharField(max_length=100), required=False)

    class Meta:
        model = ReplicationRule
        fields = ["id", *rule_service.FIELDS, "created_at", "updated_at"]  # what the service takes
        read_only_fields = ["id", "created_at", "updated_at"]
        # The service validates every field with one set of messages (pages and API alike).
        validators: list[Any] = []
        extra_kwargs: dict[str, dict[str, Any]] = {"name": {"validators": []}}


class RunSerializer(serializers.ModelSerializer[ReplicationRun]):
    rule = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = ReplicationRun
        fields = [
            "id",
            "rule",
            "trigger",
            "status",
            "only",
            "created_at",
            "started_at",
            "finished_at",
            "items_total",
            "copied",
            "skipped",
            "failed",
            "deleted",
            "stats",
            "message",
        ]
        read_only_fields = fields


class ItemSerializer(serializers.ModelSerializer[ReplicationItem]):
    class Meta:
        model = ReplicationItem
        fields = [
            "id",
            "source",
            "destination",
            "digest",
            "status",
            "reason",
            "referrers",
            "blobs_uploaded",
            "bytes_uploaded",
        ]
        read_only_fields = fields


class RuleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[ReplicationRule],
):
    """Replication rules; every write goes through `services.rules`."""

    permission_classes = [IsAuthenticated, MayManageReplication]
    serializer_class = RuleSerializer
    filter_backends: list[Any] = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[ReplicationRule]:
        return ReplicationRule.objects.select_related("endpoint").order_by("name", "id")

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return RunSerializer if self.action == "runs" else RuleSerializer

    @extend_schema(request=RuleSerializer, responses={201: RuleSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = RuleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        rule = rule_service.create_rule(actor=request_actor(request), **body.validated_data)
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RuleSerializer(partial=True), responses={200: RuleSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rule = self.get_object()
        body = RuleSerializer(rule, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        rule = rule_service.update_rule(rule, actor=request_actor(request), **body.validated_data)
        return Response(RuleSerializer(rule).data)

    @extend_schema(responses={204: None, 400: OpenApiResponse(description=gettext_lazy("A run is queued or running."))})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        rule_service.delete_rule(self.get_object(), actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={
            202: RunSerializer,
            200: OpenApiResponse(RunSerializer, description=gettext_lazy("A run was queued already.")),
        },
    )
    @action(detail=True, methods=["post"])
    def runs(self, request: Request, pk: str) -> Response:
        """Start a run now (a rerun copies only what the destination lacks)."""
        run, new = run_service.request_run(self.get_object(), actor=request_actor(request))
        return Response(
            RunSerializer(run).data, status=status.HTTP_202_ACCEPTED if new else status.HTTP_200_OK
        )


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ReplicationRun]):
    """Replication runs, newest first (`?rule=<name>`)."""

    permission_classes = [IsAuthenticated, MayManageReplication]
    serializer_class = RunSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[ReplicationRun]:
        runs_ = ReplicationRun.objects.select_related("rule").order_by("-created_at", "-id")
        rule = self.request.query_params.get("rule") if hasattr(self, "request") and self.request else None
        return runs_.filter(rule__name=rule) if rule else runs_

    @extend_schema(
        parameters=[OpenApiParameter("rule", str, description=gettext_lazy("Only this rule's runs (its name)."))]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)


class RunItemViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[ReplicationItem]):
    """The items of one run, in order (`?status=copied|skipped|failed|deleted`)."""

    permission_classes = [IsAuthenticated, MayManageReplication]
    serializer_class = ItemSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[ReplicationItem]:
        if getattr(self, "swagger_fake_view", False):
            return ReplicationItem.objects.none()
        items = ReplicationItem.objects.filter(run_id=self.kwargs["run_id"]).order_by("id")
        wanted = self.request.query_params.get("status")
        if not wanted:
            return items
        if wanted not in ReplicationItem.Status.values:  # a typo is a 400, not every item
            choices = ", ".join(ReplicationItem.Status.values)
            raise ValidationError({"status": [_("Not an item status: choose one of %(choices)s.") % {"choices": choices}]})
        return items.filter(status=wanted)

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=ReplicationItem.Status.values)],
        responses={200: ItemSerializer(many=True), 404: OpenApiResponse(description=gettext_lazy("No such run."))},
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from django.http import Http404

        if not ReplicationRun.objects.filter(pk=self.kwargs["run_id"]).exists():
            raise Http404(_("No such run."))
        return super().list(request, *args, **kwargs)
