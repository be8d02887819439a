"""What the scan pages show and do: severity summaries, the findings table with its
filters, sorting, details and exports, "Scan now" and its polling, the SBOM, the
comparison of two tags, and the Security tab with its allowlist and settings.
Rows are made with the ORM (tests/pages/scan_content.py)."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from audit.models import AuditAction, AuditEvent
from repositories.models import AllowlistEntry, Artifact, Finding, ProjectScanSettings, ScanReport, Tag
from repositories.services.scanning import store_findings
from tests.pages.repository_content import ESCAPED, HOSTILE
from tests.pages.scan_content import make_scans
from tests.support.keyset_pages import nth_page

HTMX = {"HTTP_HX_REQUEST": "true"}
BASE = "/projects/acme/repositories/app/"


@pytest.fixture
def scans(world):
    return make_scans(world.private)


def _vulns(scans, artifact=None) -> str:
    return f"{BASE}-/artifacts/{(artifact or scans.content.image).digest}/vulnerabilities/"


def _ids(response) -> list[str]:
    return [f.vulnerability_id for f in response.context["page"].object_list]


# --- severity summaries ----------------------------------------------------------------


def test_the_tag_list_shows_each_tags_counts_and_scan_state(world, scans):
    html = world.client("guest").get(BASE).content.decode()
    row = html.split('data-tag="v1.0"')[1].split("</tr>")[0]
    assert 'title="1 Critical, 1 with a fix"' in row
    assert 'title="1 High"' in row and 'title="1 Low, 1 with a fix"' in row
    assert "Medium" not in row  # the allowlisted medium is not counted
    assert "2 fixable" in row
    assert 'data-scan-state="pending"' in html.split('data-tag="v2.0"')[1].split("</tr>")[0]
    assert "scan failed" in html.split('data-tag="broken"')[1].split("</tr>")[0]


def test_an_artifact_never_scanned_says_so(world, scans):
    signature = scans.content.signature
    html = world.client("guest").get(f"{BASE}-/artifacts/{signature.digest}/").content.decode()
    assert "not scanned" in html.split('id="artifact-scan"')[1]
    assert _vulns(scans, signature) in html


def test_the_artifact_page_links_its_summary_to_the_vulnerabilities_page(world, scans):
    html = world.client("guest").get(f"{BASE}-/artifacts/{scans.content.image.digest}/").content.decode()
    assert f'href="{_vulns(scans)}"' in html
    assert 'title="1 Critical, 1 with a fix"' in html


# --- the findings table ----------------------------------------------------------------


def test_findings_are_sorted_critical_first_and_allowlisted_ones_are_marked_not_counted(world, scans):
    response = world.client("guest").get(_vulns(scans))
    assert _ids(response) == ["CVE-2026-0001", "CVE-2026-0002", "CVE-2026-0003", "GHSA-low-0004"]
    html = response.content.decode()
    assert "finding-allowlisted" in html.split('data-finding="CVE-2026-0003"')[0].rsplit("<tr", 1)[1]
    counts = html.split('id="report-counts"')[1].split("</div>")[0]
    assert "Medium" not in counts and "1 allowlisted" in counts


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"severity": "high"}, ["CVE-2026-0002"]),
        ({"severity": ["critical", "low"]}, ["CVE-2026-0001", "GHSA-low-0004"]),
        ({"fixable": "yes"}, ["CVE-2026-0001", "CVE-2026-0003", "GHSA-low-0004"]),
        ({"fixable": "no"}, ["CVE-2026-0002"]),
        ({"package": "ZL"}, ["CVE-2026-0002"]),
        ({"id": "0002"}, ["CVE-2026-0002"]),
        ({"id": "CVE-2026-0004"}, ["GHSA-low-0004"]),  # an alias, exactly
        ({"sort": "cvss_score"}, ["GHSA-low-0004", "CVE-2026-0003", "CVE-2026-0002", "CVE-2026-0001"]),
        ({"sort": "package"}, ["CVE-2026-0003", "CVE-2026-0001", "GHSA-low-0004", "CVE-2026-0002"]),
    ],
)
def test_findings_filter_and_sort(world, scans, query, expected):
    assert _ids(world.client("guest").get(_vulns(scans), query)) == expected


def test_the_id_filter_finds_a_cve_under_the_debian_and_github_advisories_that_name_it(world, scans):
    report = scans.image_report
    store_findings(
        [
            Finding(report=report, vulnerability_id="DEBIAN-CVE-2026-0100", upstream=["CVE-2026-0100"], package="zlib1g"),
            Finding(report=report, vulnerability_id="GHSA-abcd-efgh-ijkl", aliases=["CVE-2026-0100"], package="requests"),
            Finding(report=report, vulnerability_id="GHSA-mnop-qrst-uvwx", aliases=["CVE-2026-01009"], package="urllib3"),
        ]
    )
    client = world.client("guest")

    by_cve = client.get(_vulns(scans), {"id": "cve-2026-0100"})
    exported = client.get(f"{_vulns(scans)}export.json", {"id": "CVE-2026-0100"})

    assert set(_ids(by_cve)) == {"DEBIAN-CVE-2026-0100", "GHSA-abcd-efgh-ijkl"}
    details = by_cve.content.decode().split('id="finding-')
    assert any("Upstream</dt>" in d and "<code>CVE-2026-0100</code>" in d for d in details)
    exported_ids = {row["vulnerability_id"] for row in json.loads(b"".join(exported.streaming_content))}
    assert exported_ids == {"DEBIAN-CVE-2026-0100", "GHSA-abcd-efgh-ijkl"}


@pytest.mark.parametrize(
    "query",
    [
        {"severity": "bogus"},
        {"fixable": "maybe"},
        {"sort": "1; drop table"},
        {"page": "abc"},
        {"page": "999"},
        {"package": "x" * 5000},
        {"id": "\x00"},
    ],
)
def test_bad_filter_values_are_ignored_not_fatal(world, scans, query):
    response = world.client("guest").get(_vulns(scans), query)
    assert response.status_code == 200


def test_a_nul_byte_in_a_filter_does_not_break_the_page(world, scans):
    response = world.client("guest").get(_vulns(scans), {"package": "a\x00b"})
    assert response.status_code == 200


def test_findings_are_paginated(world, scans):
    report = scans.image_report
    Finding.objects.bulk_create(
        [Finding(report=report, vulnerability_id=f"CVE-2027-{i:04}", package="pkg", severity="low") for i in range(150)]
    )
    response = nth_page(world.client("guest"), _vulns(scans), {}, 2)
    assert response.context["total"].count == 154
    assert len(response.context["page"].object_list) == 54


def test_htmx_filtering_answers_with_the_findings_section_only(world, scans):
    response = world.client("guest").get(_vulns(scans), {"package": "zlib"}, **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="findings-section"')
    assert "<nav" not in html.split('id="findings-section"')[0]
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_finding_details_are_escaped_and_long_descriptions_are_truncated(world, scans):
    html = world.client("guest").get(_vulns(scans)).content.decode()
    assert HOSTILE not in html
    assert ESCAPED in html
    assert "Parser overflow in openssl" in html
    assert "<details" in html  # the long description sits behind an expander
    assert 'href="https://example.com/CVE-2026-0001"' in html
    assert 'href="javascript:' not in html
    assert "sha256:" + "a" * 64 in html and "/var/lib/dpkg/status" in html and "DSA-0001" in html


def test_an_index_lists_its_platform_findings_with_the_platform(world, scans):
    response = world.client("guest").get(_vulns(scans, scans.content.index))
    assert _ids(response) == ["CVE-2026-0001"]
    assert "linux/amd64" in response.content.decode().split('id="findings"')[1]


def test_a_failed_scan_without_an_earlier_one_says_so(world, scans):
    html = world.client("guest").get(_vulns(scans, scans.content.broken)).content.decode()
    assert "The scan failed" in html
    assert ESCAPED in html and HOSTILE not in html


def test_the_database_age_is_shown(world, scans):
    html = world.client("guest").get(_vulns(scans)).content.decode()
    age = re.sub(r"<[^>]+>", "", html.split('id="database-age">')[1].split("</span>\n")[0])
    assert "Vulnerability database imported 3\xa0days ago" in age


# --- exports and SBOM --------------------------------------------------------------------


def _streamed(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_the_csv_export_follows_the_filters_and_neutralises_formulas(world, scans):
    response = world.client("guest").get(_vulns(scans) + "export.csv", {"fixable": "yes", "sort": "-cvss_score"})
    assert response["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(_streamed(response))))
    assert [r["vulnerability_id"] for r in rows] == ["CVE-2026-0001", "CVE-2026-0003", "GHSA-low-0004"]
    assert rows[2]["title"] == "'=HYPERLINK(\"x\")"
    assert rows[1]["allowlisted"] == "True"


def test_the_json_export_is_a_list_of_findings(world, scans):
    response = world.client("guest").get(_vulns(scans) + "export.json", {"severity": "critical"})
    data = json.loads(_streamed(response))
    assert [d["vulnerability_id"] for d in data] == ["CVE-2026-0001"]
    assert data[0]["aliases"] == ["DSA-0001"] and data[0]["cvss_score"] == 9.8


def test_an_unknown_export_format_is_not_found(world, scans):
    assert world.client("guest").get(_vulns(scans) + "export.xml").status_code == 404


def test_an_export_without_a_report_is_not_found(world, scans):
    assert world.client("guest").get(_vulns(scans, scans.content.signature) + "export.csv").status_code == 404


def test_the_sbom_is_downloaded_as_cyclonedx_json(world, scans):
    html = world.client("guest").get(_vulns(scans)).content.decode()
    url = f"{BASE}-/artifacts/{scans.content.image.digest}/sbom.cdx.json"
    assert url in html
    response = world.client("guest").get(url)
    assert response["Content-Type"] == "application/vnd.cyclonedx+json"
    assert {c["name"] for c in json.loads(response.content)["components"]} == {"openssl", "zlib", "curl", "newpkg"}


def test_an_index_has_no_sbom_of_its_own(world, scans):
    url = f"{BASE}-/artifacts/{scans.content.index.digest}/sbom.cdx.json"
    assert world.client("guest").get(url).status_code == 404


# --- scan now ----------------------------------------------------------------------------


def test_scan_now_queues_one_scan_and_audits_it(world, scans):
    image = scans.content.image
    client = world.client("maintainer")
    response = client.post(_vulns(scans) + "scan/", **HTMX)
    html = response.content.decode()
    assert 'hx-trigger="every 2s"' in html  # polls while queued
    assert ScanReport.objects.filter(artifact=image, status=ScanReport.Status.QUEUED).count() == 1
    client.post(_vulns(scans) + "scan/", **HTMX)
    assert ScanReport.objects.filter(artifact=image, status=ScanReport.Status.QUEUED).count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.SCAN_REQUEST, actor_name="maintainer").count() == 1


def test_scan_now_without_javascript_redirects_to_the_page(world, scans):
    response = world.client("maintainer").post(_vulns(scans) + "scan/")
    assert response.status_code == 302 and response["Location"] == _vulns(scans)


def test_an_artifact_that_is_not_an_image_cannot_be_scanned(world, scans):
    signature = scans.content.signature
    response = world.client("maintainer").post(_vulns(scans, signature) + "scan/", **HTMX)
    assert response.status_code == 200
    assert "Only images and image indexes can be scanned." in response.content.decode()
    assert not ScanReport.objects.filter(artifact=signature).exists()


def test_polling_reloads_the_page_once_the_scan_is_done(world, scans):
    other = scans.content.other
    status_url = _vulns(scans, other) + "status/?was=pending"
    client = world.client("guest")
    assert 'hx-trigger="every 2s"' in client.get(status_url, **HTMX).content.decode()
    ScanReport.objects.filter(artifact=other, status=ScanReport.Status.QUEUED).update(status=ScanReport.Status.FAILED)
    response = client.get(status_url, **HTMX)
    assert response["HX-Refresh"] == "true"


def test_the_scan_button_shows_only_with_run_scans(world, scans):
    assert 'id="scan-now"' not in world.client("developer").get(_vulns(scans)).content.decode()
    assert 'id="scan-now"' in world.client("maintainer").get(_vulns(scans)).content.decode()


# --- compare -------------------------------------------------------------------------------


def test_compare_lists_fixed_introduced_and_unchanged_vulnerabilities_and_package_changes(world, scans):
    response = world.client("guest").get(f"{BASE}-/compare/", {"from": "v2.0", "to": "v1.0"})
    result = response.context["result"]
    assert [r["vulnerability_id"] for r in result["vulnerabilities_fixed"]] == ["CVE-2026-0009"]
    assert [r["vulnerability_id"] for r in result["vulnerabilities_introduced"]] == [
        "CVE-2026-0002", "CVE-2026-0003", "GHSA-low-0004",
    ]
    assert [r["vulnerability_id"] for r in result["vulnerabilities_unchanged"]] == ["CVE-2026-0001"]
    assert [r["name"] for r in result["packages_added"]] == ["newpkg"]
    assert [r["name"] for r in result["packages_removed"]] == ["oldlib"]
    assert [(r["name"], r["from_version"], r["to_version"]) for r in result["packages_upgraded"]] == [
        ("openssl", "3.0.0", "3.0.1")
    ]
    html = response.content.decode()
    assert 'id="vulns-fixed"' in html and "oldlib" in html


def test_compare_with_an_unknown_tag_shows_a_form_error(world, scans):
    response = world.client("guest").get(f"{BASE}-/compare/", {"from": "nope", "to": HOSTILE})
    assert response.status_code == 200
    html = response.content.decode()
    assert "No tag or digest &#x27;nope&#x27;" in html
    assert HOSTILE not in html


def test_compare_with_an_unscanned_side_says_so(world, scans):
    Tag.objects.create(repository=scans.content.repository, name="sig", artifact=scans.content.signature)
    response = world.client("guest").get(f"{BASE}-/compare/", {"from": "sig", "to": "v1.0"})
    assert response.context["result"] is None
    assert "has no successful scan yet" in response.content.decode()


def test_compare_accepts_digests(world, scans):
    response = world.client("guest").get(
        f"{BASE}-/compare/", {"from": scans.content.other.digest, "to": scans.content.image.digest}
    )
    assert len(response.context["result"]["vulnerabilities_fixed"]) == 1


# --- the Security tab and the overview -----------------------------------------------------


def test_the_security_tab_ranks_artifacts_by_worst_severity_and_counts_widespread_vulnerabilities(world, scans):
    response = world.client("guest").get("/projects/acme/security/")
    worst = [r.artifact_id for r in response.context["worst"]]
    assert worst == [scans.content.image.pk, scans.content.other.pk, scans.content.index.pk]
    widespread = {row["vulnerability_id"]: row["artifacts"] for row in response.context["widespread"]}
    assert widespread["CVE-2026-0001"] == 3  # image, other, and the index through its platform
    assert "CVE-2026-0003" not in widespread  # allowlisted
    totals = dict((band, n) for band, _, n in response.context["totals"]["bands"])
    assert totals == {"critical": 3, "high": 2, "medium": 0, "low": 1, "unknown": 0}
    html = response.content.decode()
    assert "<svg" in html and html.count('class="sev-fill-critical"') >= 2


def test_the_chart_counts_each_artifact_once_per_day_at_its_latest_report(world, scans):
    from repositories.views.security import daily_open_counts

    series = daily_open_counts(world.private)
    assert len(series) == 30
    assert series[-1][1]["critical"] == 3
    assert series[-2][1] == {"critical": 1, "high": 1, "medium": 0, "low": 0, "unknown": 0}  # only `other` then
    assert series[0][1]["critical"] == 0


def test_a_project_admin_allowlists_a_vulnerability_and_its_counts_drop(world, scans):
    response = world.client("padmin").post(
        "/projects/acme/security/allowlist/",
        {"vulnerability_id": " CVE-2026-0002 ", "reason": "Not reachable", "expires_on": "2099-01-01"},
        **HTMX,
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="allowlist-section"')
    entry = AllowlistEntry.objects.get(project=world.private, vulnerability_id="CVE-2026-0002")
    assert entry.author == world.users["padmin"] and entry.expires_at.year == 2099
    assert AuditEvent.objects.filter(action=AuditAction.ALLOWLIST_ADD, target_name="CVE-2026-0002").exists()
    scans.image_report.refresh_from_db()
    assert scans.image_report.counts["high"] == 0
    assert Finding.objects.get(report=scans.image_report, vulnerability_id="CVE-2026-0002").allowlisted


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"vulnerability_id": "CVE-2026-0003", "reason": "again"}, "already on this allowlist"),
        ({"vulnerability_id": "", "reason": "x"}, "This field is required."),
        ({"vulnerability_id": "CVE 1", "reason": "x"}, "One vulnerability id, without spaces."),
        ({"vulnerability_id": "CVE-1", "reason": ""}, "This field is required."),
        ({"vulnerability_id": "CVE-1", "reason": "x", "expires_on": "2000-01-01"}, "The expiry date is in the past."),
        ({"vulnerability_id": "CVE-1", "reason": "x", "expires_on": "tomorrow"}, "Enter a valid date."),
    ],
)
def test_allowlist_mistakes_show_inline(world, scans, data, error):
    AllowlistEntry.objects.create(project=world.private, vulnerability_id="CVE-2026-0003", reason="x")
    before = AllowlistEntry.objects.count()
    response = world.client("padmin").post("/projects/acme/security/allowlist/", data, **HTMX)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert AllowlistEntry.objects.count() == before


def test_removing_an_allowlist_entry_counts_the_finding_again_and_is_audited(world, scans):
    entry = AllowlistEntry.objects.create(project=world.private, vulnerability_id="CVE-2026-0003", reason="x")
    response = world.client("padmin").post(f"/projects/acme/security/allowlist/{entry.pk}/remove/", **HTMX)
    assert 'data-entry="CVE-2026-0003"' not in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.ALLOWLIST_REMOVE, target_name="CVE-2026-0003").exists()
    scans.image_report.refresh_from_db()
    assert scans.image_report.counts["medium"] == 1


def test_an_allowlist_post_without_javascript_redirects_back(world, scans):
    response = world.client("padmin").post("/projects/acme/security/allowlist/", {"vulnerability_id": "X-1", "reason": "r"})
    assert response.status_code == 302 and response["Location"] == "/projects/acme/security/"


def test_the_allowlist_form_shows_only_to_those_who_may_manage_it(world, scans):
    assert 'id="allowlist-add"' in world.client("padmin").get("/projects/acme/security/").content.decode()
    assert 'id="allowlist-add"' not in world.client("maintainer").get("/projects/acme/security/").content.decode()


def test_a_project_admin_turns_scan_on_push_on_and_off(world, scans):
    client = world.client("padmin")
    response = client.post("/projects/acme/security/scan-on-push/", {"enabled": "on"}, **HTMX)
    assert "checked" in response.content.decode()
    assert ProjectScanSettings.scan_on_push_for(world.private.pk)
    assert AuditEvent.objects.filter(action=AuditAction.SCAN_SETTINGS_UPDATE).count() == 1
    client.post("/projects/acme/security/scan-on-push/", {}, **HTMX)
    assert not ProjectScanSettings.scan_on_push_for(world.private.pk)


def test_the_overview_spans_projects_and_lists_osv_imports(world, scans):
    make_scans(world.public)
    response = world.client("sysadmin").get("/security/")
    projects = {r.artifact.repository.project.name for r in response.context["worst"]}
    assert projects == {"acme", "pub"}
    html = response.content.decode()
    assert 'id="osv-imports"' in html and "/data/all.zip" in html
    assert {row["vulnerability_id"]: row["artifacts"] for row in response.context["widespread"]}["CVE-2026-0001"] == 6


def test_a_system_admin_edits_the_system_allowlist_with_inline_errors(world, scans):
    client = world.client("sysadmin")
    response = client.post("/security/allowlist/", {"vulnerability_id": "CVE-2026-0001", "reason": "fleet-wide"}, **HTMX)
    assert 'data-entry="CVE-2026-0001"' in response.content.decode()
    scans.image_report.refresh_from_db()
    assert scans.image_report.counts["critical"] == 0
    response = client.post("/security/allowlist/", {"vulnerability_id": "CVE-2026-0001", "reason": "again"}, **HTMX)
    assert "already on the system allowlist" in response.content.decode()
    project_page = world.client("guest").get("/projects/acme/security/").content.decode()
    assert 'id="system-allowlist"' in project_page


def test_artifacts_without_vulnerabilities_stay_out_of_the_worst_list(world, scans):
    clean = Artifact.objects.create(repository=scans.content.repository, digest="sha256:" + "c" * 64)
    ScanReport.objects.create(artifact=clean, status=ScanReport.Status.SUCCEEDED)
    response = world.client("guest").get("/projects/acme/security/")
    assert clean.pk not in [r.artifact_id for r in response.context["worst"]]


# --- "no packages found" is not "clean" --------------------------------------------------


CLEAN = '<i class="bi bi-shield-check"></i> clean</a>'


def _scanned(scans, tag: str, *, packages: int, distro: str, scanner: str = ScanReport.Scanner.BUILTIN) -> Artifact:
    artifact = Artifact.objects.create(repository=scans.content.repository, digest="sha256:" + tag[0] * 64)
    Tag.objects.create(repository=scans.content.repository, name=tag, artifact=artifact)
    ScanReport.objects.create(
        artifact=artifact, status=ScanReport.Status.SUCCEEDED, packages=packages, distro=distro, scanner=scanner
    )
    return artifact


def _badge_of(html: str, tag: str) -> str:
    return html.split(f'data-tag="{tag}"')[1].split("</tr>")[0]


def test_a_scan_that_found_no_packages_says_so_on_the_tag_list_not_clean(world, scans):
    _scanned(scans, "static", packages=0, distro="")
    _scanned(scans, "debian", packages=120, distro="Debian:12")

    html = world.client("guest").get(BASE).content.decode()

    static, debian = _badge_of(html, "static"), _badge_of(html, "debian")
    assert "no packages found" in static and CLEAN not in static
    assert CLEAN in debian and "no packages found" not in debian


def test_a_trivy_report_without_findings_is_clean_since_trivy_counts_no_packages(world, scans):
    _scanned(scans, "trivy", packages=0, distro="", scanner=ScanReport.Scanner.TRIVY)

    html = world.client("guest").get(BASE).content.decode()

    assert CLEAN in _badge_of(html, "trivy") and "no packages found" not in _badge_of(html, "trivy")


def test_the_artifact_and_vulnerabilities_pages_say_no_packages_found(world, scans):
    static = _scanned(scans, "static", packages=0, distro="")
    client = world.client("guest")

    artifact_html = client.get(f"{BASE}-/artifacts/{static.digest}/").content.decode()
    vulns_html = client.get(_vulns(scans, static)).content.decode()

    assert "no packages found" in artifact_html.split('id="artifact-scan"')[1].split("</dd>")[0]
    assert 'id="found-nothing"' in vulns_html and "No vulnerabilities</span>" not in vulns_html
    assert "not a clean result" in vulns_html.split('id="no-findings"')[1]
