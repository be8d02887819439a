"""Import of Trivy JSON reports (`trivy image --format json`, SchemaVersion 2).

CI pipelines upload what Trivy already produced; Wharf stores it as a
`ScanReport(scanner="trivy")` on the artifact with that digest. Only
`Results[].Vulnerabilities[]` is read; unknown fields are ignored and missing ones
left empty, so reports of older and newer Trivy versions import alike. A
vulnerability without `VulnerabilityID` or `PkgName` is skipped with a note.

`artifact_for_report` finds the artifact a report is about from a digest the
caller gives, or from the report's own `Metadata.RepoDigests` / `ArtifactName`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from ..models import Artifact, Finding, Repository, ScanReport
from ..models.scanning import Severity
from .scanning import MAX_NOTES, allowlisted_ids, count_findings, is_allowlisted, store_findings

SCHEMA_VERSION = 2
MAX_FINDINGS = 100_000
MAX_LINKS = 20
# Trivy's own severity names; anything else is Unknown.
_BANDS = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
}


class TrivyReportInvalid(ValueError):
    """The document is not a Trivy JSON report Wharf can read; the message says why."""


class ArtifactNotFound(LookupError):
    """No artifact in the repository has the digest the report is bound to."""


def _str(data: Mapping[str, Any], key: str, limit: int = 255) -> str:
    value = data.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    return value[:limit] if isinstance(value, str) else ""


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _digests_in(data: Mapping[str, Any]) -> list[str]:
    """Digests the report names: `Metadata.RepoDigests` (`repo@sha256:…`) and `ArtifactName`."""
    candidates = [d for d in _list(_dict(data.get("Metadata")).get("RepoDigests")) if isinstance(d, str)]
    name = data.get("ArtifactName")
    if isinstance(name, str):
        candidates.append(name)
    return [c.rsplit("@", 1)[1] for c in candidates if "@sha256:" in c]


def artifact_for_report(repository: Repository, data: Mapping[str, Any], digest: str = "") -> Artifact:
    """The artifact of `repository` the report is about: `digest` if given, else the
    first digest the report names that the repository holds."""
    candidates = [digest] if digest else _digests_in(data)
    if not candidates:
        raise ArtifactNotFound(_("The report names no image digest; pass the digest explicitly."))
    artifact = Artifact.objects.filter(repository=repository, digest__in=candidates).first()
    if artifact is None:
        raise ArtifactNotFound(
            _("No artifact with digest %(digest)s in %(repository)s.")
            % {"digest": candidates[0], "repository": repository.name}
        )
    return artifact


def _cvss(vulnerability: Mapping[str, Any]) -> tuple[float | None, str]:
    """The CVSS v3 score and vector, from the severity source Trivy chose, else NVD, else any."""
    sources = _dict(vulnerability.get("CVSS"))
    preferred = [vulnerability.get("SeveritySource"), "nvd", *sources.keys()]
    for source in preferred:
        entry = _dict(sources.get(source)) if isinstance(source, str) else {}
        for score_key, vector_key in (
            ("V3Score", "V3Vector"),
            ("V40Score", "V40Vector"),
            ("V2Score", "V2Vector"),
        ):
            score = entry.get(score_key)
            if isinstance(score, int | float) and not isinstance(score, bool) and 0 <= score <= 10:
                return float(score), _str(entry, vector_key)
    return None, ""


def _links(vulnerability: Mapping[str, Any]) -> list[str]:
    links: list[str] = []
    for url in [vulnerability.get("PrimaryURL"), *_list(vulnerability.get("References"))]:
        if isinstance(url, str) and url.startswith(("https://", "http://")) and url not in links:
            links.append(url[:1000])
    return links[:MAX_LINKS]


def parse_findings(data: Mapping[str, Any]) -> tuple[list[Finding], list[str]]:
    """Unsaved `Finding` rows of a Trivy report, and notes on what was skipped."""
    findings: list[Finding] = []
    skipped = 0
    for result in _list(data.get("Results")):
        result = _dict(result)
        target = _str(result, "Target", 1024)
        for vulnerability in _list(result.get("Vulnerabilities")):
            vulnerability = _dict(vulnerability)
            vulnerability_id, package = _str(vulnerability, "VulnerabilityID"), _str(vulnerability, "PkgName")
            if not vulnerability_id or not package or len(findings) >= MAX_FINDINGS:
                skipped += 1
                continue
            score, vector = _cvss(vulnerability)
            findings.append(
                Finding(
                    vulnerability_id=vulnerability_id,
                    aliases=[v for v in _list(vulnerability.get("VendorIDs")) if isinstance(v, str)][:20],
                    ecosystem=_str(result, "Type", 100),
                    package=package,
                    package_kind=_str(result, "Type", 16),
                    installed_version=_str(vulnerability, "InstalledVersion"),
                    fixed_version=_str(vulnerability, "FixedVersion"),
                    severity=_BANDS.get(_str(vulnerability, "Severity").upper(), Severity.UNKNOWN),
                    cvss_score=score,
                    cvss_vector=vector,
                    title=_str(vulnerability, "Title") or _str(vulnerability, "Description"),
                    links=_links(vulnerability),
                    layer_digest=_str(_dict(vulnerability.get("Layer")), "Digest", 100),
                    path=_str(vulnerability, "PkgPath", 1024) or target,
                )
            )
    notes = (
        [f"{skipped} vulnerabilities without an id or package (or over the cap) were skipped"]
        if skipped
        else []
    )
    return findings, notes


def import_trivy_report(
    artifact: Artifact, actor: Actor, data: Any, *, trigger: str = ScanReport.Trigger.IMPORT
) -> ScanReport:
    """Store a Trivy report as a succeeded `ScanReport(scanner="trivy")` of `artifact`.

    Raises `TrivyReportInvalid` for a document that is not a SchemaVersion 2 report.
    """
    if not isinstance(data, Mapping):
        raise TrivyReportInvalid(_("A Trivy report is a JSON object."))
    version = data.get("SchemaVersion")
    if version != SCHEMA_VERSION:
        raise TrivyReportInvalid(
            _("Only Trivy reports with SchemaVersion %(version)s can be imported.")
            % {"version": SCHEMA_VERSION}
        )
    if "Results" in data and data["Results"] is not None and not isinstance(data["Results"], list):
        raise TrivyReportInvalid(_("Results must be a list."))
    rows, notes = parse_findings(data)
    os_info = _dict(_dict(data.get("Metadata")).get("OS"))
    now = timezone.now()
    allowlist = allowlisted_ids(artifact.repository.project)
    report = ScanReport(
        artifact=artifact,
        scanner=ScanReport.Scanner.TRIVY,
        status=ScanReport.Status.SUCCEEDED,
        trigger=trigger,
        requested_by_id=actor.user_id,
        started_at=now,
        finished_at=now,
        scanner_version=_str(_dict(data.get("Trivy")), "Version", 100),
        distro=" ".join(p for p in (_str(os_info, "Family"), _str(os_info, "Name")) if p)[:100],
        notes=notes[:MAX_NOTES],
    )
    for row in rows:
        row.allowlisted = is_allowlisted(row, allowlist)
    count_findings(report, rows)
    with transaction.atomic():
        report.save()
        for row in rows:
            row.report = report
        store_findings(rows)
        record(
            AuditAction.SCAN_IMPORT,
            actor=actor,
            project=artifact.repository.project,
            target_type="artifact",
            target_name=str(artifact),
            details={"report": report.pk, "scanner": ScanReport.Scanner.TRIVY, "findings": len(rows)},
        )
    return report
