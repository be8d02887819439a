"""The scanning endpoints' behaviour: reports, findings (filters, order, export), SBOMs,
Trivy uploads, comparisons, allowlists, OSV imports and scan settings.

Reports and findings are ORM rows (`tests.api.scanning_rows`); the scanner itself
is tested in tests/scanning and tests/vulns.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from repositories.models import (
    Advisory,
    AllowlistEntry,
    Artifact,
    Finding,
    OsvImport,
    ProjectScanSettings,
    ScanReport,
)
from repositories.vulns.inventory.packages import DEB
from repositories.vulns.sbom import SPEC_VERSION
from tests.api.conftest import RepoRows
from tests.api.scanning_rows import finding, make_report, sbom_for
from tests.conftest import World

validation = pytest.importorskip("cyclonedx.validation.json")
SCHEMA_VERSION = pytest.importorskip("cyclonedx.schema").SchemaVersion.from_version(SPEC_VERSION)


@pytest.fixture
def rows(content: dict[str, RepoRows]) -> RepoRows:
    return content["acme"]


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Report ids whose scan task was started (after commit)."""
    started: list[int] = []
    monkeypatch.setattr("repositories.tasks.run_scan.delay", started.append)
    return started


def base(artifact: Artifact) -> str:
    return f"/api/v1/repositories/{artifact.repository.name}/-/artifacts/{artifact.digest}"


def some_findings() -> list[Finding]:
    """Fresh unsaved rows (bulk_create sets pks on the instances it is given)."""
    return [
    finding("CVE-2099-0001", "openssl", severity="high", score=7.5, fixed="3.0.2", version="3.0.1"),
    finding("CVE-2099-0002", "openssl", severity="critical", score=9.8, version="3.0.1"),
    finding("CVE-2099-0003", "zlib1g", severity="low", score=3.1, fixed="1.2.14", version="1.2.13"),
    finding("CVE-2099-0004", "bash", severity="medium", score=None, version="5.2"),
    finding("CVE-2099-0005", "bash", severity="unknown", version="5.2", allowlisted=True),
    finding("GHSA-aaaa-bbbb-cccc", "requests", severity="high", score=8.1, aliases=["CVE-2099-0006"], version="2.0"),
    finding("CVE-2099-0007", "=cmd|' /C calc'!A0", severity="critical", score=9.0, title="@SUM(1+1)"),
    ]


@pytest.fixture
def report(rows: RepoRows) -> ScanReport:
    return make_report(rows.image, some_findings())


def ids(response: Any) -> list[str]:
    return [row["vulnerability_id"] for row in response.json()["results"]]


# --- reports ------------------------------------------------------------------


def test_report_detail_shows_counts_without_allowlisted_findings(report: ScanReport, api: Any) -> None:
    response = api("guest").get(f"{base(report.artifact)}/scans/{report.pk}/")

    assert response.status_code == 200
    data = response.json()
    assert data["counts"] == {"critical": 2, "high": 2, "medium": 1, "low": 1, "unknown": 0}
    assert data["fixable_counts"] == {"critical": 0, "high": 1, "medium": 0, "low": 1, "unknown": 0}
    assert (data["total"], data["fixable"], data["allowlisted"]) == (6, 2, 1)
    assert (data["worst_severity"], data["scanner"], data["status"]) == ("critical", "builtin", "succeeded")
    assert data["artifact"] == report.artifact.digest
    assert data["has_sbom"] is False
    assert data["found_nothing"] is False


def test_a_report_that_found_no_packages_says_so(rows: RepoRows, api: Any) -> None:
    empty = make_report(rows.image)
    ScanReport.objects.filter(pk=empty.pk).update(packages=0, distro="")

    data = api("guest").get(f"{base(rows.image)}/scans/{empty.pk}/").json()

    assert (data["total"], data["packages"], data["distro"], data["found_nothing"]) == (0, 0, "", True)


