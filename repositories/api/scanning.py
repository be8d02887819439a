"""Scanning endpoints under a repository (`/api/v1/repositories/{name}/-/...`):

- `artifacts/{digest}/scans/`: the artifact's reports (GET), request a built-in scan or,
  with `{"adapter": id}`, a scanner adapter's scan (POST);
- `artifacts/{digest}/scans/{id}/`: one report with its counts;
- `artifacts/{digest}/scans/{id}/findings/` (+ `export/?format=csv|json`): its findings;
- `artifacts/{digest}/sbom/`: the CycloneDX SBOM of the latest built-in scan;
- `artifacts/{digest}/trivy-reports/`: upload a Trivy JSON report (POST);
- `compare/?from=<tag|digest>&to=<tag|digest>`: what changed between two artifacts.

Reading needs `Perm.VIEW_SCANS`; requesting scans and uploading reports,
`Perm.RUN_SCANS`. Both are decided before the action runs (after authentication):
an unseen repository is a 404, a visible one without the permission a 403.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Prefetch, Q, QuerySet
from django.http import Http404, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.permissions import Perm
from audit.api.renderers import CSVRenderer
from portal.api.actors import request_actor
from portal.api.errors import ApiError
from portal.api.pagination import KeysetListMixin

from .. import tasks
from ..access import get_repository
from ..models import Artifact, Finding, Repository, ScannerAdapter, ScanReport, Tag
from ..services.scanning import ScanRefused, request_scan
from ..services.trivy_import import TrivyReportInvalid, import_trivy_report
from .registry_base import DIGEST_REGEX, REPOSITORY_NAME_PARAMETER
from .scanning_compare import compare_reports
from .scanning_filters import DEFAULT_ORDERING, FINDING_ORDERINGS, FindingFilter
from .scanning_requests import AdapterScanQueuedSerializer, ScanRequestSerializer
from .scanning_serializers import CompareSerializer, FindingSerializer, ScanReportSerializer

ARTIFACT_PREFIX_PATTERN = rf"(?P<digest>{DIGEST_REGEX})"

DIGEST_PARAMETER = OpenApiParameter(
    "digest", OpenApiTypes.STR, OpenApiParameter.PATH, description=gettext_lazy("The artifact's manifest digest.")
)
REPORT_ID_PARAMETER = OpenApiParameter("report_id", OpenApiTypes.INT, OpenApiParameter.PATH)
NO_SUCH_ARTIFACT = gettext_lazy("No such artifact.")
NO_SUCH_REPORT = gettext_lazy("No such scan report.")
SUCCEEDED = ScanReport.Status.SUCCEEDED
BUILTIN = ScanReport.Scanner.BUILTIN


def _ref(request: Request, perm: Perm, repository_name: str) -> Repository:
    return get_repository(request.user, repository_name, perm)


def _artifact(repository: Repository, digest: str) -> Artifact:
    artifact = repository.artifacts.filter(digest=digest).first()
    if artifact is None:
        raise Http404(NO_SUCH_ARTIFACT)
    artifact.repository = repository  # carries the project with its `perms`
    return artifact


class ArtifactScopedViewSet(viewsets.GenericViewSet[Any]):
    """A viewset under `.../artifacts/{digest}/`: the permission each action needs is in
    `action_perms` (default `Perm.VIEW_SCANS`), checked with the repository lookup
    before the action runs; then the artifact is looked up (404 if missing)."""

    action_perms: dict[str, Perm] = {}
    repository: Repository
    artifact: Artifact

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        perm = self.action_perms.get(self.action or "", Perm.VIEW_SCANS)
        self.repository = _ref(request, perm, kwargs["repository_name"])
        self.artifact = _artifact(self.repository, kwargs["digest"])


# Columns a report list never shows: the SBOM and the artifact's stored manifest and config.
_HEAVY = ("sbom", *(f"artifact__{name}" for name in ("manifest", "config", "layers", "annotations", "labels")))


def reports_of(artifact: Artifact) -> QuerySet[ScanReport]:
    """The artifact's reports, newest first, without the (large) SBOM column."""
    has_sbom = ExpressionWrapper(Q(sbom__isnull=False), output_field=BooleanField())
    platform_reports = ScanReport.objects.select_related("artifact").defer(*_HEAVY)
    return (
        ScanReport.objects.filter(artifact=artifact)
        .select_related("requested_by", "artifact")
        .defer(*_HEAVY)
        .annotate(has_sbom=has_sbom)
        .prefetch_related(Prefetch("children", queryset=platform_reports.order_by("id"), to_attr="platform_reports"))
        .order_by("-created_at", "-id")
    )


