"""`/api/v1/users/`: user administration, for system admins only."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.actors import request_actor
from portal.api.pagination import KeysetListMixin

from ..models import User
from ..services import users as user_services
from ..views.users import USER_ORDERING
from .filters import UserFilter
from .permissions import IsSystemAdmin
from .serializers import (
    CreatedUserSerializer,
    PasswordResetResultSerializer,
    PasswordResetSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)


class UserViewSet(
    KeysetListMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[User]
):
    """User accounts by username, paged by cursor, for system admins only. Every change is
    recorded in the audit log."""

    keyset_orderings = {"username": USER_ORDERING}
    keyset_default = "username"

    serializer_class = UserSerializer
    queryset = User.objects.none()
    permission_classes = [IsAuthenticated, IsSystemAdmin]
    filterset_class = UserFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[User]:
        return User.objects.order_by("username")

    @extend_schema(request=UserCreateSerializer, responses={201: CreatedUserSerializer})
    def create(self, request: Request) -> Response:
        serializer = UserCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        chosen = data.pop("password", None)
        password = chosen or user_services.generate_password()
        user = user_services.create_user(actor=request_actor(request), password=password, **data)
        user.generated_password = None if chosen else password  # type: ignore[attr-defined]
        return Response(CreatedUserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UserUpdateSerializer, responses={200: UserSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        user = self.get_object()
        serializer = UserUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data: dict[str, Any] = serializer.validated_data
        actor = request_actor(request)
        # All or nothing: a refused change rolls back the ones before it.
        with transaction.atomic():
            if "email" in data:
                user_services.update_user(user, actor=actor, email=data["email"])
            if "is_active" in data:
                user_services.set_active(user, actor=actor, active=data["is_active"])
            if "is_superuser" in data:
                user_services.set_system_admin(user, actor=actor, admin=data["is_superuser"])
        return Response(UserSerializer(user).data)

    @extend_schema(request=PasswordResetSerializer, responses={200: PasswordResetResultSerializer})
    @action(detail=True, methods=["post"], url_path="reset-password")
    def reset_password(self, request: Request, pk: str) -> Response:
        """Set a new password: the one sent, or a generated one returned once."""
        user = self.get_object()
        serializer = PasswordResetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        chosen = serializer.validated_data.get("password")
        password = chosen or user_services.generate_password()
        user_services.set_password(user, actor=request_actor(request), password=password)
        return Response({"password": None if chosen else password})