def test_reports_are_listed_newest_first_with_every_scanner(rows: RepoRows, api: Any) -> None:
    older = make_report(rows.image)
    ScanReport.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=1))
    trivy = make_report(rows.image, scanner=ScanReport.Scanner.TRIVY)

    response = api("limited").get(f"{base(rows.image)}/scans/")

    assert [r["id"] for r in response.json()["results"]] == [trivy.pk, older.pk]


def test_an_index_report_lists_its_platform_reports(rows: RepoRows, api: Any) -> None:
    summary = make_report(rows.index)
    children = [make_report(child, parent=summary) for child in rows.children]

    data = api("guest").get(f"{base(rows.index)}/scans/{summary.pk}/").json()

    assert [(c["id"], c["platform"]) for c in data["children"]] == [
        (children[0].pk, "linux/amd64"),
        (children[1].pk, "linux/arm64/v8"),
    ]


def test_requesting_a_scan_queues_one_and_starts_it_after_commit(
    rows: RepoRows, api: Any, started: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = api("maintainer").post(f"{base(rows.image)}/scans/")
    with django_capture_on_commit_callbacks(execute=True):
        again = api("padmin").post(f"{base(rows.image)}/scans/")

    assert first.status_code == 202, first.content
    assert again.status_code == 200
    assert first.json()["id"] == again.json()["id"] == started[0]
    assert started == [first.json()["id"]]
    report = ScanReport.objects.get(pk=started[0])
    assert (report.status, report.trigger, report.scanner) == ("queued", "api", "builtin")
    event = AuditEvent.objects.get(action=AuditAction.SCAN_REQUEST)
    assert event.actor_name == "maintainer"


def test_an_artifact_that_is_not_an_image_cannot_be_scanned(rows: RepoRows, api: Any, started: list[int]) -> None:
    Artifact.objects.filter(pk=rows.image.pk).update(kind=Artifact.Kind.OTHER)

    response = api("maintainer").post(f"{base(rows.image)}/scans/")

    assert response.status_code == 400
    assert "images" in response.json()["detail"]
    assert not ScanReport.objects.exists()


def test_an_unknown_artifact_is_a_404(rows: RepoRows, api: Any) -> None:
    response = api("padmin").get(f"/api/v1/repositories/acme/app/-/artifacts/sha256:{'0' * 64}/scans/")

    assert response.status_code == 404
    assert response.json()["detail"] == "No such artifact."


# --- findings -----------------------------------------------------------------


def test_findings_are_ordered_critical_first_then_by_score(report: ScanReport, api: Any) -> None:
    response = api("guest").get(f"{base(report.artifact)}/scans/{report.pk}/findings/")

    assert response.json()["count"] == 7
    assert ids(response) == [
        "CVE-2099-0002",
        "CVE-2099-0007",
        "GHSA-aaaa-bbbb-cccc",
        "CVE-2099-0001",
        "CVE-2099-0004",
        "CVE-2099-0003",
        "CVE-2099-0005",
    ]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("-cvss_score", ["CVE-2099-0002", "CVE-2099-0007", "GHSA-aaaa-bbbb-cccc", "CVE-2099-0001", "CVE-2099-0003"]),
        ("cvss_score", ["CVE-2099-0003", "CVE-2099-0001", "GHSA-aaaa-bbbb-cccc", "CVE-2099-0007", "CVE-2099-0002"]),
        ("-severity", ["CVE-2099-0005", "CVE-2099-0003", "CVE-2099-0004", "CVE-2099-0001", "GHSA-aaaa-bbbb-cccc"]),
    ],
)
def test_findings_can_be_ordered_by_score_or_reverse_severity(
    report: ScanReport, api: Any, ordering: str, expected: list[str]
) -> None:
    response = api("guest").get(f"{base(report.artifact)}/scans/{report.pk}/findings/", {"ordering": ordering})

    assert ids(response)[:5] == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"severity": ["critical", "low"]}, {"CVE-2099-0002", "CVE-2099-0007", "CVE-2099-0003"}),
        ({"fixable": "true"}, {"CVE-2099-0001", "CVE-2099-0003"}),
        ({"fixable": "false", "severity": "high"}, {"GHSA-aaaa-bbbb-cccc"}),
        ({"package": "SSL"}, {"CVE-2099-0001", "CVE-2099-0002"}),
        ({"id": "CVE-2099-0006"}, {"GHSA-aaaa-bbbb-cccc"}),
        ({"id": "ghsa"}, {"GHSA-aaaa-bbbb-cccc"}),
        ({"allowlisted": "true"}, {"CVE-2099-0005"}),
    ],
)
def test_findings_filters(report: ScanReport, api: Any, query: dict[str, Any], expected: set[str]) -> None:
    response = api("guest").get(f"{base(report.artifact)}/scans/{report.pk}/findings/", query)

    assert response.status_code == 200
    assert set(ids(response)) == expected