@extend_schema(parameters=[REPOSITORY_NAME_PARAMETER, DIGEST_PARAMETER])
@extend_schema_view(
    list=extend_schema(operation_id="repositories_artifacts_scans_list"),
    retrieve=extend_schema(operation_id="repositories_artifacts_scans_retrieve"),
)
class ScanReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ArtifactScopedViewSet):
    """An artifact's scan reports (any scanner), newest first. `POST` queues a built-in
    scan, or one by a registered scanner adapter (`Perm.RUN_SCANS`)."""

    serializer_class = ScanReportSerializer
    queryset = ScanReport.objects.none()
    action_perms = {"create": Perm.RUN_SCANS}
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[ScanReport]:
        if getattr(self, "swagger_fake_view", False):
            return ScanReport.objects.none()
        return reports_of(self.artifact)

    def get_object(self) -> ScanReport:
        report = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if report is None:
            raise Http404(NO_SUCH_REPORT)
        report.artifact = self.artifact
        return report

    @extend_schema(
        operation_id="repositories_artifacts_scans_create",
        request=ScanRequestSerializer,
        responses={
            202: PolymorphicProxySerializer(
                component_name="ScanRequested",
                serializers=[ScanReportSerializer, AdapterScanQueuedSerializer],
                resource_type_field_name=None,
            ),
            200: OpenApiResponse(ScanReportSerializer, description=gettext_lazy("A scan was already queued or running.")),
            400: OpenApiResponse(description=gettext_lazy("This artifact cannot be scanned, or `adapter` is unknown or disabled.")),
        },
    )
    def create(self, request: Request, repository_name: str, digest: str) -> Response:
        """Queue a built-in scan of the artifact (202 with the report), or return the one
        already queued or running (200). With `adapter` (a registered, enabled scanner
        adapter's id), queue a scan by that adapter instead (202; its report appears in
        the list when the scan starts)."""
        body = ScanRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        adapter = body.validated_data.get("adapter")
        if adapter is not None:
            return self._adapter_scan(request, adapter)
        try:
            report, created = request_scan(self.artifact, request_actor(request), trigger=ScanReport.Trigger.API)
        except ScanRefused as exc:
            raise exceptions.ValidationError({"detail": str(exc)}) from None
        if created:
            tasks.enqueue_scan(report)
        report = reports_of(self.artifact).get(pk=report.pk)
        data = ScanReportSerializer(report).data
        return Response(data, status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK)

    def _adapter_scan(self, request: Request, adapter: ScannerAdapter) -> Response:
        if self.artifact.kind != Artifact.Kind.IMAGE:
            raise exceptions.ValidationError({"adapter": [_("Scanner adapters scan images; scan an index's platform images.")]})
        tasks.enqueue_adapter_scan(self.artifact, adapter, request_actor(request))
        data = {"adapter": adapter.pk, "adapter_name": adapter.name, "digest": self.artifact.digest, "status": "queued"}
        return Response(AdapterScanQueuedSerializer(data).data, status=status.HTTP_202_ACCEPTED)


# --- findings ---------------------------------------------------------------------

CSV_COLUMNS = [
    "vulnerability_id",
    "aliases",
    "severity",
    "cvss_score",
    "package",
    "installed_version",
    "fixed_version",
    "title",
    "ecosystem",
    "package_kind",
    "source_name",
    "source_version",
    "layer_digest",
    "path",
    "allowlisted",
    "links",
]
EXPORT_CHUNK = 2000
MAX_TRIVY_REPORT_BYTES = 64 * 2**20  # Trivy's JSON for a large image is a few MiB


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas (CSV injection): every cell here is untrusted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_value(finding: Finding, column: str) -> Any:
    value = getattr(finding, column)
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    if value is None:
        return ""
    return value


