"""Scan results of one artifact: the severity summary (tag list, artifact page), the
Vulnerabilities page with its filters and exports, "Scan now", the SBOM download,
and comparing two tags of a repository.

Reading needs `Perm.VIEW_SCANS`, requesting a scan `Perm.RUN_SCANS` (as the REST
API). Findings, advisories and SBOMs come from images and the OSV database: all
untrusted, so templates rely on autoescaping and exports neutralise formulas.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh

from accounts.permissions import Perm
from accounts.views.http import HtmxHttpRequest, render_page
from audit.context import Actor
from portal import keyset
from portal.db import latest_per
from portal.statements import Prepared

from ..access import get_project, get_repository_in
from ..api.scanning_compare import compare_reports
from ..api.scanning_filters import FINDING_ORDERINGS, ORDERINGS, order_findings
from ..models import (
    Advisory,
    Artifact,
    Finding,
    FindingQuerySet,
    OsvImport,
    Project,
    Repository,
    ScanReport,
    Severity,
    Tag,
)
from ..services.scanning import PENDING, ScanRefused, request_scan
from ..tasks import enqueue_scan
from .artifacts import _get_artifact, artifact_url
from .repositories import _query_without_page, repository_url
from .tabs import project_context

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

FINDINGS_PER_PAGE = 100
EXPORT_CHUNK = 1000
COMPARE_TAG_CHOICES = 1000
EXPORT_COLUMNS = [
    "vulnerability_id",
    "aliases",
    "severity",
    "cvss_score",
    "package",
    "installed_version",
    "fixed_version",
    "ecosystem",
    "title",
    "layer_digest",
    "path",
    "allowlisted",
    "links",
]
SORTS: dict[str, StrOrPromise] = {
    "severity": _("Severity (critical first)"),
    "-cvss_score": _("Score (highest first)"),
    "cvss_score": _("Score (lowest first)"),
    "package": _("Package (A–Z)"),
    "vulnerability_id": _("Vulnerability id"),
}
BANDS = [band.value for band in Severity]
# Heavy columns the summaries never read.
_REPORT_HEAVY = ("sbom", "notes", "error")


# --- the severity summary -----------------------------------------------------------


@dataclass
class ScanSummary:
    """What the summary badge shows for one artifact: the latest succeeded report's
    counts (`report`) and the state of the newest report of any status."""

    report: ScanReport | None
    state: str  # "none", "pending", "failed" or "succeeded"

    @property
    def never_scanned(self) -> bool:
        """No report of any status: the badge is the same "not scanned" for every such artifact."""
        return self.report is None and self.state == "none"

    @property
    def bands(self) -> list[tuple[str, StrOrPromise, int, int]]:
        """(band, label, count, fixable) for the bands with a count above zero."""
        if self.report is None:
            return []
        counts, fixable = self.report.counts or {}, self.report.fixable_counts or {}
        return [
            (band.value, band.label, int(counts.get(band.value, 0)), int(fixable.get(band.value, 0)))
            for band in Severity
            if counts.get(band.value)
        ]


def _newest_reports(artifact_ids: list[int]) -> QuerySet[ScanReport]:
    """The newest report (any status) of each of `artifact_ids`."""
    reports = ScanReport.objects.filter(artifact_id__in_list=artifact_ids).defer(*_REPORT_HEAVY)
    return latest_per(reports, "artifact_id", ["-created_at", "-id"])


# Built and compiled once per process (`portal.statements`; on PostgreSQL, where the ids are
# one array parameter).
_NEWEST_REPORTS = Prepared(_newest_reports, list[int])


def scan_summaries(artifact_ids: Iterable[int]) -> dict[int, ScanSummary]:
    """{artifact id: summary} in at most two queries whatever the number of artifacts: the
    newest report of each (any status), and the newest succeeded one of those whose newest
    did not succeed."""
    ids = sorted(set(artifact_ids))
    if not ids:
        return {}
    reports = ScanReport.objects.filter(artifact_id__in=ids).defer(*_REPORT_HEAVY)
    newest = {r.artifact_id: r for r in _NEWEST_REPORTS.rows(ids, using=ScanReport.objects.db)}
    # An artifact whose newest report succeeded has it as its newest success; only the others
    # (pending, failed) need the second query, and a page of unscanned or cleanly scanned
    # artifacts does without it.
    succeeded = {aid: r for aid, r in newest.items() if r.status == ScanReport.Status.SUCCEEDED}
    others = sorted(aid for aid in newest if aid not in succeeded)
    if others:
        earlier = reports.filter(artifact_id__in=others, status=ScanReport.Status.SUCCEEDED)
        succeeded |= {r.artifact_id: r for r in latest_per(earlier, "artifact_id", ["-created_at", "-id"])}
    summaries = {}
    for artifact_id in ids:
        latest = newest.get(artifact_id)
        if latest is None:
            state = "none"
        elif latest.status in PENDING:
            state = "pending"
        elif latest.status == ScanReport.Status.FAILED:
            state = "failed"
        else:
            state = "succeeded"
        summaries[artifact_id] = ScanSummary(succeeded.get(artifact_id), state)
    return summaries


# --- the Vulnerabilities page ---------------------------------------------------------


class FindingListForm(forms.Form):
    """The query string of the findings table; a bad value drops only itself."""

    severity = forms.MultipleChoiceField(required=False, choices=Severity.choices)
    fixable = forms.ChoiceField(
        required=False, choices=[("", _("Any")), ("yes", _("Fix available")), ("no", _("No fix"))]
    )
    package = forms.CharField(required=False, max_length=255)
    id = forms.CharField(required=False, max_length=255, label=_("Vulnerability id"))
    sort = forms.ChoiceField(required=False, choices=list(SORTS.items()))
    page = forms.IntegerField(required=False, min_value=1)


def cleaned(form: forms.Form) -> dict[str, Any]:
    """The valid fields of a bound form (invalid ones are left out, not fatal)."""
    form.is_valid()
    return form.cleaned_data


def latest_succeeded(artifact: Artifact) -> ScanReport | None:
    return (
        ScanReport.objects.filter(artifact=artifact, status=ScanReport.Status.SUCCEEDED)
        .defer("sbom")
        .order_by("-created_at", "-id")
        .first()
    )


def newest_report(artifact: Artifact) -> ScanReport | None:
    return (
        ScanReport.objects.filter(artifact=artifact)
        .defer(*_REPORT_HEAVY)
        .order_by("-created_at", "-id")
        .first()
    )


def report_findings(report: ScanReport) -> FindingQuerySet:
    """The findings of `report`, or of its platform reports for an index's summary."""
    return Finding.objects.filter(Q(report=report) | Q(report__parent=report))


