"""`projects/{project_name}/signing-keys/`: a project's trusted cosign keys.

Read with `Perm.VIEW_REPOSITORIES` (public keys, as the Signing tab shows them);
add and remove with `Perm.MANAGE_SIGNING_KEYS` (Project Admins). Writes go through
`services.signatures`, which audits them and queues re-verification; a bad PEM, a
taken name or a key already trusted answers 400 with field errors.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.permissions import Perm
from portal.api.actors import request_actor
from portal.api.schema import PROJECT_NAME_PARAMETER

from ..access import get_project
from ..models import Project, TrustedKey
from ..services.signatures import add_key, remove_key


class TrustedKeySerializer(serializers.ModelSerializer[TrustedKey]):
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)

    class Meta:
        model = TrustedKey
        fields = ["id", "name", "algorithm", "fingerprint", "public_key", "created_by", "created_at"]
        read_only_fields = fields


class TrustedKeyCreateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    public_key = serializers.CharField(
        max_length=20000,
        help_text=gettext_lazy(
            "PEM public key (cosign.pub): ECDSA P-256, RSA (≥ 2048 bits) or Ed25519; "
            "or a PEM CA certificate that Notation signatures must chain to (algorithm x509-ca)."
        ),
    )


@extend_schema(parameters=[PROJECT_NAME_PARAMETER])
class TrustedKeyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[TrustedKey],
):
    """A project's trusted signing keys."""

    queryset = TrustedKey.objects.none()
    filter_backends: list[Any] = []
    http_method_names = ["get", "post", "delete", "head", "options"]
    project: Project

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        perm = Perm.VIEW_REPOSITORIES if request.method in SAFE_METHODS else Perm.MANAGE_SIGNING_KEYS
        self.project = get_project(request.user, kwargs["project_name"], perm)

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return TrustedKeyCreateSerializer if self.action == "create" else TrustedKeySerializer

    def get_queryset(self) -> QuerySet[TrustedKey]:
        if getattr(self, "swagger_fake_view", False):
            return TrustedKey.objects.none()
        return (
            TrustedKey.objects.filter(project=self.project)
            .select_related("created_by")
            .order_by("name", "id")
        )

    @extend_schema(request=TrustedKeyCreateSerializer, responses={201: TrustedKeySerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Trust a key; every signature in the project is verified again."""
        body = TrustedKeyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key = add_key(project=self.project, actor=request_actor(request), **body.validated_data)
        return Response(TrustedKeySerializer(key).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Stop trusting a key; every signature in the project is verified again."""
        remove_key(self.get_object(), actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