def csv_lines(findings: QuerySet[Finding]) -> Iterator[str]:
    """CSV lines of `findings` in their order, read in chunks so memory stays flat."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for finding in findings.iterator(chunk_size=EXPORT_CHUNK):
        yield writer.writerow([_cell(_csv_value(finding, column)) for column in CSV_COLUMNS])


@extend_schema(parameters=[REPOSITORY_NAME_PARAMETER, DIGEST_PARAMETER, REPORT_ID_PARAMETER])
class FindingViewSet(KeysetListMixin, mixins.ListModelMixin, ArtifactScopedViewSet):
    """A report's findings (for an index's summary report, its platform reports'),
    most severe first, with filters; `export/` gives all of them as CSV or JSON."""

    serializer_class = FindingSerializer
    queryset = Finding.objects.none()
    filterset_class = FindingFilter
    report: ScanReport
    keyset_orderings = FINDING_ORDERINGS
    keyset_default = DEFAULT_ORDERING

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        report = ScanReport.objects.filter(artifact=self.artifact, pk=kwargs["report_id"]).only("pk").first()
        if report is None:
            raise Http404(NO_SUCH_REPORT)
        self.report = report

    def get_queryset(self) -> QuerySet[Finding]:
        if getattr(self, "swagger_fake_view", False):
            return Finding.objects.none()
        return Finding.objects.filter(Q(report=self.report) | Q(report__parent=self.report))

    def finalize_response(
        self, request: Request, response: HttpResponseBase, *args: Any, **kwargs: Any
    ) -> HttpResponseBase:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Errors are JSON even when the client asked for CSV.
        if isinstance(response, Response) and response.status_code >= 400:
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = JSONRenderer.media_type
        return response

    @extend_schema(
        operation_id="repositories_artifacts_scans_findings_list",
        responses=FindingSerializer(many=True),
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        operation_id="repositories_artifacts_scans_findings_export",
        parameters=[
            OpenApiParameter(
                "format", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=["json", "csv"],
                description=gettext_lazy("`json` (the default) or `csv`."),
            )
        ],
        responses={
            (200, "application/json"): FindingSerializer(many=True),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=gettext_lazy("Every matching finding as CSV.")),
        },
    )
    @action(detail=False, methods=["get"], renderer_classes=[JSONRenderer, CSVRenderer], pagination_class=None)
    def export(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """Every finding matching the filters, in the list's order, as a download."""
        findings = self.filter_queryset(self.get_queryset())
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        name = f"findings-{self.repository.name.replace('/', '_')}-{self.report.pk}-{stamp}"
        response: HttpResponseBase
        if request.accepted_renderer.format == "csv":
            response = StreamingHttpResponse(csv_lines(findings), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
            return response
        data = FindingSerializer(findings.iterator(chunk_size=EXPORT_CHUNK), many=True).data
        response = HttpResponse(json.dumps(data), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{name}.json"'
        return response


# --- SBOM and Trivy upload --------------------------------------------------------


@extend_schema(parameters=[REPOSITORY_NAME_PARAMETER, DIGEST_PARAMETER])
class ArtifactScanningViewSet(ArtifactScopedViewSet):
    """The artifact's SBOM (`Perm.VIEW_SCANS`) and Trivy report uploads (`Perm.RUN_SCANS`)."""

    action_perms = {"trivy_reports": Perm.RUN_SCANS}
    queryset = Artifact.objects.none()
    filter_backends: list[Any] = []
    pagination_class = None

    @extend_schema(
        operation_id="repositories_artifacts_sbom",
        responses={
            (200, "application/vnd.cyclonedx+json"): OpenApiResponse(
                OpenApiTypes.OBJECT, description=gettext_lazy("CycloneDX 1.6 JSON, as an attachment.")
            ),
            404: OpenApiResponse(description=gettext_lazy("No such artifact, or no successful built-in scan with an SBOM.")),
        },
    )
    @action(detail=False, methods=["get"])
    def sbom(self, request: Request, repository_name: str, digest: str) -> HttpResponseBase:
        """The CycloneDX SBOM of the artifact's latest successful built-in scan. An index
        has one per platform: ask for the platform image's digest."""
        sbom = (
            ScanReport.objects.filter(artifact=self.artifact, scanner=BUILTIN, status=SUCCEEDED, sbom__isnull=False)
            .order_by("-created_at", "-id")
            .values_list("sbom", flat=True)
            .first()
        )
        if sbom is None:
            if self.artifact.kind == Artifact.Kind.INDEX:
                raise Http404(_("An index has an SBOM per platform: ask for a platform image's digest."))
            raise Http404(_("No SBOM yet: this artifact has no successful built-in scan."))
        name = f"{self.repository.name.replace('/', '_')}-{self.artifact.digest.replace(':', '-')[:19]}.cdx.json"
        response = HttpResponse(json.dumps(sbom), content_type="application/vnd.cyclonedx+json")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @extend_schema(
        operation_id="repositories_artifacts_trivy_reports_create",
        request={"application/json": OpenApiTypes.OBJECT},
        description=gettext_lazy("The body is the JSON `trivy image --format json` wrote (SchemaVersion 2)."),
        responses={
            201: ScanReportSerializer,
            400: OpenApiResponse(description=gettext_lazy("Not JSON, or not a Trivy SchemaVersion 2 report.")),
            413: OpenApiResponse(description=gettext_lazy("The report is larger than Wharf accepts.")),
        },
    )
    @action(detail=False, methods=["post"], url_path="trivy-reports", parser_classes=[JSONParser])
    def trivy_reports(self, request: Request, repository_name: str, digest: str) -> Response:
        """Store a Trivy report as a succeeded `trivy` scan of this artifact."""
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_TRIVY_REPORT_BYTES:
            # Checked before the body is read: the parser would hold all of it in memory.
            raise ApiError(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                _("A Trivy report may be at most %(size)s MiB.") % {"size": MAX_TRIVY_REPORT_BYTES // 2**20},
            )
        try:
            report = import_trivy_report(self.artifact, request_actor(request), request.data)
        except TrivyReportInvalid as exc:
            raise exceptions.ValidationError({"detail": str(exc)}) from None
        report = reports_of(self.artifact).get(pk=report.pk)
        return Response(ScanReportSerializer(report).data, status=status.HTTP_201_CREATED)


# --- compare ----------------------------------------------------------------------

REFERENCE_PARAMETERS = [
    OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.QUERY, required=True, description=text)
    for name, text in (
        ("from", "A tag or digest of this repository: the older side."),
        ("to", "A tag or digest of this repository: the newer side."),
    )
]


def resolve_reference(repository: Repository, reference: str) -> Artifact | None:
    """The artifact a tag or digest names in `repository`."""
    if ":" in reference:
        return repository.artifacts.filter(digest=reference).first()
    tag = Tag.objects.select_related("artifact").filter(repository=repository, name=reference).first()
    return tag.artifact if tag is not None else None


def latest_builtin_report(artifact: Artifact) -> ScanReport | None:
    return (
        ScanReport.objects.filter(artifact=artifact, scanner=BUILTIN, status=SUCCEEDED)
        .order_by("-created_at", "-id")
        .first()
    )


@extend_schema(parameters=[REPOSITORY_NAME_PARAMETER])
class CompareViewSet(viewsets.GenericViewSet[Any]):
    """Comparison of two artifacts of a repository (`Perm.VIEW_SCANS`)."""

    queryset = Artifact.objects.none()
    filter_backends: list[Any] = []
    pagination_class = None
    repository: Repository

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self.repository = _ref(request, Perm.VIEW_SCANS, kwargs["repository_name"])

    def _side(self, request: Request, name: str) -> tuple[str, Artifact, ScanReport]:
        reference = (request.query_params.get(name) or "").strip()
        if not reference:
            raise exceptions.ValidationError({name: [_("Give a tag or digest.")]})
        artifact = resolve_reference(self.repository, reference)
        if artifact is None:
            raise exceptions.ValidationError({name: [_("No tag or digest %(reference)r in %(name)s.") % {"reference": reference, "name": self.repository.name}]})
        report = latest_builtin_report(artifact)
        if report is None:
            raise exceptions.ValidationError(
                {name: [_("%(reference)s has no successful built-in scan yet: scan it first.") % {"reference": reference}]}
            )
        return reference, artifact, report

    @extend_schema(
        operation_id="repositories_compare",
        parameters=REFERENCE_PARAMETERS,
        responses={200: CompareSerializer, 400: OpenApiResponse(description=gettext_lazy("A side is missing, unknown or unscanned."))},
    )
    @action(detail=False, methods=["get"])
    def compare(self, request: Request, repository_name: str) -> Response:
        """Vulnerabilities fixed, introduced and unchanged, and packages added, removed
        and upgraded, between the latest successful built-in scans of `from` and `to`."""
        sides = {name: self._side(request, name) for name in ("from", "to")}
        data: dict[str, Any] = {
            name: {"reference": reference, "digest": artifact.digest, "report": report.pk}
            for name, (reference, artifact, report) in sides.items()
        }
        data.update(compare_reports(sides["from"][2], sides["to"][2]))
        return Response(CompareSerializer(data).data)
