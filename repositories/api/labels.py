"""Labels in the API.

- `labels/`: global labels. Any signed-in user reads them; system admins create,
  change (`PATCH`) and delete them.
- `projects/{project_name}/labels/`: a project's own labels (`?include_global=true`
  adds the global ones it may use). Readers of the project's repositories read them;
  `Perm.MANAGE_LABELS` changes them.
- `repositories/{repository_name}/-/artifacts/{digest}/labels/`: an artifact's labels;
  `POST {"label": id}` puts one on, `DELETE .../labels/{id}/` takes it off, both with
  `Perm.PUSH`. The tag list filters on a label with `?label=<id>`.

Permissions come from `repositories.access` (which reads `accounts.permissions`);
every change is `services.labels`, so pages and API audit the same way.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.permissions import Perm
from portal.api.actors import request_actor
from portal.api.filters import query_bool
from portal.api.schema import PROJECT_NAME_PARAMETER

from ..access import (
    get_project,
    get_repository,
    require_global_label_manager,
    require_label_attach,
    require_label_manager,
    usable_label,
)
from ..models import Artifact, Label, Project
from ..models.labels import LABEL_NAME_MAX
from ..services import labels as label_service
from .registry_base import REPOSITORY_NAME_PARAMETER

COLOR_HELP = "# and six hexadecimal digits, e.g. `#1f883d`."


class LabelSerializer(serializers.ModelSerializer[Label]):
    """A label as shown; `project` is null for a global label."""

    project = serializers.SlugRelatedField(slug_field="name", read_only=True)
    scope = serializers.CharField(read_only=True, help_text=gettext_lazy("`global` or `project`."))

    class Meta:
        model = Label
        fields = ["id", "name", "color", "description", "scope", "project", "created_at"]
        read_only_fields = fields


class LabelWriteSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=LABEL_NAME_MAX)
    color = serializers.RegexField(r"^#[0-9a-fA-F]{6}\Z", max_length=7, help_text=COLOR_HELP)
    description = serializers.CharField(max_length=1000, allow_blank=True, default="")


class LabelUpdateSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=LABEL_NAME_MAX, required=False)
    color = serializers.RegexField(r"^#[0-9a-fA-F]{6}\Z", max_length=7, required=False, help_text=COLOR_HELP)
    description = serializers.CharField(max_length=1000, allow_blank=True, required=False)


class ArtifactLabelRequestSerializer(serializers.Serializer[Any]):
    label = serializers.IntegerField(min_value=1, help_text=gettext_lazy("The id of a global label or one of the project's."))


class _LabelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Label]):
    """Read, create, change and delete labels (through `services.labels`), for both
    the global and the project label endpoints."""

    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def _project(self) -> Project | None:
        raise NotImplementedError

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        action = getattr(self, "action", None)
        if action == "create":
            return LabelWriteSerializer
        if action == "partial_update":
            return LabelUpdateSerializer
        return LabelSerializer

    @extend_schema(request=LabelWriteSerializer, responses={201: LabelSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = LabelWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        label = label_service.create_label(project=self._project(), actor=request_actor(request), **body.validated_data)
        return Response(LabelSerializer(label).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LabelUpdateSerializer, responses={200: LabelSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        label = self.get_object()
        require_label_manager(request.user, label)
        body = LabelUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        label = label_service.update_label(label, actor=request_actor(request), **body.validated_data)
        return Response(LabelSerializer(label).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        label = self.get_object()
        require_label_manager(request.user, label)
        label_service.delete_label(label, actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class GlobalLabelViewSet(_LabelViewSet):
    """Global labels: every signed-in user reads them, system admins change them."""

    permission_classes = [IsAuthenticated]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method not in SAFE_METHODS:
            require_global_label_manager(request.user)

    def _project(self) -> Project | None:
        return None

    def get_queryset(self) -> QuerySet[Label]:
        return Label.objects.filter(project=None).order_by("name", "id")


@extend_schema(
    parameters=[
        PROJECT_NAME_PARAMETER,
        OpenApiParameter(
            "include_global", OpenApiTypes.BOOL, description=gettext_lazy("List the global labels too (those usable here).")
        ),
    ]
)
class ProjectLabelViewSet(_LabelViewSet):
    """A project's own labels: readers of its repositories read them, holders of
    `Perm.MANAGE_LABELS` (project admins) change them."""

    project: Project
    include_global = False

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        perm = Perm.VIEW_REPOSITORIES if request.method in SAFE_METHODS else Perm.MANAGE_LABELS
        self.project = get_project(request.user, kwargs["project_name"], perm)
        self.include_global = bool(query_bool(request.query_params, "include_global"))  # a 400 if unreadable

    def _project(self) -> Project | None:
        return self.project

    def get_queryset(self) -> QuerySet[Label]:
        if getattr(self, "swagger_fake_view", False):
            return Label.objects.none()
        if self.action == "list" and self.include_global:
            labels = Label.objects.usable_in(self.project)
        else:
            labels = Label.objects.filter(project=self.project)
        return labels.select_related("project").order_by("name", "id")


@extend_schema(
    parameters=[
        REPOSITORY_NAME_PARAMETER,
        OpenApiParameter("digest", OpenApiTypes.STR, OpenApiParameter.PATH, description=gettext_lazy("The artifact's digest.")),
    ]
)
class ArtifactLabelViewSet(viewsets.GenericViewSet[Label]):
    """The labels on one artifact. Reading needs `Perm.VIEW_REPOSITORIES`; putting a
    label on or taking it off, push permission (`Perm.PUSH`)."""

    serializer_class = LabelSerializer
    filter_backends: list[Any] = []
    pagination_class = None
    lookup_value_regex = r"\d+"
    artifact: Artifact

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        repository = get_repository(request.user, kwargs["repository_name"], Perm.VIEW_REPOSITORIES)
        if request.method not in SAFE_METHODS:
            require_label_attach(request.user, repository.project)
        artifact = repository.artifacts.filter(digest=kwargs["digest"]).first()
        if artifact is None:
            raise Http404(_("No such artifact."))
        artifact.repository = repository
        self.artifact = artifact

    def get_queryset(self) -> QuerySet[Label]:
        if getattr(self, "swagger_fake_view", False):
            return Label.objects.none()
        return Label.objects.filter(artifact_links__artifact=self.artifact).select_related("project").order_by("name")

    @extend_schema(operation_id="repositories_artifacts_labels_list", responses={200: LabelSerializer(many=True)})
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(LabelSerializer(self.get_queryset(), many=True).data)

    @extend_schema(
        operation_id="repositories_artifacts_labels_add",
        request=ArtifactLabelRequestSerializer,
        responses={
            201: LabelSerializer(many=True),
            400: OpenApiResponse(description=gettext_lazy("No such label here (another project's, or none).")),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Put a label on the artifact (no change if it has it already); answers its labels."""
        body = ArtifactLabelRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        project = self.artifact.repository.project
        label = usable_label(project, body.validated_data["label"])
        if label is None:
            raise serializers.ValidationError({"label": [_("No such label in this project.")]})
        label_service.add_label(label, [self.artifact], project=project, actor=request_actor(request))
        return Response(LabelSerializer(self.get_queryset(), many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="repositories_artifacts_labels_remove",
        responses={204: None, 404: OpenApiResponse(description=gettext_lazy("The artifact does not have this label."))},
    )
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Take the label off the artifact."""
        label = self.get_queryset().filter(pk=kwargs["pk"]).first()
        if label is None:
            raise Http404(_("The artifact does not have this label."))
        project = self.artifact.repository.project
        label_service.remove_label(label, [self.artifact], project=project, actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


