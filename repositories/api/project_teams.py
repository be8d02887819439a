"""`/api/v1/projects/{project_name}/teams/`: the teams that hold a role in a project.

The same rule as the members endpoint: Guests and up read them, Project Admins change
them (`Perm.VIEW_MEMBERS` / `Perm.MANAGE_MEMBERS` through `repositories.access`)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Perm, Role
from portal.api.actors import request_actor
from portal.api.schema import PROJECT_NAME_PARAMETER

from ..access import get_project
from ..models import Project, ProjectTeam
from ..services.project_teams import add_project_team, change_project_team_role, remove_project_team


class ProjectTeamSerializer(serializers.ModelSerializer[ProjectTeam]):
    team = serializers.CharField(source="team.name", read_only=True, help_text=gettext_lazy("The team's name."))
    team_id = serializers.IntegerField(read_only=True)
    members = serializers.SerializerMethodField(help_text=gettext_lazy("Usernames of the members."))

    class Meta:
        model = ProjectTeam
        fields = ["id", "team", "team_id", "role", "members", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_members(self, grant: ProjectTeam) -> list[str]:
        """Each member of the team holds the role here."""
        return [m.user.username for m in grant.team.memberships.all()]


class ProjectTeamCreateSerializer(serializers.Serializer[ProjectTeam]):
    team = serializers.CharField(help_text=gettext_lazy("The team's name."))
    role = serializers.ChoiceField(choices=Role.choices)


class ProjectTeamUpdateSerializer(serializers.Serializer[ProjectTeam]):
    role = serializers.ChoiceField(choices=Role.choices)


@extend_schema(parameters=[PROJECT_NAME_PARAMETER])
class ProjectTeamViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[ProjectTeam],
):
    """A project's teams and their roles: every member of a team holds its role in the
    project (a user's role is the highest of their own and their teams')."""

    serializer_class = ProjectTeamSerializer
    queryset = ProjectTeam.objects.none()
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    project: Project

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        perm = Perm.VIEW_MEMBERS if request.method in SAFE_METHODS else Perm.MANAGE_MEMBERS
        self.project = get_project(request.user, kwargs["project_name"], perm)

    def get_queryset(self) -> QuerySet[ProjectTeam]:
        if getattr(self, "swagger_fake_view", False):
            return ProjectTeam.objects.none()
        return (
            self.project.team_memberships.select_related("team")
            .prefetch_related("team__memberships__user")
            .order_by("team__name")
        )

    @extend_schema(request=ProjectTeamCreateSerializer, responses={201: ProjectTeamSerializer})
    def create(self, request: Request, project_name: str) -> Response:
        serializer = ProjectTeamCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        grant = add_project_team(self.project, actor=request_actor(request), **serializer.validated_data)
        return Response(
            ProjectTeamSerializer(self.get_queryset().get(pk=grant.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=ProjectTeamUpdateSerializer, responses={200: ProjectTeamSerializer})
    def partial_update(self, request: Request, project_name: str, pk: str) -> Response:
        grant = self.get_object()
        serializer = ProjectTeamUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        grant = change_project_team_role(grant, actor=request_actor(request), **serializer.validated_data)
        return Response(ProjectTeamSerializer(self.get_queryset().get(pk=grant.pk)).data)

    def perform_destroy(self, instance: ProjectTeam) -> None:
        remove_project_team(instance, actor=request_actor(self.request))
