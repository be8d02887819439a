"""The tag list with severity summaries and the findings page cost a fixed number
of queries however many tags, reports and findings there are: no N+1 per row."""

from __future__ import annotations

from repositories.models import Artifact, Finding, Repository, ScanReport, Severity, Tag
from tests.pages.repository_content import digest

TAGS = 2_000
FINDINGS = 2_000
BANDS = [band.value for band in Severity]


def _fill_tags(world) -> Repository:
    repository = Repository.objects.create(project=world.private, name="acme/big", tag_count=TAGS)
    artifacts = Artifact.objects.bulk_create(
        [Artifact(repository=repository, digest=digest(f"big-{i}"), size=i, os="linux", architecture="amd64") for i in range(TAGS)]
    )
    reports = []
    for i, artifact in enumerate(artifacts):
        counts = dict.fromkeys(BANDS, 0) | {BANDS[i % 5]: i % 7 + 1}
        reports.append(ScanReport(artifact=artifact, status=ScanReport.Status.SUCCEEDED, counts=counts, fixable_counts=counts))
        if i % 3 == 0:  # a newer scan still running: the "scanning…" state
            reports.append(ScanReport(artifact=artifact, status=ScanReport.Status.RUNNING))
    ScanReport.objects.bulk_create(reports)
    Tag.objects.bulk_create([Tag(repository=repository, name=f"t{i:05}", artifact=a) for i, a in enumerate(artifacts)])
    return repository


def test_tag_list_with_severity_summaries_is_bounded_with_2000_scanned_tags(world, django_assert_max_num_queries):
    _fill_tags(world)
    client = world.client("guest")
    # The third page, reached by following "Next" (the list pages by cursor); also warms the session.
    cursor = ""
    for _ in range(2):
        cursor = client.get("/projects/acme/repositories/big/", {"sort": "-size", "cursor": cursor}).context["page"].next

    # summaries 2, accessories 1, last sync and last notification 2, labels 2, storage usage 1, and
    # the total (on PostgreSQL a bounded probe, then the count or the estimate: portal.keyset.count).
    with django_assert_max_num_queries(16):
        response = client.get("/projects/acme/repositories/big/", {"sort": "-size", "cursor": cursor})

    html = response.content.decode()
    assert html.count("data-scan-state=") == 50
    assert html.count('data-scan-state="pending"') >= 15
    assert html.count("sev-badge") >= 50


def _fill_findings(world) -> str:
    repository = Repository.objects.create(project=world.private, name="acme/fat")
    artifact = Artifact.objects.create(repository=repository, digest=digest("fat"))
    report = ScanReport.objects.create(artifact=artifact, status=ScanReport.Status.SUCCEEDED)
    Finding.objects.bulk_create(
        [
            Finding(
                report=report,
                vulnerability_id=f"CVE-2026-{i:05}",
                package=f"pkg{i % 40}",
                installed_version="1.0",
                fixed_version="1.1" if i % 2 else "",
                severity=BANDS[i % 5],
                cvss_score=(i % 100) / 10,
                aliases=[f"GHSA-{i}"],
                links=[f"https://example.com/{i}"],
                allowlisted=i % 11 == 0,
            )
            for i in range(FINDINGS)
        ]
    )
    return f"/projects/acme/repositories/fat/-/artifacts/{artifact.digest}/vulnerabilities/"


def test_findings_page_is_bounded_with_2000_findings(world, django_assert_max_num_queries):
    url = _fill_findings(world)
    client = world.client("guest")
    cursor = client.get(url, {"sort": "-cvss_score", "fixable": "yes"}).context["page"].next

    with django_assert_max_num_queries(14):  # measured: 12
        response = client.get(url, {"sort": "-cvss_score", "fixable": "yes", "cursor": cursor})

    assert response.context["total"].count == FINDINGS // 2
    assert len(response.context["page"].object_list) == 100


def test_findings_export_streams_all_2000_findings_in_few_queries(world, django_assert_max_num_queries):
    url = _fill_findings(world)
    client = world.client("guest")
    client.get(url)

    with django_assert_max_num_queries(9):  # measured: 7
        response = client.get(url + "export.csv")
        lines = b"".join(response.streaming_content).decode().splitlines()

    assert len(lines) == FINDINGS + 1