def filter_findings(findings: FindingQuerySet, data: dict[str, Any]) -> QuerySet[Finding]:
    if data.get("severity"):
        findings = findings.filter(severity__in=data["severity"])
    if data.get("fixable") == "yes":
        findings = findings.exclude(fixed_version="")
    elif data.get("fixable") == "no":
        findings = findings.filter(fixed_version="")
    if package := (data.get("package") or "").strip():
        findings = findings.filter(package__icontains=package)
    if vuln := data.get("id") or "":
        findings = findings.matching_id(vuln)
    sort = data.get("sort") or "severity"
    return order_findings(findings, sort if sort in ORDERINGS else "severity")


def database_age() -> OsvImport | None:
    """The newest succeeded OSV import: the vulnerability database's age."""
    return OsvImport.objects.filter(status=OsvImport.Status.SUCCEEDED).order_by("-finished_at", "-id").first()


def _artifact_for(
    request: HtmxHttpRequest, name: str, repo: str, digest: str, perm: Perm
) -> tuple[Project, Repository, Artifact]:
    project = get_project(request.user, name, perm)
    repository = get_repository_in(project, repo)
    return project, repository, _get_artifact(repository, digest)


def _advisories(findings: list[Finding]) -> dict[str, Advisory]:
    ids = {f.vulnerability_id for f in findings}
    rows = Advisory.objects.filter(osv_id__in=ids).only("osv_id", "summary", "details")
    return {a.osv_id: a for a in rows}


