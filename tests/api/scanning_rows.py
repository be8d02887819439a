"""Scan reports, findings and SBOMs made with the ORM for the scanning API tests
(no registry, no scanner run)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from repositories.models import Artifact, Finding, ScanReport
from repositories.services.scanning import count_findings, store_findings
from repositories.vulns.inventory import Inventory
from repositories.vulns.inventory.osrelease import Distro
from repositories.vulns.inventory.packages import DEB, Package
from repositories.vulns.sbom import sbom_json

DEBIAN = Distro(id="debian", version_id="12", pretty_name="Debian GNU/Linux 12", ecosystems=("Debian:12",))


def sbom_for(artifact: Artifact, packages: Iterable[tuple[str, str, str]]) -> dict[str, Any]:
    """A CycloneDX document made by the engine for `(kind, name, version)` packages."""
    inventory = Inventory(
        distro=DEBIAN,
        packages=[
            Package(
                kind=kind,
                name=name,
                version=version,
                source_name=name,
                source_version=version,
                ecosystem="Debian:12" if kind == DEB else "PyPI",
                arch="amd64" if kind == DEB else "",
                layer="sha256:" + "1" * 64,
                path="/var/lib/dpkg/status" if kind == DEB else f"/usr/lib/python3/{name}.dist-info/METADATA",
            )
            for kind, name, version in packages
        ],
    )
    return json.loads(sbom_json(inventory, image_name=artifact.repository.name, image_digest=artifact.digest))


def finding(
    vulnerability_id: str,
    package: str,
    *,
    severity: str = "high",
    version: str = "1.0",
    fixed: str = "",
    score: float | None = None,
    allowlisted: bool = False,
    aliases: list[str] | None = None,
    upstream: list[str] | None = None,
    title: str = "",
) -> Finding:
    return Finding(
        vulnerability_id=vulnerability_id,
        aliases=aliases or [],
        upstream=upstream or [],
        package=package,
        installed_version=version,
        fixed_version=fixed,
        severity=severity,
        cvss_score=score,
        title=title or f"{vulnerability_id} in {package}",
        links=[f"https://example.test/{vulnerability_id}"],
        ecosystem="Debian:12",
        package_kind=DEB,
        allowlisted=allowlisted,
    )


def make_report(
    artifact: Artifact,
    findings: Iterable[Finding] = (),
    *,
    scanner: str = ScanReport.Scanner.BUILTIN,
    status: str = ScanReport.Status.SUCCEEDED,
    sbom: dict[str, Any] | None = None,
    parent: ScanReport | None = None,
) -> ScanReport:
    """A finished report of `artifact` holding `findings`, with counts that agree."""
    rows = list(findings)
    now = timezone.now()
    report = ScanReport(
        artifact=artifact,
        scanner=scanner,
        status=status,
        parent=parent,
        started_at=now,
        finished_at=now if status in (ScanReport.Status.SUCCEEDED, ScanReport.Status.FAILED) else None,
        database_version="2026-01-01T00:00:00Z",
        distro="Debian:12",
        sbom=sbom,
    )
    count_findings(report, rows)
    report.save()
    for row in rows:
        row.report = report
    store_findings(rows)
    return report