def test_the_id_filter_finds_a_cve_under_the_debian_and_github_advisories_that_name_it(
    rows: RepoRows, api: Any
) -> None:
    report = make_report(
        rows.image,
        [
            finding("DEBIAN-CVE-2099-0100", "zlib1g", upstream=["CVE-2099-0100"]),
            finding("GHSA-abcd-efgh-ijkl", "requests", aliases=["CVE-2099-0100"]),
            finding("GHSA-mnop-qrst-uvwx", "urllib3", aliases=["CVE-2099-01009"]),  # a longer CVE: not it
            finding("CVE-2099-0200", "bash"),
        ],
    )
    url = f"{base(report.artifact)}/scans/{report.pk}/findings/"

    by_cve = api("guest").get(url, {"id": "cve-2099-0100"})
    by_alias = api("guest").get(url, {"id": " ghsa-abcd-efgh-ijkl "})
    exported = api("guest").get(f"{url}export/", {"id": "CVE-2099-0100", "format": "json"})

    assert by_cve.status_code == 200, by_cve.content
    assert set(ids(by_cve)) == {"DEBIAN-CVE-2099-0100", "GHSA-abcd-efgh-ijkl"}
    assert set(ids(by_alias)) == {"GHSA-abcd-efgh-ijkl"}
    assert {row["vulnerability_id"] for row in exported.json()} == {"DEBIAN-CVE-2099-0100", "GHSA-abcd-efgh-ijkl"}
    debian = next(row for row in by_cve.json()["results"] if row["vulnerability_id"].startswith("DEBIAN"))
    assert debian["upstream"] == ["CVE-2099-0100"]


def test_an_unknown_severity_filter_is_a_400(report: ScanReport, api: Any) -> None:
    response = api("guest").get(f"{base(report.artifact)}/scans/{report.pk}/findings/", {"severity": "dire"})

    assert response.status_code == 400
    assert "severity" in response.json()


def test_an_index_summary_lists_the_findings_of_its_platforms(rows: RepoRows, api: Any) -> None:
    summary = make_report(rows.index)
    make_report(rows.children[0], [finding("CVE-2099-0100", "openssl")], parent=summary)
    make_report(rows.children[1], [finding("CVE-2099-0200", "bash")], parent=summary)

    response = api("guest").get(f"{base(rows.index)}/scans/{summary.pk}/findings/")

    assert set(ids(response)) == {"CVE-2099-0100", "CVE-2099-0200"}


