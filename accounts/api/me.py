"""`/api/v1/me/`: who the caller is."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import User
from .serializers import MeSerializer


class MeView(GenericAPIView[User]):
    serializer_class = MeSerializer
    pagination_class = None
    filter_backends: list[type] = []

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)
