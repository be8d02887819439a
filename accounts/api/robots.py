"""Robot accounts over the API.

`/api/v1/projects/{project_name}/robots/`: a project's robots; Developers and up
read them (VIEW_ROBOTS), Project Admins change them (MANAGE_ROBOTS).
`/api/v1/robots/`: system robots spanning projects, for system admins only.
A secret appears in exactly two answers: the create and the regenerate.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api.actors import request_actor
from portal.api.errors import service_fields
from portal.api.pagination import KeysetListMixin
from portal.api.schema import PROJECT_NAME_PARAMETER
from repositories.access import get_project
from repositories.models import Project

from ..models import RobotAccount
from ..permissions import Perm
from ..services.robots import create_robot, delete_robot, regenerate_secret, update_robot
from ..views.robot_pages import ROBOT_ORDERING
from .permissions import IsSystemAdmin
from .robot_serializers import (
    CreatedRobotSerializer,
    RobotCreateSerializer,
    RobotSerializer,
    RobotUpdateSerializer,
    SystemRobotCreateSerializer,
    SystemRobotUpdateSerializer,
)


def _with_secret(robot: RobotAccount, secret: str) -> dict[str, Any]:
    robot.secret = secret  # type: ignore[attr-defined]
    return CreatedRobotSerializer(robot).data  # type: ignore[return-value]


_RENAMES = {"permissions": "actions", "projects": "project_names"}
# The service's errors name its arguments; the client sent the API's fields.
_API_FIELDS = {service: api for api, service in _RENAMES.items()}


def _service_fields(data: dict[str, Any]) -> dict[str, Any]:
    """API field names to the service's keyword arguments."""
    return {_RENAMES.get(key, key): value for key, value in data.items()}


def _known_projects(names: list[str]) -> list[str]:
    """The names, if every one is a project; a 400 naming the unknown ones otherwise."""
    known = set(Project.objects.filter(name__in=names).values_list("name", flat=True))
    unknown = sorted(set(names) - known)
    if unknown:
        raise ValidationError(
            {"projects": _("No such project: %(unknown)s.") % {"unknown": ", ".join(unknown)}}
        )
    return names


class _RobotViewSet(
    KeysetListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[RobotAccount],
):
    serializer_class = RobotSerializer
    queryset = RobotAccount.objects.none()
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    update_serializer: type[RobotUpdateSerializer] = RobotUpdateSerializer
    keyset_orderings = {"name": ROBOT_ORDERING}
    keyset_default = "name"

    def validated_update(self, request: Request) -> dict[str, Any]:
        serializer = self.update_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return _service_fields(dict(serializer.validated_data))

    def perform_destroy(self, instance: RobotAccount) -> None:
        delete_robot(instance, actor=request_actor(self.request))

    @extend_schema(request=None, responses={200: CreatedRobotSerializer})
    @action(detail=True, methods=["post"])
    def regenerate(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A new secret, shown only in this answer; the old one stops working at once."""
        robot = self.get_object()
        secret = regenerate_secret(robot, actor=request_actor(request))
        return Response(_with_secret(robot, secret))


@extend_schema(parameters=[PROJECT_NAME_PARAMETER])
class ProjectRobotViewSet(_RobotViewSet):
    """A project's robot accounts (``robot$project+name``) for CI pipelines."""

    project: Project

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # After authentication, so anonymous callers get 401 before any lookup.
        super().initial(request, *args, **kwargs)
        perm = Perm.VIEW_ROBOTS if request.method in SAFE_METHODS else Perm.MANAGE_ROBOTS
        self.project = get_project(request.user, kwargs["project_name"], perm)

    def get_queryset(self) -> QuerySet[RobotAccount]:
        if getattr(self, "swagger_fake_view", False):
            return RobotAccount.objects.none()
        return self.project.robots.select_related("project", "created_by").order_by("name")

    @extend_schema(request=RobotCreateSerializer, responses={201: CreatedRobotSerializer})
    def create(self, request: Request, project_name: str) -> Response:
        serializer = RobotCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_fields(_API_FIELDS):
            robot, secret = create_robot(
                actor=request_actor(request),
                created_by=request.user,
                project=self.project,
                **_service_fields(dict(serializer.validated_data)),
            )
        return Response(_with_secret(robot, secret), status=status.HTTP_201_CREATED)

    @extend_schema(request=RobotUpdateSerializer, responses={200: RobotSerializer})
    def partial_update(self, request: Request, project_name: str, pk: str) -> Response:
        with service_fields(_API_FIELDS):
            robot = update_robot(
                self.get_object(), actor=request_actor(request), **self.validated_update(request)
            )
        return Response(RobotSerializer(robot).data)


class SystemRobotViewSet(_RobotViewSet):
    """System robot accounts (``robot$name``) acting in several projects; system admins only."""

    permission_classes = [IsAuthenticated, IsSystemAdmin]
    update_serializer = SystemRobotUpdateSerializer

    def get_queryset(self) -> QuerySet[RobotAccount]:
        return RobotAccount.objects.filter(project__isnull=True).select_related("created_by").order_by("name")

    @extend_schema(request=SystemRobotCreateSerializer, responses={201: CreatedRobotSerializer})
    def create(self, request: Request) -> Response:
        serializer = SystemRobotCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = _service_fields(dict(serializer.validated_data))
        _known_projects(data["project_names"])
        with service_fields(_API_FIELDS):
            robot, secret = create_robot(actor=request_actor(request), created_by=request.user, **data)
        return Response(_with_secret(robot, secret), status=status.HTTP_201_CREATED)

    @extend_schema(request=SystemRobotUpdateSerializer, responses={200: RobotSerializer})
    def partial_update(self, request: Request, pk: str) -> Response:
        data = self.validated_update(request)
        if "project_names" in data:
            _known_projects(data["project_names"])
        with service_fields(_API_FIELDS):
            robot = update_robot(self.get_object(), actor=request_actor(request), **data)
        return Response(RobotSerializer(robot).data)
