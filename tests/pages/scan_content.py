"""Scan reports and findings made directly with the ORM for the scan page tests, on
top of `repository_content.make_content`:

- `image` (`v1.0`, `v1.1`): a succeeded built-in report with four findings —
  CVE-2026-0001 critical in openssl (fixed in 3.0.2, score 9.8, hostile title and an
  advisory with a long hostile description), CVE-2026-0002 high in zlib (no fix),
  CVE-2026-0003 medium in curl (allowlisted), GHSA-low-0004 low in requests
  (alias CVE-2026-0004, fixed) — and an SBOM;
- `other` (`v2.0`, `v1x0`): an older succeeded report with CVE-2026-0001 (openssl
  3.0.1) and CVE-2026-0009 high in oldlib, and a newer queued one (state "pending");
- `index` (`latest`): a summary report whose amd64 platform report holds one finding;
- `broken`: one failed report; `signature`: none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from repositories.models import Advisory, Finding, OsvImport, Project, ScanReport, Severity
from repositories.models.scanning import empty_counts
from repositories.services.scanning import count_findings, store_findings
from tests.pages.repository_content import HOSTILE, Content, make_content

LONG_DETAILS = "Overflow in the parser. " * 60 + HOSTILE


@dataclass
class ScanContent:
    content: Content
    image_report: ScanReport
    other_report: ScanReport
    index_report: ScanReport


def sbom(packages: dict[str, str]) -> dict:
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": [
            {"type": "library", "name": name, "version": version, "purl": f"pkg:deb/debian/{name}@{version}"}
            for name, version in packages.items()
        ],
    }


def report_with(artifact, findings: list[dict], *, age: timedelta, packages: dict[str, str] | None = None, parent=None) -> ScanReport:
    """A succeeded built-in report of `artifact` with `findings` (dicts of Finding fields), counted."""
    finished = timezone.now() - age
    report = ScanReport.objects.create(
        artifact=artifact,
        parent=parent,
        status=ScanReport.Status.SUCCEEDED,
        created_at=finished - timedelta(seconds=5),
        started_at=finished - timedelta(seconds=4),
        finished_at=finished,
        distro="Debian:12",
        packages=len(packages or {}),
        sbom=sbom(packages) if packages is not None else None,
    )
    rows = store_findings([Finding(report=report, **f) for f in findings])
    count_findings(report, rows)
    report.save()
    return report


def make_scans(project: Project, name: str = "app") -> ScanContent:
    content = make_content(project, name)
    now = timezone.now()
    # "Today's" reports stay within today whatever the hour the suite runs (the security
    # chart counts per local day): one and two hours ago, or a third and two thirds of the
    # time since midnight if that is shorter.
    since_midnight = now - timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    one_hour = min(timedelta(hours=1), since_midnight / 3)
    two_hours = min(timedelta(hours=2), since_midnight * 2 / 3)
    image_findings = [
        dict(vulnerability_id="CVE-2026-0001", package="openssl", installed_version="3.0.1", fixed_version="3.0.2",
             severity=Severity.CRITICAL, cvss_score=9.8, title=f"openssl overflow {HOSTILE}", ecosystem="Debian:12",
             links=["https://example.com/CVE-2026-0001", "javascript:alert(1)"], layer_digest="sha256:" + "a" * 64,
             path="/var/lib/dpkg/status", aliases=["DSA-0001"]),
        dict(vulnerability_id="CVE-2026-0002", package="zlib", installed_version="1.2.13", severity=Severity.HIGH,
             cvss_score=7.5, title="zlib bug"),
        dict(vulnerability_id="CVE-2026-0003", package="curl", installed_version="7.88", fixed_version="7.89",
             severity=Severity.MEDIUM, cvss_score=5.0, allowlisted=True, title="curl bug"),
        dict(vulnerability_id="GHSA-low-0004", package="requests", installed_version="2.0", fixed_version="2.1",
             severity=Severity.LOW, cvss_score=2.0, aliases=["CVE-2026-0004"], title="=HYPERLINK(\"x\")"),
    ]
    image_report = report_with(
        content.image, image_findings, age=one_hour,
        packages={"openssl": "3.0.1", "zlib": "1.2.13", "curl": "7.88", "newpkg": "1.0"},
    )
    other_report = report_with(
        content.other,
        [
            dict(vulnerability_id="CVE-2026-0001", package="openssl", installed_version="3.0.0", fixed_version="3.0.2",
                 severity=Severity.CRITICAL, cvss_score=9.8),
            dict(vulnerability_id="CVE-2026-0009", package="oldlib", installed_version="0.1", severity=Severity.HIGH),
        ],
        age=timedelta(days=3),
        packages={"openssl": "3.0.0", "zlib": "1.2.13", "curl": "7.88", "oldlib": "0.1"},
    )
    ScanReport.objects.create(artifact=content.other, status=ScanReport.Status.QUEUED, created_at=now)
    index_report = ScanReport.objects.create(
        artifact=content.index, status=ScanReport.Status.SUCCEEDED, created_at=now - two_hours,
        finished_at=now - two_hours,
    )
    child = content.index.children.get(architecture="amd64")
    report_with(
        child,
        [dict(vulnerability_id="CVE-2026-0001", package="openssl", installed_version="3.0.1", fixed_version="3.0.2",
              severity=Severity.CRITICAL, cvss_score=9.8)],
        age=two_hours,
        packages={"openssl": "3.0.1"},
        parent=index_report,
    )
    index_report.counts = {**empty_counts(), "critical": 1}
    index_report.fixable_counts = {**empty_counts(), "critical": 1}
    index_report.worst_severity = Severity.CRITICAL
    index_report.save()
    ScanReport.objects.create(
        artifact=content.broken, status=ScanReport.Status.FAILED, error=f"registry down {HOSTILE}",
        finished_at=now - timedelta(minutes=5),
    )
    Advisory.objects.get_or_create(
        osv_id="CVE-2026-0001",
        defaults={"summary": "Parser overflow in openssl", "details": LONG_DETAILS, "modified": now - timedelta(days=5)},
    )
    if not OsvImport.objects.exists():
        OsvImport.objects.create(
            source="/data/all.zip", status=OsvImport.Status.SUCCEEDED, started_at=now - timedelta(days=3, minutes=1),
            finished_at=now - timedelta(days=3), seen=10, created=10,
        )
    return ScanContent(content, image_report, other_report, index_report)
