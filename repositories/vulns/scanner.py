"""The built-in scanner as one pure function: layers in, findings out.

`scan_layers()` reads an image's layers (`layers.read_layers`, keeping only what the
inventory needs), lists its packages (`inventory.inventory`), matches them against
an index of OSV advisories (`osv.match`) and rates each finding (`severity`).
Debian and Ubuntu packages are matched on their source package and source version,
Alpine ones on their origin, PyPI on the PEP 503 name, npm on the exact name; each
finding names the installed (binary) package and the layer that introduced it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import severity as severity_
from .inventory import Inventory, Package, extract, inventory, wanted
from .inventory.osrelease import Distro
from .inventory.packages import OS_KINDS
from .layers import DEFAULT_LIMITS, LayerStream, LayerSummary, Limits, read_layers
from .osv import AdvisoryIndex, Finding, match
from .severity import Band

TITLE_LENGTH = 200


@dataclass(frozen=True)
class ScanFinding:
    """One advisory affecting one installed package of the image."""

    vulnerability_id: str
    aliases: tuple[str, ...]
    upstream: tuple[str, ...]
    ecosystem: str
    package: str
    installed_version: str
    source_name: str
    source_version: str
    fixed_version: str
    fixed_versions: tuple[str, ...]
    severity: Band
    cvss_score: float | None
    cvss_vector: str | None
    title: str
    references: tuple[str, ...]
    layer: str
    path: str
    kind: str

    @property
    def fixable(self) -> bool:
        return bool(self.fixed_version)


@dataclass
class ScanResult:
    """Everything one scan found, ready to be stored as a report."""

    distro: Distro | None
    packages: list[Package]
    findings: list[ScanFinding]
    counts: dict[Band, int]
    fixable_counts: dict[Band, int]
    layers: list[LayerSummary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def fixable(self) -> int:
        return sum(self.fixable_counts.values())


def _match_ecosystems(package: Package, distro: Distro | None) -> tuple[str, ...]:
    if package.kind in OS_KINDS:
        return distro.ecosystems if distro else ()
    return (package.ecosystem,) if package.ecosystem else ()


def _title(advisory: Mapping[str, Any]) -> str:
    summary = advisory.get("summary")
    if isinstance(summary, str) and summary.strip():
        text = summary.strip()
    else:
        details = advisory.get("details")
        text = details.strip().splitlines()[0] if isinstance(details, str) and details.strip() else ""
    return text if len(text) <= TITLE_LENGTH else text[: TITLE_LENGTH - 1] + "…"


def _references(advisory: Mapping[str, Any]) -> tuple[str, ...]:
    urls: list[str] = []
    for reference in advisory.get("references") or ():
        url = reference.get("url") if isinstance(reference, Mapping) else None
        if isinstance(url, str) and url.startswith(("https://", "http://")) and url not in urls:
            urls.append(url)
    return tuple(urls)


def _finding(package: Package, found: Finding) -> ScanFinding:
    rated = severity_.for_advisory(found.advisory, found.matched)
    return ScanFinding(
        vulnerability_id=found.vulnerability_id,
        aliases=found.aliases,
        upstream=found.upstream,
        ecosystem=found.ecosystem,
        package=package.name,
        installed_version=package.version,
        source_name=package.source_name,
        source_version=package.source_version,
        fixed_version=found.fixed_versions[0] if found.fixed_versions else "",
        fixed_versions=found.fixed_versions,
        severity=rated.band,
        cvss_score=rated.score,
        cvss_vector=rated.vector,
        title=_title(found.advisory),
        references=_references(found.advisory),
        layer=package.layer,
        path=package.path,
        kind=package.kind,
    )


def find_vulnerabilities(inventory_: Inventory, index: AdvisoryIndex) -> list[ScanFinding]:
    """Findings for an inventory, most severe first.

    Each (ecosystem, source name, source version) is matched once, however many
    binary packages share it; each finding is then reported per installed package.
    An advisory found under two ecosystems of a release (`Ubuntu:22.04` and
    `Ubuntu:22.04:LTS`) is reported once per package.
    """
    by_query: dict[tuple[str, str, str], list[Package]] = {}
    for package in inventory_.packages:
        for ecosystem in _match_ecosystems(package, inventory_.distro):
            by_query.setdefault((ecosystem, package.source_name, package.source_version), []).append(package)
    findings: dict[tuple[str, tuple[str, ...]], ScanFinding] = {}
    for found in match(by_query, index):
        for package in by_query[(found.ecosystem, found.package, found.version)]:
            findings.setdefault((found.vulnerability_id, package.key), _finding(package, found))
    return sorted(
        findings.values(),
        key=lambda f: (-f.severity.rank, -(f.cvss_score or 0.0), f.vulnerability_id, f.package, f.path),
    )


def _counts(findings: Iterable[ScanFinding]) -> tuple[dict[Band, int], dict[Band, int]]:
    counts = dict.fromkeys(Band, 0)
    fixable = dict.fromkeys(Band, 0)
    for finding in findings:
        counts[finding.severity] += 1
        if finding.fixable:
            fixable[finding.severity] += 1
    return counts, fixable


def scan_layers(
    layers: Iterable[tuple[str, LayerStream]],
    advisories_index: AdvisoryIndex,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> ScanResult:
    """Scan one image (one platform): its layers, lowest first, as `(digest, stream)`.

    Raises `layers.LayerRejected` when a layer cannot be read safely.
    """
    image = read_layers(layers, wanted, limits, extract)
    found = inventory(image)
    findings = find_vulnerabilities(found, advisories_index)
    counts, fixable = _counts(findings)
    return ScanResult(
        distro=found.distro,
        packages=found.packages,
        findings=findings,
        counts=counts,
        fixable_counts=fixable,
        layers=image.layers,
        notes=[*image.notes, *found.notes],
    )


__all__ = ["ScanFinding", "ScanResult", "find_vulnerabilities", "scan_layers"]