def test_csv_export_has_every_filtered_finding_with_formulas_neutralised(report: ScanReport, api: Any) -> None:
    response = api("guest").get(
        f"{base(report.artifact)}/scans/{report.pk}/findings/export/", {"format": "csv", "severity": "critical"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="findings-acme_app-')
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["vulnerability_id"] for row in table] == ["CVE-2099-0002", "CVE-2099-0007"]
    assert table[1]["package"] == "'=cmd|' /C calc'!A0"
    assert table[1]["title"] == "'@SUM(1+1)"
    assert table[0]["links"] == "https://example.test/CVE-2099-0002"
    assert (table[0]["severity"], table[0]["cvss_score"], table[0]["allowlisted"]) == ("critical", "9.8", "False")


def test_json_export_is_a_downloadable_list_of_all_findings(report: ScanReport, api: Any) -> None:
    response = api("guest").get(f"{base(report.artifact)}/scans/{report.pk}/findings/export/", {"format": "json"})

    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.json"')
    data = json.loads(response.content)
    assert len(data) == 7
    assert data[0]["vulnerability_id"] == "CVE-2099-0002"
    assert data[0]["fixable"] is False and data[0]["aliases"] == []


def test_export_errors_are_json_even_when_csv_was_asked_for(report: ScanReport, api: Any) -> None:
    response = api("outsider").get(f"{base(report.artifact)}/scans/{report.pk}/findings/export/", {"format": "csv"})

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


# --- SBOM ---------------------------------------------------------------------


def test_sbom_is_valid_cyclonedx_as_an_attachment(rows: RepoRows, api: Any) -> None:
    sbom = sbom_for(rows.image, [(DEB, "openssl", "3.0.1")])
    make_report(rows.image, sbom=sbom)

    response = api("limited").get(f"{base(rows.image)}/sbom/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.cyclonedx+json"
    assert response["Content-Disposition"].startswith('attachment; filename="acme_app-sha256-')
    text = response.content.decode()
    assert validation.JsonStrictValidator(SCHEMA_VERSION).validate_str(text) is None
    assert json.loads(text) == sbom


def test_sbom_comes_from_the_latest_successful_builtin_scan(rows: RepoRows, api: Any) -> None:
    old = make_report(rows.image, sbom=sbom_for(rows.image, [(DEB, "openssl", "3.0.1")]))
    ScanReport.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))
    make_report(rows.image, sbom=sbom_for(rows.image, [(DEB, "openssl", "3.0.2")]))
    make_report(rows.image, status=ScanReport.Status.FAILED)

    data = api("guest").get(f"{base(rows.image)}/sbom/").json()

    assert [c["version"] for c in data["components"] if c["name"] == "openssl"] == ["3.0.2"]


def test_no_sbom_before_a_scan_and_none_for_an_index(rows: RepoRows, api: Any) -> None:
    make_report(rows.image, scanner=ScanReport.Scanner.TRIVY)

    image = api("guest").get(f"{base(rows.image)}/sbom/")
    index = api("guest").get(f"{base(rows.index)}/sbom/")

    assert image.status_code == index.status_code == 404
    assert "no successful built-in scan" in image.json()["detail"]
    assert "per platform" in index.json()["detail"]


# --- Trivy uploads ------------------------------------------------------------

TRIVY = {
    "SchemaVersion": 2,
    "Trivy": {"Version": "0.99.0"},
    "Metadata": {"OS": {"Family": "debian", "Name": "12.5"}},
    "Results": [
        {
            "Target": "acme/app (debian 12.5)",
            "Type": "debian",
            "Vulnerabilities": [
                {"VulnerabilityID": "CVE-2099-3001", "PkgName": "libssl3", "InstalledVersion": "3.0.9-1",
                 "FixedVersion": "3.0.11-1", "Severity": "CRITICAL", "NewField": {"x": 1}},
                {"VulnerabilityID": "CVE-2099-3002", "PkgName": "zlib1g", "Severity": "LOW"},
            ],
        }
    ],
}


def test_a_trivy_report_upload_becomes_a_report(rows: RepoRows, api: Any) -> None:
    response = api("maintainer").post(f"{base(rows.image)}/trivy-reports/", TRIVY)

    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["scanner"], data["status"], data["trigger"]) == ("trivy", "succeeded", "import")
    assert data["counts"]["critical"] == 1 and data["counts"]["low"] == 1 and data["fixable"] == 1
    report = ScanReport.objects.get(pk=data["id"])
    assert report.artifact_id == rows.image.pk
    assert set(report.findings.values_list("vulnerability_id", flat=True)) == {"CVE-2099-3001", "CVE-2099-3002"}
    assert AuditEvent.objects.filter(action=AuditAction.SCAN_IMPORT, actor_name="maintainer").exists()