@login_required
@require_GET
def vulnerabilities(request: HtmxHttpRequest, name: str, repo: str, digest: str) -> HttpResponse:
    project, repository, artifact = _artifact_for(request, name, repo, digest, Perm.VIEW_SCANS)
    form = FindingListForm(request.GET)
    data = cleaned(form)
    report = latest_succeeded(artifact)
    newest = newest_report(artifact)
    page = None
    listed: dict[str, Any] = {}
    if report is not None:
        findings = filter_findings(report_findings(report).select_related("report__artifact"), data)
        sort = data.get("sort") or "severity"
        ordering = FINDING_ORDERINGS[sort if sort in FINDING_ORDERINGS else "severity"]
        listed = keyset.page_context(findings, ordering, request.GET, FINDINGS_PER_PAGE)
        page = listed["page"]
        advisories = _advisories(list(page.object_list))
        for finding in page.object_list:
            finding.advisory = advisories.get(finding.vulnerability_id)
    base = artifact_url(repository, artifact.digest, "vulnerabilities/")
    perms = project.perms  # type: ignore[attr-defined]
    context = (
        project_context(project, "repositories")
        | listed
        | {
            "repository": repository,
            "repository_url": repository_url(repository),
            "artifact": artifact,
            "artifact_url": artifact_url(repository, artifact.digest),
            "report": report,
            "newest": newest,
            "pending": newest is not None and newest.status in PENDING,
            "summary": ScanSummary(report, _state(newest)),
            "form": form,
            "page": page,
            "bands": Severity.choices,
            "selected": data.get("severity") or [],
            "sorts": list(SORTS.items()),
            "sort": data.get("sort") or "severity",
            "query": _query_without_page(request.GET),
            "export_query": _query_without_page(request.GET),
            "list_url": base,
            "can_scan": Perm.RUN_SCANS in perms
            and artifact.kind in (Artifact.Kind.IMAGE, Artifact.Kind.INDEX),
            "has_sbom": report is not None
            and ScanReport.objects.filter(pk=report.pk, sbom__isnull=False).exists(),
            "database": database_age(),
        }
    )
    return render_page(request, "scans/vulnerabilities.html", "findings", context)


def _state(report: ScanReport | None) -> str:
    if report is None:
        return "none"
    if report.status in PENDING:
        return "pending"
    return "failed" if report.status == ScanReport.Status.FAILED else "succeeded"


