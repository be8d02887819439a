"""`/api/v1/projects/{project_name}/members/`: who belongs to a project, in which role."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Perm
from portal.api.actors import request_actor
from portal.api.schema import PROJECT_NAME_PARAMETER

from ..access import get_project
from ..models import Membership, Project
from ..services.projects import add_member, change_member_role, remove_member
from .serializers import MemberCreateSerializer, MemberSerializer, MemberUpdateSerializer


@extend_schema(parameters=[PROJECT_NAME_PARAMETER])
class MemberViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Membership],
):
    """A project's members and their roles. Guests and up may read them; Project Admins change them."""

    serializer_class = MemberSerializer
    queryset = Membership.objects.none()
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    project: Project

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # After authentication, so anonymous callers get 401 before any lookup.
        super().initial(request, *args, **kwargs)
        perm = Perm.VIEW_MEMBERS if request.method in SAFE_METHODS else Perm.MANAGE_MEMBERS
        self.project = get_project(request.user, kwargs["project_name"], perm)

    def get_queryset(self) -> QuerySet[Membership]:
        if getattr(self, "swagger_fake_view", False):
            return Membership.objects.none()
        return self.project.memberships.select_related("user").order_by("user__username")

    @extend_schema(request=MemberCreateSerializer, responses={201: MemberSerializer})
    def create(self, request: Request, project_name: str) -> Response:
        serializer = MemberCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = add_member(self.project, actor=request_actor(request), **serializer.validated_data)
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberUpdateSerializer, responses={200: MemberSerializer})
    def partial_update(self, request: Request, project_name: str, pk: str) -> Response:
        membership = self.get_object()
        serializer = MemberUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = change_member_role(membership, actor=request_actor(request), **serializer.validated_data)
        return Response(MemberSerializer(membership).data)

    def perform_destroy(self, instance: Membership) -> None:
        remove_member(instance, actor=request_actor(self.request))
