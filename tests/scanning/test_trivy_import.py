"""Import of Trivy JSON reports (SchemaVersion 2), bound to an artifact by digest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from audit.models import AuditAction, AuditEvent
from repositories.models import Artifact, Finding, Repository, ScanReport
from repositories.services import allowlists
from repositories.services.trivy_import import (
    ArtifactNotFound,
    TrivyReportInvalid,
    artifact_for_report,
    import_trivy_report,
)
from tests.factories import ProjectFactory
from tests.scanning.support import ACTOR

pytestmark = pytest.mark.django_db

DIGEST = "sha256:" + "ab" * 32
FIXTURE = Path(__file__).parent / "fixtures" / "trivy-report.json"


@pytest.fixture
def artifact() -> Artifact:
    project = ProjectFactory(name="acme")
    repository = Repository.objects.create(project=project, name="acme/app")
    return Artifact.objects.create(repository=repository, digest=DIGEST, details_synced=True)


def report_data() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text().replace("sha256:DIGEST", DIGEST))


def test_trivy_report_becomes_a_report_with_findings_tolerating_odd_fields(artifact: Artifact) -> None:
    report = import_trivy_report(artifact, ACTOR, report_data())
    assert (report.scanner, report.status, report.scanner_version) == ("trivy", "succeeded", "0.99.0")
    assert report.distro == "debian 12.5"
    rows = {f.vulnerability_id: f for f in report.findings.all()}
    assert set(rows) == {"CVE-2099-3001", "CVE-2099-3002", "CVE-2099-3003", "GHSA-xxxx-yyyy-zzzz"}
    ssl = rows["CVE-2099-3001"]
    assert (ssl.package, ssl.installed_version, ssl.fixed_version) == (
        "libssl3",
        "3.0.9-1",
        "3.0.11-1~deb12u2",
    )
    assert (ssl.severity, ssl.cvss_score) == ("critical", 9.8), "the score of the severity source (nvd)"
    assert ssl.aliases == ["DSA-9999-1"] and ssl.title == "openssl: invented overflow"
    assert list(Finding.objects.named(["dsa-9999-1"])) == [ssl], "stored with its names, for filters"
    assert ssl.links == [
        "https://avd.aquasec.com/nvd/cve-2099-3001",
        "https://security-tracker.example/CVE-2099-3001",
    ]
    assert ssl.layer_digest.startswith("sha256:1111")
    assert (rows["CVE-2099-3002"].fixed_version, rows["CVE-2099-3002"].cvss_score) == ("", None)
    assert rows["CVE-2099-3003"].severity == "unknown"
    assert rows["GHSA-xxxx-yyyy-zzzz"].path == "app/node_modules/lodash/package.json"
    assert report.counts == {"critical": 1, "high": 1, "medium": 0, "low": 1, "unknown": 1}
    assert report.fixable_counts == {"critical": 1, "high": 1, "medium": 0, "low": 0, "unknown": 0}
    assert report.notes == ["2 vulnerabilities without an id or package (or over the cap) were skipped"]
    assert AuditEvent.objects.filter(action=AuditAction.SCAN_IMPORT, details__report=report.pk).exists()


def test_the_artifact_is_found_by_the_reports_repo_digest_or_an_explicit_digest(artifact: Artifact) -> None:
    data = report_data()
    assert artifact_for_report(artifact.repository, data) == artifact
    data["Metadata"]["RepoDigests"] = []
    data["ArtifactName"] = "acme/app:v1"
    with pytest.raises(ArtifactNotFound, match="no image digest"):
        artifact_for_report(artifact.repository, data)
    assert artifact_for_report(artifact.repository, data, digest=DIGEST) == artifact
    with pytest.raises(ArtifactNotFound, match="No artifact"):
        artifact_for_report(artifact.repository, data, digest="sha256:" + "cd" * 32)


def test_a_minimal_report_without_results_imports_empty(artifact: Artifact) -> None:
    report = import_trivy_report(artifact, ACTOR, {"SchemaVersion": 2})
    assert report.status == ScanReport.Status.SUCCEEDED and report.total == 0 and not report.findings.exists()


@pytest.mark.parametrize(
    "data",
    [[], {"SchemaVersion": 1, "Results": []}, {"Results": []}, {"SchemaVersion": 2, "Results": {"a": 1}}],
)
def test_documents_that_are_not_schema_2_reports_are_refused(artifact: Artifact, data: Any) -> None:
    with pytest.raises(TrivyReportInvalid):
        import_trivy_report(artifact, ACTOR, data)
    assert not ScanReport.objects.exists()


def test_imported_findings_honour_the_allowlist(artifact: Artifact) -> None:
    allowlists.add_entry(project=None, vulnerability_id="DSA-9999-1", reason="vendor says no", actor=ACTOR)
    report = import_trivy_report(artifact, ACTOR, report_data())
    assert list(report.findings.filter(allowlisted=True).values_list("vulnerability_id", flat=True)) == [
        "CVE-2099-3001"
    ]
    assert (report.counts["critical"], report.allowlisted) == (0, 1)
