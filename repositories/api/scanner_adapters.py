"""`scanner-adapters/`: Harbor Pluggable Scanner API adapters, for system admins only.

List, register (the adapter's metadata is read first; an adapter that does not
answer is a 400 on `url`), read, enable or disable (`PATCH {"enabled": ...}`),
remove, and `POST {id}/refresh/` to read the metadata again. The adapter's
Authorization value is write-only: answers only say `has_auth`.
Requesting a scan with an adapter is `POST .../artifacts/{digest}/scans/` with
`{"adapter": id}` (`scanning.py`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.api.permissions import IsSystemAdmin
from portal.api.actors import request_actor

from ..models import ScannerAdapter
from ..services import scanner_adapters


class ScannerAdapterSerializer(serializers.ModelSerializer[ScannerAdapter]):
    """An adapter as shown: never its Authorization value, only whether it has one."""

    has_auth = serializers.BooleanField(read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ScannerAdapter
        fields = ["id", "name", "url", "has_auth", "enabled", "metadata", "metadata_fetched_at", "created_by", "created_at"]
        read_only_fields = fields


class ScannerAdapterCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    url = serializers.URLField(max_length=500)
    auth = serializers.CharField(
        max_length=1000,
        allow_blank=True,
        default="",
        write_only=True,
        help_text=gettext_lazy("The Authorization header value the adapter expects (a secret; never shown again)."),
    )


class ScannerAdapterUpdateSerializer(serializers.Serializer[Any]):
    enabled = serializers.BooleanField()


class ScannerAdapterViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[ScannerAdapter],
):
    """Registered scanner adapters; every write goes through `services.scanner_adapters`."""

    permission_classes = [IsAuthenticated, IsSystemAdmin]
    filter_backends: list[Any] = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[ScannerAdapter]:
        return ScannerAdapter.objects.select_related("created_by").order_by("name", "id")

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "create":
            return ScannerAdapterCreateSerializer
        if self.action == "partial_update":
            return ScannerAdapterUpdateSerializer
        return ScannerAdapterSerializer

    @extend_schema(
        request=ScannerAdapterCreateSerializer,
        responses={
            201: ScannerAdapterSerializer,
            400: OpenApiResponse(description=gettext_lazy("Invalid fields, or the adapter did not answer its metadata.")),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Register an adapter after reading its metadata (returned in the answer)."""
        body = ScannerAdapterCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        adapter = scanner_adapters.register(actor=request_actor(request), **body.validated_data)
        return Response(ScannerAdapterSerializer(adapter).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ScannerAdapterUpdateSerializer, responses={200: ScannerAdapterSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Enable or disable the adapter."""
        adapter = self.get_object()
        body = ScannerAdapterUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        adapter = scanner_adapters.set_enabled(adapter, body.validated_data["enabled"], actor=request_actor(request))
        return Response(ScannerAdapterSerializer(adapter).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        scanner_adapters.remove(self.get_object(), actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={
            200: ScannerAdapterSerializer,
            400: OpenApiResponse(description=gettext_lazy("The adapter did not answer its metadata.")),
        },
    )
    @action(detail=True, methods=["post"])
    def refresh(self, request: Request, pk: str) -> Response:
        """Read the adapter's metadata again."""
        adapter = scanner_adapters.refresh_metadata(self.get_object(), actor=request_actor(request))
        return Response(ScannerAdapterSerializer(adapter).data)
