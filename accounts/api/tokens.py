"""`/api/v1/tokens/`: the caller's own personal API tokens."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.actors import request_actor

from ..models import ApiToken
from ..services.tokens import create_token, revoke_token
from .serializers import ApiTokenCreateSerializer, ApiTokenSerializer, CreatedApiTokenSerializer


class TokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet[ApiToken]):
    """List, create and revoke (DELETE) your tokens. Others' tokens are 404."""

    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[ApiToken]:
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user).select_related("user").order_by("-created_at")

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: CreatedApiTokenSerializer})
    def create(self, request: Request) -> Response:
        serializer = ApiTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, secret = create_token(request.user, actor=request_actor(request), **serializer.validated_data)
        token.secret = secret  # type: ignore[attr-defined]
        return Response(CreatedApiTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None}, description=gettext_lazy("Revoke the token; it stops working at once."))
    def destroy(self, request: Request, pk: str) -> Response:
        revoke_token(self.get_object(), actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