def test_a_body_that_is_not_json_is_a_400_saying_so(rows: RepoRows, world: World) -> None:
    response = world.client("maintainer").post(
        f"{base(rows.image)}/trivy-reports/", "{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]
    assert not ScanReport.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"SchemaVersion": 1, "Results": []}, "SchemaVersion 2"),
        ({"Results": []}, "SchemaVersion 2"),
        ({"SchemaVersion": 2, "Results": {"not": "a list"}}, "Results must be a list"),
        ([1, 2, 3], "JSON object"),
    ],
)
def test_a_document_that_is_not_a_trivy_report_is_a_400(rows: RepoRows, api: Any, body: Any, message: str) -> None:
    response = api("maintainer").post(f"{base(rows.image)}/trivy-reports/", body)

    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not ScanReport.objects.exists()


def test_a_report_over_the_size_limit_is_refused_before_it_is_read(
    rows: RepoRows, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("repositories.api.scanning.MAX_TRIVY_REPORT_BYTES", 100)

    response = api("maintainer").post(f"{base(rows.image)}/trivy-reports/", TRIVY)

    assert response.status_code == 413
    assert "at most" in response.json()["detail"]
    assert not ScanReport.objects.exists()


def test_a_trivy_report_must_be_sent_as_json(rows: RepoRows, world: World) -> None:
    response = world.client("maintainer").post(f"{base(rows.image)}/trivy-reports/", {"SchemaVersion": "2"})

    assert response.status_code == 415
    assert not ScanReport.objects.exists()


# --- compare ------------------------------------------------------------------


def test_compare_lists_fixed_introduced_and_unchanged_vulnerabilities_and_package_changes(
    rows: RepoRows, api: Any
) -> None:
    new = Artifact.objects.create(repository=rows.app, digest="sha256:" + "e" * 64, kind=Artifact.Kind.IMAGE)
    rows.app.tags.create(name="v2", artifact=new)
    make_report(
        rows.image,
        [finding("CVE-1", "openssl", version="3.0.1"), finding("CVE-2", "zlib1g", version="1.2.13")],
        sbom=sbom_for(rows.image, [(DEB, "openssl", "3.0.1"), (DEB, "zlib1g", "1.2.13"), (DEB, "bash", "5.2")]),
    )
    make_report(
        new,
        [finding("CVE-2", "zlib1g", version="1.2.13"), finding("CVE-3", "curl", severity="critical", version="8.0")],
        sbom=sbom_for(new, [(DEB, "openssl", "3.0.2"), (DEB, "zlib1g", "1.2.13"), (DEB, "curl", "8.0")]),
    )

    response = api("guest").get("/api/v1/repositories/acme/app/-/compare/", {"from": "v1", "to": "v2"})

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["from"]["digest"] == rows.image.digest and data["to"]["reference"] == "v2"
    assert [(v["vulnerability_id"], v["from_version"]) for v in data["vulnerabilities_fixed"]] == [("CVE-1", "3.0.1")]
    assert [v["vulnerability_id"] for v in data["vulnerabilities_introduced"]] == ["CVE-3"]
    assert [v["vulnerability_id"] for v in data["vulnerabilities_unchanged"]] == ["CVE-2"]
    assert [p["name"] for p in data["packages_added"]] == ["curl"]
    assert [p["name"] for p in data["packages_removed"]] == ["bash"]
    assert [(p["package"], p["from_version"], p["to_version"]) for p in data["packages_upgraded"]] == [
        ("pkg:deb/debian/openssl", "3.0.1", "3.0.2")
    ]


def test_compare_accepts_digests_and_uses_findings_when_there_is_no_sbom(rows: RepoRows, api: Any) -> None:
    make_report(rows.image, [finding("CVE-1", "openssl", version="3.0.1")])
    make_report(rows.children[0], [finding("CVE-1", "openssl", version="3.0.2")])

    data = api("guest").get(
        "/api/v1/repositories/acme/app/-/compare/", {"from": rows.image.digest, "to": rows.children[0].digest}
    ).json()

    assert [v["to_version"] for v in data["vulnerabilities_unchanged"]] == ["3.0.2"]
    assert data["packages_upgraded"] == [
        {"package": "openssl", "name": "openssl", "from_version": "3.0.1", "to_version": "3.0.2"}
    ]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"to": "v1"}, "from", "Give a tag or digest."),
        ({"from": "v1", "to": "nope"}, "to", "No tag or digest 'nope'"),
        ({"from": "v1", "to": "multi"}, "to", "no successful built-in scan"),
    ],
)
def test_compare_needs_two_scanned_references(
    rows: RepoRows, api: Any, query: dict[str, str], field: str, message: str
) -> None:
    make_report(rows.image)
    make_report(rows.index, scanner=ScanReport.Scanner.TRIVY)

    response = api("guest").get("/api/v1/repositories/acme/app/-/compare/", query)

    assert response.status_code == 400
    assert message in response.json()[field][0]


