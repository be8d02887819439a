"""Scanning endpoints outside a repository: CVE allowlists, a project's scan settings,
OSV imports and the vulnerability database status.

- `projects/{project_name}/allowlist/`: read with `Perm.VIEW_SCANS`, change with
  `Perm.MANAGE_ALLOWLIST`;
- `allowlist/`: the system-wide allowlist, read by any logged-in user (everyone's
  findings are marked by it), changed by system admins only;
- `projects/{project_name}/scan-settings/`: read with `Perm.VIEW_SCANS`; changing
  `scan_on_push` needs `Perm.UPDATE_PROJECT`, like the project's other settings
  (it decides what the project's pushes cost, not what is accepted as risk, which
  is what `MANAGE_ALLOWLIST` is about);
- `osv-imports/`: system admins only; `vulnerability-database/`: any logged-in user.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from accounts.api.permissions import IsSystemAdmin
from accounts.permissions import Perm, is_system_admin
from portal.api.actors import request_actor
from portal.api.schema import PROJECT_NAME_PARAMETER

from ..access import get_project
from ..models import Advisory, AllowlistEntry, OsvImport, Project, ProjectScanSettings
from ..services.allowlists import add_entry, remove_entry, update_entry
from ..services.osv_import import current_database_version
from ..services.scanning import set_scan_on_push
from .scanning_serializers import (
    AllowlistEntryCreateSerializer,
    AllowlistEntrySerializer,
    AllowlistEntryUpdateSerializer,
    OsvImportSerializer,
    ScanSettingsSerializer,
    VulnerabilityDatabaseSerializer,
)


class AllowlistViewSetBase(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet[AllowlistEntry],
):
    """Create, read, change (reason, expiry) and remove entries of one allowlist;
    subclasses say which entries and who may write. Writes go through
    `services.allowlists`, which audits them and re-marks stored findings."""

    queryset = AllowlistEntry.objects.none()
    filter_backends: list[Any] = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scope(self) -> Project | None:
        raise NotImplementedError

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        if self.action == "create":
            return AllowlistEntryCreateSerializer
        if self.action == "partial_update":
            return AllowlistEntryUpdateSerializer
        return AllowlistEntrySerializer

    def get_queryset(self) -> QuerySet[AllowlistEntry]:
        if getattr(self, "swagger_fake_view", False):
            return AllowlistEntry.objects.none()
        project = self.scope()
        entries = AllowlistEntry.objects.select_related("author", "project")
        entries = entries.filter(project=project) if project is not None else entries.filter(project__isnull=True)
        return entries.order_by("vulnerability_id", "id")

    @extend_schema(request=AllowlistEntryCreateSerializer, responses={201: AllowlistEntrySerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Add an entry (400 if the id is already on this allowlist)."""
        body = AllowlistEntryCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        entry = add_entry(project=self.scope(), actor=request_actor(request), **body.validated_data)
        return Response(AllowlistEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AllowlistEntryUpdateSerializer, responses={200: AllowlistEntrySerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change an entry's reason or expiry (`null` for none)."""
        entry = self.get_object()
        body = AllowlistEntryUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reason = body.validated_data.get("reason", entry.reason)
        expires_at = body.validated_data.get("expires_at", entry.expires_at)
        entry = update_entry(entry, reason=reason, expires_at=expires_at, actor=request_actor(request))
        return Response(AllowlistEntrySerializer(entry).data)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        remove_entry(self.get_object(), actor=request_actor(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(parameters=[PROJECT_NAME_PARAMETER])
class ProjectAllowlistViewSet(AllowlistViewSetBase):
    """A project's allowlist: `Perm.VIEW_SCANS` to read, `Perm.MANAGE_ALLOWLIST` to change."""

    project: Project

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        perm = Perm.VIEW_SCANS if request.method in SAFE_METHODS else Perm.MANAGE_ALLOWLIST
        self.project = get_project(request.user, kwargs["project_name"], perm)

    def scope(self) -> Project | None:
        return self.project


class SystemAllowlistPermission(IsAuthenticated):
    """Anyone logged in reads the system-wide allowlist; only system admins change it."""

    message = "Only system administrators may change the system-wide allowlist."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in SAFE_METHODS or is_system_admin(request.user)


class SystemAllowlistViewSet(AllowlistViewSetBase):
    """The system-wide allowlist: honoured in every project."""

    permission_classes = [SystemAllowlistPermission]

    def scope(self) -> Project | None:
        return None


@extend_schema(parameters=[PROJECT_NAME_PARAMETER])
class ScanSettingsViewSet(viewsets.GenericViewSet[Any]):
    """A project's scanning settings (one resource per project, so an action at the
    project's prefix): `Perm.VIEW_SCANS` to read, `Perm.UPDATE_PROJECT` to change."""

    queryset = ProjectScanSettings.objects.none()
    filter_backends: list[Any] = []
    pagination_class = None
    serializer_class = ScanSettingsSerializer
    project: Project

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        perm = Perm.VIEW_SCANS if request.method in SAFE_METHODS else Perm.UPDATE_PROJECT
        self.project = get_project(request.user, kwargs["project_name"], perm)

    def _data(self) -> dict[str, Any]:
        return {"scan_on_push": ProjectScanSettings.scan_on_push_for(self.project.pk)}

    @extend_schema(responses={200: ScanSettingsSerializer})
    @action(detail=False, methods=["get"], url_path="scan-settings")
    def scan_settings(self, request: Request, project_name: str) -> Response:
        """The settings; a project that never changed them shows the defaults."""
        return Response(ScanSettingsSerializer(self._data()).data)

    @extend_schema(request=ScanSettingsSerializer, responses={200: ScanSettingsSerializer})
    @scan_settings.mapping.patch
    def update_scan_settings(self, request: Request, project_name: str) -> Response:
        """Turn scanning on push on or off."""
        body = ScanSettingsSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        if "scan_on_push" in body.validated_data:
            set_scan_on_push(self.project, body.validated_data["scan_on_push"], actor=request_actor(request))
        return Response(ScanSettingsSerializer(self._data()).data)


class OsvImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[OsvImport]):
    """Runs of `import_osv`, newest first: system admins only."""

    serializer_class = OsvImportSerializer
    permission_classes = [IsAuthenticated, IsSystemAdmin]
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[OsvImport]:
        return OsvImport.objects.order_by("-started_at", "-id")


class VulnerabilityDatabaseViewSet(viewsets.GenericViewSet[Any]):
    """`vulnerability-database/`: how current the advisory database is (registered at
    the API root so the status is one object, not a list)."""

    queryset = OsvImport.objects.none()
    serializer_class = VulnerabilityDatabaseSerializer
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(
        operation_id="vulnerability_database_retrieve",
        responses={200: VulnerabilityDatabaseSerializer, 401: OpenApiResponse(description=gettext_lazy("Not logged in."))},
    )
    @action(detail=False, methods=["get"], url_path="vulnerability-database")
    def vulnerability_database(self, request: Request) -> Response:
        """The number of advisories, the database version (newest `modified`) and the
        time of the latest successful import, with its age."""
        latest = (
            OsvImport.objects.filter(status=OsvImport.Status.SUCCEEDED, finished_at__isnull=False)
            .order_by("-finished_at", "-id")
            .first()
        )
        data = {
            "advisories": Advisory.objects.count(),
            "database_version": current_database_version(),
            "last_import_at": latest.finished_at if latest else None,
            "last_import_source": latest.source if latest else None,
            "age_seconds": (timezone.now() - latest.finished_at).total_seconds() if latest and latest.finished_at else None,
        }
        return Response(VulnerabilityDatabaseSerializer(data).data)
