"""`/api/v1/registry-endpoints/`: remote registries for replication (system admins).

The password is write-only (answers say `has_credentials`); `PATCH` without
`password` keeps the stored one. `POST {id}/test/` asks the registry's `/v2/` with
the stored credentials and answers the verdict (also stored on the endpoint).
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

from portal.api.actors import request_actor

from ..models import RegistryEndpoint
from ..services import endpoints
from .permissions import MayManageReplication


class EndpointSerializer(serializers.ModelSerializer[RegistryEndpoint]):
    has_credentials = serializers.BooleanField(read_only=True)

    class Meta:
        model = RegistryEndpoint
        fields = [
            "id",
            "name",
            "url",
            "description",
            "username",
            "has_credentials",
            "verify_tls",
            "created_at",
            "updated_at",
            "checked_at",
            "check_ok",
            "check_message",
        ]
        read_only_fields = fields


class EndpointWriteSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=500)
    description = serializers.CharField(max_length=2000, allow_blank=True, default="")
    username = serializers.CharField(max_length=255, allow_blank=True, default="")
    password = serializers.CharField(
        max_length=1000,
        allow_blank=True,
        required=False,
        write_only=True,
        help_text=gettext_lazy("Stored encrypted; never shown."),
    )
    verify_tls = serializers.BooleanField(default=True)


class EndpointViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[RegistryEndpoint],
):
    """Registry endpoints; every write goes through `services.endpoints`."""

    permission_classes = [IsAuthenticated, MayManageReplication]
    filter_backends: list[Any] = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[RegistryEndpoint]:
        return RegistryEndpoint.objects.order_by("name", "id")

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action in ("create", "partial_update"):
            return EndpointWriteSerializer
        return EndpointSerializer

    @extend_schema(request=EndpointWriteSerializer, responses={201: EndpointSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = EndpointWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = endpoints.create_endpoint(actor=request_actor(request), **body.validated_data)
        return Response(EndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EndpointWriteSerializer(partial=True), responses={200: EndpointSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = self.get_object()
        body = EndpointWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        password = data.pop("password", None) or None
        endpoint = endpoints.update_endpoint(
            endpoint, actor=request_actor(request), password=password, **data
        )
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(responses={204: None, 400: OpenApiResponse(description=gettext_lazy("Replication rules use it."))})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoints.delete_endpoint(self.get_object(), actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: EndpointSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str) -> Response:
        """Ask the registry's `/v2/` with the stored credentials; `check_ok` says how it went."""
        return Response(EndpointSerializer(endpoints.test_connection(self.get_object())).data)