# --- allowlists ---------------------------------------------------------------


def test_allowlisting_a_finding_marks_it_and_recounts_the_report(report: ScanReport, api: Any) -> None:
    response = api("padmin").post(
        "/api/v1/projects/acme/allowlist/",
        {"vulnerability_id": "CVE-2099-0006", "reason": "not reachable", "expires_at": "2099-01-01T00:00:00Z"},
    )

    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["project"], data["author"], data["active"]) == ("acme", "padmin", True)
    report.refresh_from_db()
    # The GHSA matched through its alias; CVE-2099-0005 was marked by no entry, so it counts again.
    assert (report.counts["high"], report.counts["unknown"], report.allowlisted) == (1, 1, 1)
    event = AuditEvent.objects.get(action=AuditAction.ALLOWLIST_ADD)
    assert event.target_name == "CVE-2099-0006"


def test_the_same_id_twice_on_one_allowlist_is_a_400(world: World, api: Any) -> None:
    body = {"vulnerability_id": "CVE-2099-0001", "reason": "x"}
    api("padmin").post("/api/v1/projects/acme/allowlist/", body)

    response = api("padmin").post("/api/v1/projects/acme/allowlist/", body)

    assert response.status_code == 400
    assert "already on this allowlist" in json.dumps(response.json())


def test_changing_and_removing_an_entry_updates_the_counts(report: ScanReport, api: Any) -> None:
    entry = api("padmin").post(
        "/api/v1/projects/acme/allowlist/", {"vulnerability_id": "CVE-2099-0002", "reason": "x"}
    ).json()

    changed = api("padmin").patch(f"/api/v1/projects/acme/allowlist/{entry['id']}/", {"reason": "mitigated"})
    report.refresh_from_db()
    counted_while_listed = report.counts["critical"]
    removed = api("padmin").delete(f"/api/v1/projects/acme/allowlist/{entry['id']}/")
    report.refresh_from_db()

    assert changed.status_code == 200 and changed.json()["reason"] == "mitigated"
    assert changed.json()["vulnerability_id"] == "CVE-2099-0002"
    assert removed.status_code == 204
    assert (counted_while_listed, report.counts["critical"]) == (1, 2)
    actions = list(AuditEvent.objects.filter(target_type="allowlist").order_by("id").values_list("action", flat=True))
    assert actions == [AuditAction.ALLOWLIST_ADD, AuditAction.ALLOWLIST_UPDATE, AuditAction.ALLOWLIST_REMOVE]


