"""Query counts of the scanning lists: a page costs the same however many rows there are."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from repositories.models import Finding
from tests.api.conftest import RepoRows
from tests.api.scanning_rows import finding, make_report

SEVERITIES = ["critical", "high", "medium", "low", "unknown"]
# session + user, repository + project role, artifact, report, count, page
FINDINGS_PAGE_QUERIES = 8
REPORTS_PAGE_QUERIES = 8


def many_findings(n: int) -> list[Finding]:
    return [
        finding(
            f"CVE-2099-{i:05d}",
            f"pkg{i % 300}",
            severity=SEVERITIES[i % 5],
            score=(i % 100) / 10,
            fixed="2.0" if i % 3 else "",
            aliases=[f"GHSA-{i}"],
        )
        for i in range(n)
    ]


def _queries(client: Any, url: str, data: dict[str, Any] | None = None) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, data)
    assert response.status_code == 200, response.content
    return len(captured), response


@pytest.mark.parametrize("query", [{}, {"severity": ["critical", "high"], "fixable": "true", "ordering": "-cvss_score"}])
def test_a_findings_page_of_a_2000_finding_report_takes_a_fixed_number_of_queries(
    content: dict[str, RepoRows], world: Any, django_assert_max_num_queries: Any, query: dict[str, Any]
) -> None:
    rows = content["acme"]
    report = make_report(rows.image, many_findings(2000))
    client = world.client("guest")
    url = f"/api/v1/repositories/acme/app/-/artifacts/{rows.image.digest}/scans/{report.pk}/findings/"

    with django_assert_max_num_queries(FINDINGS_PAGE_QUERIES):
        response = client.get(url, {**query, "page_size": 500})

    assert response.status_code == 200
    assert len(response.json()["results"]) == min(500, response.json()["count"])


def test_findings_page_queries_do_not_grow_with_the_report(content: dict[str, RepoRows], world: Any) -> None:
    rows = content["acme"]
    small = make_report(rows.image, many_findings(5))
    large = make_report(rows.children[0], many_findings(2000))
    client = world.client("guest")
    base = "/api/v1/repositories/acme/app/-/artifacts"

    small_count, _ = _queries(client, f"{base}/{rows.image.digest}/scans/{small.pk}/findings/")
    large_count, _ = _queries(client, f"{base}/{rows.children[0].digest}/scans/{large.pk}/findings/")

    assert small_count == large_count


def test_csv_export_of_2000_findings_reads_them_in_chunks(content: dict[str, RepoRows], world: Any) -> None:
    rows = content["acme"]
    report = make_report(rows.image, many_findings(2000))
    client = world.client("guest")
    url = f"/api/v1/repositories/acme/app/-/artifacts/{rows.image.digest}/scans/{report.pk}/findings/export/"

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, {"format": "csv"})
        lines = b"".join(response.streaming_content).decode().splitlines()

    assert len(lines) == 2001
    assert len(captured) <= FINDINGS_PAGE_QUERIES + 2


def test_a_reports_page_takes_a_fixed_number_of_queries(
    content: dict[str, RepoRows], world: Any, django_assert_max_num_queries: Any
) -> None:
    rows = content["acme"]
    for _ in range(30):
        summary = make_report(rows.index)
        for child in rows.children:
            make_report(child, parent=summary)
    client = world.client("guest")

    with django_assert_max_num_queries(REPORTS_PAGE_QUERIES):
        response = client.get(f"/api/v1/repositories/acme/app/-/artifacts/{rows.index.digest}/scans/")

    assert response.json()["count"] == 30
    assert all(len(r["children"]) == 2 for r in response.json()["results"])
