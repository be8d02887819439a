"""Webhooks over the API, with the same rule as the pages (`access.webhook_owner`).

`/api/v1/projects/{project_name}/webhooks/`: a project's webhooks (Project Admins).
`/api/v1/webhooks/`: system webhooks (system admins).
Each has `POST {id}/test/` and its deliveries at `{webhook_id}/deliveries/`, with
`POST {id}/redeliver/`. A secret is write-only: answers say `has_secret`.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.actors import request_actor
from portal.api.pagination import KeysetListMixin
from portal.api.schema import PROJECT_NAME_PARAMETER
from repositories.models import Project

from . import services
from .access import get_webhook, webhook_owner, webhooks_of
from .events import WebhookEvent
from .models import Delivery, Webhook, WebhookFormat
from .targets import MAX_URL_LENGTH
from .views import DELIVERY_ORDERING


class WebhookSerializer(serializers.ModelSerializer[Webhook]):
    """A webhook as shown: never its secret, only whether it has one."""

    project = serializers.SlugRelatedField(slug_field="name", read_only=True)
    has_secret = serializers.BooleanField(read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices))

    class Meta:
        model = Webhook
        fields = ["id", "project", "name", "url", "events", "format", "enabled", "has_secret", "created_by", "created_at", "updated_at"]
        read_only_fields = fields


class WebhookWriteSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    url = serializers.CharField(max_length=MAX_URL_LENGTH, help_text=_("http(s); private addresses are refused."))
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices), allow_empty=False)
    format = serializers.ChoiceField(choices=WebhookFormat.choices, default=WebhookFormat.HARBOR)
    secret = serializers.CharField(
        max_length=200,
        allow_blank=True,
        required=False,
        write_only=True,
        help_text=_("Signs each body (HMAC-SHA256). On update: omit to keep, empty to remove."),
    )
    enabled = serializers.BooleanField(default=True)


class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    class Meta:
        model = Delivery
        fields = [
            "id", "webhook", "event", "event_id", "status", "attempts", "response_code", "response_ms",
            "response_excerpt", "error", "next_retry_at", "last_attempt_at", "redelivery_of", "created_at", "payload",
        ]
        read_only_fields = fields


class _OwnerMixin:
    """Resolves the owner (project or system) once per request, after authentication."""

    owner: Project | None
    kwargs: dict[str, Any]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        if getattr(self, "swagger_fake_view", False):
            return
        self.owner = webhook_owner(request.user, kwargs.get("project_name"))


class _WebhookViewSet(
    _OwnerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Webhook],
):
    permission_classes = [IsAuthenticated]
    serializer_class = WebhookSerializer
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Webhook]:
        if getattr(self, "swagger_fake_view", False):
            return Webhook.objects.none()
        return webhooks_of(self.owner)

    @extend_schema(request=WebhookWriteSerializer, responses={201: WebhookSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = WebhookWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        webhook = services.create_webhook(actor=request_actor(request), project=self.owner, **body.validated_data)
        return Response(WebhookSerializer(webhook).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=WebhookWriteSerializer(partial=True), responses={200: WebhookSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = WebhookWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        secret = changes.pop("secret", None)
        webhook = services.update_webhook(self.get_object(), actor=request_actor(request), secret=secret, **changes)
        return Response(WebhookSerializer(webhook).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.delete_webhook(self.get_object(), actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Queue a test event for this webhook; the answer is its delivery record."""
        delivery = services.send_test(self.get_object(), actor=request_actor(request))
        delivery.refresh_from_db()
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(parameters=[PROJECT_NAME_PARAMETER])
class ProjectWebhookViewSet(_WebhookViewSet):
    """A project's webhooks (Project Admins)."""


class SystemWebhookViewSet(_WebhookViewSet):
    """System webhooks: every project's events (system admins)."""


class _DeliveryViewSet(
    _OwnerMixin,
    KeysetListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[Delivery],
):
    """A webhook's deliveries, newest first."""

    permission_classes = [IsAuthenticated]
    serializer_class = DeliverySerializer
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    keyset_orderings = {"-id": DELIVERY_ORDERING}
    keyset_default = "-id"

    def get_queryset(self) -> QuerySet[Delivery]:
        if getattr(self, "swagger_fake_view", False):
            return Delivery.objects.none()
        webhook = get_webhook(self.owner, self.kwargs["webhook_id"])
        return webhook.deliveries.order_by("-pk")

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Send this delivery's payload again, as a new delivery (returned)."""
        again = services.redeliver(self.get_object(), actor=request_actor(request))
        again.refresh_from_db()
        return Response(DeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)


@extend_schema(parameters=[PROJECT_NAME_PARAMETER])
class ProjectDeliveryViewSet(_DeliveryViewSet):
    """A project webhook's deliveries."""


class SystemDeliveryViewSet(_DeliveryViewSet):
    """A system webhook's deliveries."""
