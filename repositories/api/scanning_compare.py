"""Comparing two artifacts' latest successful built-in scans.

Reading the rows (`compare_reports`) is separate from the diff (`diff_findings`,
`diff_packages`), which takes plain tuples and dicts so it is easy to test.

Vulnerabilities are keyed by (vulnerability id, package): the same CVE in another
package is another vulnerability to fix. Packages come from the reports' CycloneDX
SBOMs, keyed by the package URL without its version and qualifiers (so
`pkg:deb/debian/openssl` at 3.0.1 and 3.0.2 is one package, upgraded); a report
without an SBOM falls back to the packages its findings name. An index's report is
a summary: its platform reports' findings and SBOMs are merged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from packageurl import PackageURL

from ..models import Finding, ScanReport, Severity
from ..models.scanning import SEVERITY_RANK

FindingKey = tuple[str, str]


@dataclass(frozen=True)
class FindingFacts:
    """What the comparison shows of one finding."""

    vulnerability_id: str
    package: str
    installed_version: str
    fixed_version: str
    severity: str
    cvss_score: float | None
    allowlisted: bool

    @property
    def key(self) -> FindingKey:
        return (self.vulnerability_id, self.package)


def _row(facts: FindingFacts, *, from_version: str | None, to_version: str | None) -> dict[str, Any]:
    return {
        "vulnerability_id": facts.vulnerability_id,
        "package": facts.package,
        "severity": facts.severity,
        "cvss_score": facts.cvss_score,
        "from_version": from_version,
        "to_version": to_version,
        "fixed_version": facts.fixed_version,
        "allowlisted": facts.allowlisted,
    }


def _by_severity(row: dict[str, Any]) -> tuple[int, float, str, str]:
    rank = SEVERITY_RANK.get(Severity(row["severity"]) if row["severity"] in Severity.values else Severity.UNKNOWN, 0)
    return (-rank, -(row["cvss_score"] or 0.0), row["vulnerability_id"], row["package"])


def diff_findings(old: Iterable[FindingFacts], new: Iterable[FindingFacts]) -> dict[str, list[dict[str, Any]]]:
    """Fixed (only in `old`), introduced (only in `new`) and unchanged (in both), most
    severe first. A finding reported twice (two paths) counts once."""
    before = {facts.key: facts for facts in old}
    after = {facts.key: facts for facts in new}
    fixed = [_row(f, from_version=f.installed_version, to_version=None) for k, f in before.items() if k not in after]
    introduced = [
        _row(f, from_version=None, to_version=f.installed_version) for k, f in after.items() if k not in before
    ]
    unchanged = [
        _row(f, from_version=before[k].installed_version, to_version=f.installed_version)
        for k, f in after.items()
        if k in before
    ]
    return {
        "vulnerabilities_fixed": sorted(fixed, key=_by_severity),
        "vulnerabilities_introduced": sorted(introduced, key=_by_severity),
        "vulnerabilities_unchanged": sorted(unchanged, key=_by_severity),
    }


def package_key(purl: str) -> tuple[str, str] | None:
    """(key, name) of a package URL: `pkg:type/namespace/name` and the name."""
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError:
        return None
    if parsed.type == "oci":  # the image itself
        return None
    key = PackageURL(type=parsed.type, namespace=parsed.namespace, name=parsed.name).to_string()
    return key, parsed.name


def packages_of_sbom(sbom: Any) -> dict[str, tuple[str, str]]:
    """{package key: (name, version)} of a CycloneDX document's library components."""
    packages: dict[str, tuple[str, str]] = {}
    components = sbom.get("components") if isinstance(sbom, dict) else None
    for component in components if isinstance(components, list) else []:
        if not isinstance(component, dict) or not isinstance(component.get("purl"), str):
            continue
        found = package_key(component["purl"])
        if found is not None:
            key, name = found
            packages.setdefault(key, (name, str(component.get("version") or "")))
    return packages


def diff_packages(
    old: dict[str, tuple[str, str]], new: dict[str, tuple[str, str]]
) -> dict[str, list[dict[str, Any]]]:
    """Packages added, removed, and upgraded (in both at another version), by key."""

    def row(key: str, name: str, before: str | None, after: str | None) -> dict[str, Any]:
        return {"package": key, "name": name, "from_version": before, "to_version": after}

    added = [row(k, name, None, version) for k, (name, version) in sorted(new.items()) if k not in old]
    removed = [row(k, name, version, None) for k, (name, version) in sorted(old.items()) if k not in new]
    upgraded = [
        row(k, name, old[k][1], version)
        for k, (name, version) in sorted(new.items())
        if k in old and old[k][1] != version
    ]
    return {"packages_added": added, "packages_removed": removed, "packages_upgraded": upgraded}


def _image_reports(report: ScanReport) -> list[ScanReport]:
    """The reports holding findings and SBOMs: the report itself, or an index's platform reports."""
    children = list(report.children.filter(status=ScanReport.Status.SUCCEEDED))
    return children or [report]


def _findings(reports: list[ScanReport]) -> list[FindingFacts]:
    rows = Finding.objects.filter(report__in=reports).values_list(
        "vulnerability_id", "package", "installed_version", "fixed_version", "severity", "cvss_score", "allowlisted"
    )
    return [FindingFacts(*row) for row in rows]


def _packages(reports: list[ScanReport], findings: list[FindingFacts]) -> dict[str, tuple[str, str]]:
    packages: dict[str, tuple[str, str]] = {}
    with_sbom = [report for report in reports if report.sbom]
    for report in with_sbom:
        for key, value in packages_of_sbom(report.sbom).items():
            packages.setdefault(key, value)
    if not with_sbom:
        for facts in findings:
            packages.setdefault(facts.package, (facts.package, facts.installed_version))
    return packages


def compare_reports(old: ScanReport, new: ScanReport) -> dict[str, list[dict[str, Any]]]:
    """The vulnerability and package differences between two reports."""
    old_reports, new_reports = _image_reports(old), _image_reports(new)
    old_findings, new_findings = _findings(old_reports), _findings(new_reports)
    return {
        **diff_findings(old_findings, new_findings),
        **diff_packages(_packages(old_reports, old_findings), _packages(new_reports, new_findings)),
    }
