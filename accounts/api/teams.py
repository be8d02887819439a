"""`/api/v1/teams/` and `/api/v1/teams/{team_id}/members/`: teams and who is in them.

Everyone signed in reads the teams they belong to; system admins read and change every
team (`accounts.permissions.can_manage_teams`). A team the caller may not see is a 404."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.actors import request_actor

from ..models import Team, TeamMember
from ..permissions import can_manage_teams
from ..services import teams as team_services

_DESCRIPTION_MAX = Team._meta.get_field("description").max_length


class TeamSerializer(serializers.ModelSerializer[Team]):
    members = serializers.SerializerMethodField(help_text=gettext_lazy("Usernames of the members."))
    projects = serializers.SerializerMethodField(
        help_text=gettext_lazy("Each project where the team holds a role, and the role.")
    )

    class Meta:
        model = Team
        fields = ["id", "name", "description", "directory_group", "created_at", "members", "projects"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_members(self, team: Team) -> list[str]:
        return [m.user.username for m in team.memberships.all()]

    def get_projects(self, team: Team) -> list[dict[str, str]]:
        return [{"project": g.project.name, "role": g.role} for g in team.project_memberships.all()]


class TeamWriteSerializer(serializers.Serializer[Team]):
    name = serializers.CharField(max_length=64)
    description = serializers.CharField(required=False, allow_blank=True, max_length=_DESCRIPTION_MAX)


class TeamUpdateSerializer(serializers.Serializer[Team]):
    name = serializers.CharField(required=False, max_length=64)
    description = serializers.CharField(required=False, allow_blank=True, max_length=_DESCRIPTION_MAX)


class TeamMemberSerializer(serializers.ModelSerializer[TeamMember]):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = TeamMember
        fields = ["id", "username", "created_at"]
        read_only_fields = fields


class TeamMemberCreateSerializer(serializers.Serializer[TeamMember]):
    username = serializers.CharField()


def _require_manage(request: Request) -> None:
    if not can_manage_teams(request.user):
        raise PermissionDenied(_("Only system administrators may change teams."))


class TeamViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Team],
):
    """Teams: named groups of users that hold roles in projects. Members read their own
    teams; system admins read and change every team. Every change is audited."""

    serializer_class = TeamSerializer
    queryset = Team.objects.none()
    permission_classes = [IsAuthenticated]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method not in SAFE_METHODS and self.action != "create":
            self.get_object()  # 404 before 403 for a team the caller may not see
        if request.method not in SAFE_METHODS:
            _require_manage(request)

    def get_queryset(self) -> QuerySet[Team]:
        if getattr(self, "swagger_fake_view", False):
            return Team.objects.none()
        return (
            Team.objects.visible_to(self.request.user)
            .prefetch_related("memberships__user", "project_memberships__project")
            .order_by("name")
        )

    @extend_schema(request=TeamWriteSerializer, responses={201: TeamSerializer})
    def create(self, request: Request) -> Response:
        serializer = TeamWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        team = team_services.create_team(actor=request_actor(request), **serializer.validated_data)
        return Response(TeamSerializer(team).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TeamUpdateSerializer, responses={200: TeamSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        team = self.get_object()
        serializer = TeamUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        team = team_services.update_team(team, actor=request_actor(request), **serializer.validated_data)
        return Response(TeamSerializer(self.get_queryset().get(pk=team.pk)).data)

    def perform_destroy(self, instance: Team) -> None:
        team_services.delete_team(instance, actor=request_actor(self.request))


TEAM_ID_PARAMETER = OpenApiParameter(
    "team_id", OpenApiTypes.INT, OpenApiParameter.PATH, description=gettext_lazy("The team's id.")
)


@extend_schema(parameters=[TEAM_ID_PARAMETER])
class TeamMemberViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[TeamMember],
):
    """The members of a team. Read by whoever sees the team; changed by system admins."""

    serializer_class = TeamMemberSerializer
    queryset = TeamMember.objects.none()
    permission_classes = [IsAuthenticated]
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "delete", "head", "options"]
    team: Team

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.team = get_object_or_404(Team.objects.visible_to(request.user), pk=kwargs["team_id"])
        if request.method not in SAFE_METHODS:
            _require_manage(request)

    def get_queryset(self) -> QuerySet[TeamMember]:
        if getattr(self, "swagger_fake_view", False):
            return TeamMember.objects.none()
        return self.team.memberships.select_related("user").order_by("user__username")

    @extend_schema(request=TeamMemberCreateSerializer, responses={201: TeamMemberSerializer})
    def create(self, request: Request, team_id: str) -> Response:
        serializer = TeamMemberCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        member = team_services.add_team_member(
            self.team, actor=request_actor(request), **serializer.validated_data
        )
        return Response(TeamMemberSerializer(member).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: TeamMember) -> None:
        team_services.remove_team_member(instance, actor=request_actor(self.request))