def test_project_and_system_allowlists_list_only_their_own_entries(world: World, api: Any) -> None:
    AllowlistEntry.objects.create(vulnerability_id="CVE-SYSTEM", reason="x")
    AllowlistEntry.objects.create(project=world.private, vulnerability_id="CVE-ACME", reason="x")
    AllowlistEntry.objects.create(project=world.public, vulnerability_id="CVE-PUB", reason="x")

    system = api("guest").get("/api/v1/allowlist/").json()["results"]
    acme = api("guest").get("/api/v1/projects/acme/allowlist/").json()["results"]

    assert [(e["vulnerability_id"], e["project"]) for e in system] == [("CVE-SYSTEM", None)]
    assert [(e["vulnerability_id"], e["project"]) for e in acme] == [("CVE-ACME", "acme")]


def test_a_system_wide_entry_marks_findings_in_every_project(content: dict[str, RepoRows], api: Any) -> None:
    reports = [make_report(content[p].image, [finding("CVE-2099-0001", "openssl")]) for p in ("acme", "pub")]

    response = api("sysadmin").post("/api/v1/allowlist/", {"vulnerability_id": "CVE-2099-0001", "reason": "x"})

    assert response.status_code == 201
    assert response.json()["project"] is None
    for report in reports:
        report.refresh_from_db()
        assert (report.allowlisted, report.counts["high"]) == (1, 0)


# --- OSV imports, database status, scan settings -------------------------------


def test_osv_imports_are_listed_newest_first(world: World, api: Any) -> None:
    old = OsvImport.objects.create(source="/srv/a.zip", started_at=timezone.now() - timedelta(days=1))
    new = OsvImport.objects.create(source="/srv/b.zip", status=OsvImport.Status.SUCCEEDED, created=3)

    data = api("sysadmin").get("/api/v1/osv-imports/").json()["results"]

    assert [(r["id"], r["source"]) for r in data] == [(new.pk, "/srv/b.zip"), (old.pk, "/srv/a.zip")]
    assert data[0]["created"] == 3


def test_database_status_gives_the_latest_successful_import_and_its_age(world: World, api: Any) -> None:
    finished = timezone.now() - timedelta(hours=2)
    OsvImport.objects.create(
        source="/srv/good.zip",
        status=OsvImport.Status.SUCCEEDED,
        finished_at=finished,
        database_version="2026-11-26T00:00:00+00:00",
    )
    OsvImport.objects.create(source="/srv/bad.zip", status=OsvImport.Status.FAILED, finished_at=timezone.now())
    Advisory.objects.create(osv_id="WHARF-1", modified=timezone.now() - timedelta(days=3))

    data = api("limited").get("/api/v1/vulnerability-database/").json()

    assert data["advisories"] == 1
    assert data["last_import_source"] == "/srv/good.zip"
    assert 7190 < data["age_seconds"] < 7300
    assert data["database_version"] == "2026-11-26T00:00:00+00:00"


def test_database_status_without_any_import(world: World, api: Any) -> None:
    data = api("guest").get("/api/v1/vulnerability-database/").json()

    assert data == {
        "advisories": 0,
        "database_version": "",
        "last_import_at": None,
        "last_import_source": None,
        "age_seconds": None,
    }


def test_project_admins_turn_scan_on_push_on_and_off(world: World, api: Any) -> None:
    on = api("padmin").patch("/api/v1/projects/acme/scan-settings/", {"scan_on_push": True})
    read = api("guest").get("/api/v1/projects/acme/scan-settings/")
    off = api("padmin").patch("/api/v1/projects/acme/scan-settings/", {"scan_on_push": False})

    assert (on.json(), read.json(), off.json()) == ({"scan_on_push": True}, {"scan_on_push": True}, {"scan_on_push": False})
    assert not ProjectScanSettings.scan_on_push_for(world.private.pk)
    assert AuditEvent.objects.filter(action=AuditAction.SCAN_SETTINGS_UPDATE).count() == 2


def test_scan_settings_refuse_a_non_boolean(world: World, api: Any) -> None:
    response = api("padmin").patch("/api/v1/projects/acme/scan-settings/", {"scan_on_push": "maybe"})

    assert response.status_code == 400
    assert "scan_on_push" in response.json()