# --- exports ---------------------------------------------------------------------------


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas (CSV injection): every cell is untrusted."""
    if isinstance(value, list):
        value = " ".join(str(item) for item in value)
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(findings: QuerySet[Finding]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for finding in findings.iterator(chunk_size=EXPORT_CHUNK):
        yield writer.writerow([_cell(getattr(finding, column)) for column in EXPORT_COLUMNS])


def _json_chunks(findings: QuerySet[Finding]) -> Iterator[str]:
    yield "["
    for n, finding in enumerate(findings.iterator(chunk_size=EXPORT_CHUNK)):
        yield ("," if n else "") + json.dumps({column: getattr(finding, column) for column in EXPORT_COLUMNS})
    yield "]"


@login_required
@require_GET
def vulnerabilities_export(
    request: HtmxHttpRequest, name: str, repo: str, digest: str, fmt: str
) -> HttpResponse | StreamingHttpResponse:
    """The filtered findings of the latest report as CSV or JSON, streamed."""
    if fmt not in ("csv", "json"):
        raise Http404(gettext("Exports are CSV or JSON."))
    _project, repository, artifact = _artifact_for(request, name, repo, digest, Perm.VIEW_SCANS)
    report = latest_succeeded(artifact)
    if report is None:
        raise Http404(gettext("This artifact has no successful scan yet."))
    findings = filter_findings(report_findings(report), cleaned(FindingListForm(request.GET)))
    filename = f"{repository.name.replace('/', '_')}-{artifact.short_digest}-vulnerabilities.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(_csv_lines(findings), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(_json_chunks(findings), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def sbom(request: HtmxHttpRequest, name: str, repo: str, digest: str) -> HttpResponse:
    """The CycloneDX JSON of the latest succeeded report that has one."""
    _project, repository, artifact = _artifact_for(request, name, repo, digest, Perm.VIEW_SCANS)
    document = (
        ScanReport.objects.filter(artifact=artifact, status=ScanReport.Status.SUCCEEDED, sbom__isnull=False)
        .order_by("-created_at", "-id")
        .values_list("sbom", flat=True)
        .first()
    )
    if document is None:
        raise Http404(
            gettext("No SBOM: this artifact has no successful built-in scan (an index has one per platform).")
        )
    response = HttpResponse(json.dumps(document), content_type="application/vnd.cyclonedx+json")
    filename = f"{repository.name.replace('/', '_')}-{artifact.short_digest}.cdx.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- scan now, and its progress --------------------------------------------------------


def _status_context(project: Project, repository: Repository, artifact: Artifact) -> dict[str, Any]:
    newest = newest_report(artifact)
    return project_context(project, "repositories") | {
        "repository": repository,
        "artifact": artifact,
        "newest": newest,
        "pending": newest is not None and newest.status in PENDING,
        "list_url": artifact_url(repository, artifact.digest, "vulnerabilities/"),
        "can_scan": Perm.RUN_SCANS in project.perms,  # type: ignore[attr-defined]
    }


@login_required
@require_POST
def scan_now(request: HtmxHttpRequest, name: str, repo: str, digest: str) -> HttpResponse:
    """Queue a built-in scan (or show the one already queued or running)."""
    project, repository, artifact = _artifact_for(request, name, repo, digest, Perm.RUN_SCANS)
    try:
        report, created = request_scan(artifact, Actor.from_request(request))
    except ScanRefused as exc:
        context = _status_context(project, repository, artifact) | {"error": str(exc)}
        if request.htmx:
            return render_page(request, "scans/_scan_status.html", "status", context)
        return redirect(artifact_url(repository, artifact.digest, "vulnerabilities/"))
    if created:
        enqueue_scan(report)
    if not request.htmx:
        return redirect(artifact_url(repository, artifact.digest, "vulnerabilities/"))
    return render_page(
        request, "scans/_scan_status.html", "status", _status_context(project, repository, artifact)
    )


@login_required
@require_GET
def scan_status(request: HtmxHttpRequest, name: str, repo: str, digest: str) -> HttpResponse:
    """Polled while a scan is queued or running; reloads the page once it is done."""
    project, repository, artifact = _artifact_for(request, name, repo, digest, Perm.VIEW_SCANS)
    context = _status_context(project, repository, artifact)
    if request.htmx and not context["pending"] and request.GET.get("was") == "pending":
        return HttpResponseClientRefresh()
    return render_page(request, "scans/_scan_status.html", "status", context)


# --- compare two tags -----------------------------------------------------------------


class CompareForm(forms.Form):
    """`from` and `to`: tags (or digests) of the repository."""

    def __init__(self, data: QueryDict, tags: list[str]) -> None:
        super().__init__(data)
        choices = [("", "—")] + [(tag, tag) for tag in tags]
        self.fields["from"] = forms.CharField(
            required=False, max_length=255, widget=forms.Select(choices=choices)
        )
        self.fields["to"] = forms.CharField(
            required=False, max_length=255, widget=forms.Select(choices=choices)
        )


def _resolve(repository: Repository, reference: str) -> Artifact | None:
    if ":" in reference:
        return repository.artifacts.filter(digest=reference).first()
    tag = Tag.objects.select_related("artifact").filter(repository=repository, name=reference).first()
    return tag.artifact if tag is not None else None


@login_required
@require_GET
def compare(request: HtmxHttpRequest, name: str, repo: str) -> HttpResponse:
    project = get_project(request.user, name, Perm.VIEW_SCANS)
    repository = get_repository_in(project, repo)
    tags = list(
        Tag.objects.filter(repository=repository)
        .order_by("-pushed_at", "name")
        .values_list("name", flat=True)[:COMPARE_TAG_CHOICES]
    )
    form = CompareForm(request.GET, tags)
    data = cleaned(form)
    sides: dict[str, Any] = {}
    result = None
    for side in ("from", "to"):
        reference = (data.get(side) or "").strip()
        if not reference:
            continue
        artifact = _resolve(repository, reference)
        if artifact is None:
            form.add_error(side, gettext("No tag or digest %(reference)r in this repository.") % {"reference": reference})
            continue
        artifact.repository = repository
        sides[side] = {"reference": reference, "artifact": artifact, "report": latest_succeeded(artifact)}
    if len(sides) == 2 and sides["from"]["report"] and sides["to"]["report"]:
        result = compare_reports(sides["from"]["report"], sides["to"]["report"])
    context = project_context(project, "repositories") | {
        "repository": repository,
        "repository_url": repository_url(repository),
        "form": form,
        "tags": tags,
        "sides": sides,
        "result": result,
        "list_url": repository_url(repository, suffix="-/compare/"),
    }
    return render_page(request, "scans/compare.html", "result", context)
