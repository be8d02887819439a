"""Scans with the built-in scanner: request, claim, execute, store.

`request_scan` records a queued `ScanReport` (or returns the one already queued or
running for the same artifact and scanner); the Celery task
`repositories.tasks.run_scan` claims it with a conditional UPDATE and calls
`execute_scan`.

An image is scanned in two steps so matching never reads the whole database:
its layers are streamed from the registry (`RegistryClient.open_blob`, digest
verified, one layer open at a time, nothing written to disk) through the pure
engine's `read_layers` and `inventory`; then only the advisories for the
(ecosystem, name) pairs found are loaded (`advisory_index.load_index`) and matched
(`vulns.scanner.find_vulnerabilities`). An index is scanned per platform: one
report per child image, and a summary on the index's own report.

Every failure (registry down, a layer over a cap, a digest mismatch, a bug) ends
in a failed report with a readable message; `RegistryUnavailable` can instead put
the report back in the queue for the task to retry (`retry=True`).

Allowlisted findings (system-wide and project entries not expired at scan time,
naming the finding's id, an alias or an upstream id) are stored with
`allowlisted=True` and left out of the counts.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record
from portal import metrics
from portal.stored_text import Stored, stored
from webhooks import hooks as webhook_hooks

from ..models import (
    AllowlistEntry,
    Artifact,
    Finding,
    FindingIdentifier,
    Project,
    ProjectScanSettings,
    ScanReport,
)
from ..models.scanning import SEVERITY_RANK, UNMATCHED, Severity, empty_counts
from ..registry import RegistryClient, RegistryError, RegistryUnavailable
from ..vulns.identifiers import normalize
from ..vulns.inventory import Inventory, extract, inventory, wanted
from ..vulns.layers import LayerRejected, Limits, read_layers
from ..vulns.sbom import build_sbom
from ..vulns.scanner import ScanFinding, find_vulnerabilities
from .advisory_index import load_index, match_keys
from .osv_import import current_database_version
from .registry import registry_client

log = logging.getLogger(__name__)

SCANNABLE = (Artifact.Kind.IMAGE, Artifact.Kind.INDEX)
# Layer media types that carry no filesystem (or one the registry does not hold).
SKIPPED_LAYER_TYPES = (
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
)
MAX_NOTES = 50
MAX_ERROR = 2000
PENDING = (ScanReport.Status.QUEUED, ScanReport.Status.RUNNING)


class ScanRefused(ValueError):
    """The artifact cannot be scanned (not an image or index, or not read yet)."""


@dataclass
class ImageScan:
    """What scanning one image produced, before it is stored."""

    inventory: Inventory
    findings: list[ScanFinding]
    notes: list[str] = field(default_factory=list)


def limits() -> Limits:
    """The layer-reading caps from settings."""
    return Limits(
        max_compressed_bytes=settings.WHARF_SCAN_MAX_LAYER_BYTES or None,
        max_kept_bytes=settings.WHARF_SCAN_MAX_KEPT_BYTES,
    )


def request_scan(
    artifact: Artifact,
    actor: Actor,
    *,
    scanner: str = ScanReport.Scanner.BUILTIN,
    trigger: str = ScanReport.Trigger.USER,
    audit: bool = True,
) -> tuple[ScanReport, bool]:
    """Queue a scan of `artifact`, unless one by the same scanner is queued or running.

    Returns the report and whether it is new; the caller enqueues the task for a new
    one after commit (`repositories.tasks.enqueue_scan`). Raises `ScanRefused` for
    an artifact that is not an image or index.
    """
    if artifact.kind not in SCANNABLE:
        raise ScanRefused(gettext("Only images and image indexes can be scanned."))
    if scanner == ScanReport.Scanner.TRIVY:
        raise ScanRefused(gettext("Trivy reports are uploaded (see trivy_import), not requested."))
    with transaction.atomic():
        # Lock the artifact row: two concurrent requests queue one report.
        Artifact.objects.select_for_update().filter(pk=artifact.pk).first()
        existing = ScanReport.objects.filter(artifact=artifact, scanner=scanner, status__in=PENDING).first()
        if existing is not None:
            return existing, False
        report = ScanReport.objects.create(
            artifact=artifact, scanner=scanner, trigger=trigger, requested_by_id=actor.user_id
        )
        if audit:
            record(
                AuditAction.SCAN_REQUEST,
                actor=actor,
                project=artifact.repository.project,
                target_type="artifact",
                target_name=str(artifact),
                details={"report": report.pk, "scanner": scanner, "trigger": trigger},
            )
    return report, True


def claim_scan(report_id: int) -> ScanReport | None:
    """Move a queued report to running; None if another worker has it (or it is gone)."""
    claimed = ScanReport.objects.filter(pk=report_id, status=ScanReport.Status.QUEUED).update(
        status=ScanReport.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    return ScanReport.objects.select_related("artifact__repository__project").get(pk=report_id)


def _layer_streams(
    client: RegistryClient, repository: str, layers: Iterable[dict[str, Any]]
) -> Generator[tuple[str, Any], None, None]:
    """(digest, stream) per layer, opening each only when the reader reaches it and
    closing it when the reader moves on (or stops)."""
    for layer in layers:
        digest = layer.get("digest", "")
        with client.open_blob(repository, digest) as stream:
            yield digest, stream


def scan_image(artifact: Artifact, client: RegistryClient) -> ImageScan:
    """Inventory one image from the registry and match it against the stored advisories.

    Raises `ScanRefused`, `LayerRejected` or `RegistryError` (see `execute_scan`).
    """
    if not artifact.details_synced:
        raise ScanRefused(gettext("The image's manifest has not been read yet; sync it first."))
    if artifact.error:
        raise ScanRefused(gettext("The image's manifest could not be read: %(error)s") % {"error": artifact.error})
    layers = [layer for layer in artifact.layers if layer.get("media_type") not in SKIPPED_LAYER_TYPES]
    notes = []
    if len(layers) != len(artifact.layers):
        notes.append(f"{len(artifact.layers) - len(layers)} non-distributable layer(s) not scanned")
    streams = _layer_streams(client, artifact.repository.name, layers)
    try:
        image = read_layers(streams, wanted, limits(), extract)
    finally:
        streams.close()  # releases the open registry response at once when a layer is refused
    found = inventory(image)
    index = load_index(match_keys(found))
    findings = find_vulnerabilities(found, index)
    return ImageScan(inventory=found, findings=findings, notes=[*notes, *image.notes, *found.notes])


def allowlisted_ids(project: Project) -> set[str]:
    """The ids allowlisted for `project` now (system-wide and its own, not expired),
    normalised the way `Finding.names` are (`repositories.vulns.identifiers`)."""
    ids = AllowlistEntry.objects.active_for(project).values_list("vulnerability_id", flat=True)
    return {name for name in map(normalize, ids) if name}


def is_allowlisted(finding: Finding, allowlist: set[str]) -> bool:
    """Whether an allowlist entry names the finding: its id, an alias or an upstream id
    (so `CVE-X` covers `DEBIAN-CVE-X` and `GHSA-…` findings about it), ignoring case.

    The same rule, for stored findings, is `Finding.objects.named(allowlist)`.
    """
    return not allowlist.isdisjoint(finding.names)


def store_findings(rows: list[Finding]) -> list[Finding]:
    """Insert findings and the `FindingIdentifier` rows of their names, in bulk.

    Every way of writing findings (built-in scans, Trivy imports, scanner adapters)
    goes through here, so a finding is never stored without the names allowlists
    and filters look it up by. Call it inside the transaction that stores the report.
    """
    created = Finding.objects.bulk_create(rows, batch_size=1000)
    names = [FindingIdentifier(finding_id=row.pk, value=name) for row in created for name in row.names]
    FindingIdentifier.objects.bulk_create(names, batch_size=2000)
    return created


def _finding_row(report: ScanReport, found: ScanFinding, allowlist: set[str]) -> Finding:
    row = Finding(
        report=report,
        vulnerability_id=found.vulnerability_id[:255],
        aliases=list(found.aliases),
        upstream=list(found.upstream),
        ecosystem=found.ecosystem[:100],
        package=found.package[:255],
        package_kind=found.kind[:16],
        installed_version=found.installed_version[:255],
        source_name=found.source_name[:255],
        source_version=found.source_version[:255],
        fixed_version=found.fixed_version[:255],
        severity=found.severity.value,
        cvss_score=found.cvss_score,
        cvss_vector=(found.cvss_vector or "")[:255],
        title=found.title[:255],
        links=list(found.references),
        layer_digest=found.layer[:100],
        path=found.path[:1024],
    )
    row.allowlisted = is_allowlisted(row, allowlist)
    return row


def count_findings(report: ScanReport, findings: Iterable[Finding]) -> None:
    """Set the report's counts, fixable counts, allowlisted count and worst band."""
    counts, fixable = empty_counts(), empty_counts()
    allowlisted = 0
    for finding in findings:
        if finding.allowlisted:
            allowlisted += 1
            continue
        counts[finding.severity] += 1
        if finding.fixed_version:
            fixable[finding.severity] += 1
    report.counts, report.fixable_counts, report.allowlisted = counts, fixable, allowlisted
    report.worst_severity = worst_of(counts)


def worst_of(counts: dict[str, int]) -> str:
    """The most severe band with a count above zero, "" when there is none."""
    present = [Severity(band) for band, n in counts.items() if n and band in Severity.values]
    return max(present, key=SEVERITY_RANK.__getitem__).value if present else ""


def _finish(report: ScanReport, status: str, *, error: Stored | None = None) -> None:
    report.status = status
    error = (error or Stored("")).cut(MAX_ERROR)
    report.error, report.error_i18n = error.text, error.data
    report.finished_at = timezone.now()
    report.save()
    webhook_hooks.scan_finished(report)
    metrics.scan_finished(report)


def _store_image_scan(report: ScanReport, scan: ImageScan, allowlist: set[str]) -> None:
    artifact = report.artifact
    rows = [_finding_row(report, found, allowlist) for found in scan.findings]
    count_findings(report, rows)
    distro = scan.inventory.distro
    report.distro = (distro.ecosystem or f"{distro.id} {distro.version_id}".strip())[:100] if distro else ""
    report.packages = len(scan.inventory.packages)
    report.ecosystems = ecosystem_counts(scan.inventory)
    report.notes = scan.notes[:MAX_NOTES]
    report.sbom = build_sbom(scan.inventory, image_name=artifact.repository.name, image_digest=artifact.digest)
    with transaction.atomic():
        report.findings.all().delete()
        store_findings(rows)
        _finish(report, ScanReport.Status.SUCCEEDED)


def ecosystem_counts(found: Inventory) -> dict[str, int]:
    """{OSV ecosystem: packages}, for the summary; packages without one under `unmatched`.

    OS packages count under the distribution's canonical ecosystem (`Ubuntu:22.04`,
    not also its `:LTS` twin).
    """
    counts: dict[str, int] = {}
    for package in found.packages:
        key = package.ecosystem or UNMATCHED
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def _failure_message(exc: Exception) -> Stored:
    """Why a scan failed: the exception's own text (the registry's or the scanner's words)
    inside a sentence of Wharf's."""
    if isinstance(exc, RegistryUnavailable):
        return stored(gettext_noop("The registry is unavailable: %(detail)s"), detail=str(exc))
    if isinstance(exc, LayerRejected):
        return stored(gettext_noop("A layer was refused: %(detail)s"), detail=str(exc))
    if isinstance(exc, RegistryError):
        return stored(gettext_noop("The registry refused a read: %(detail)s"), detail=str(exc))
    return Stored(str(exc))


def _scan_into(report: ScanReport, client: RegistryClient, allowlist: set[str], *, retry: bool) -> None:
    """Scan `report.artifact` (an image) into the running `report`, failing it on any error."""
    try:
        scan = scan_image(report.artifact, client)
    except RegistryUnavailable as exc:
        if retry:
            raise
        _finish(report, ScanReport.Status.FAILED, error=_failure_message(exc))
        return
    except (ScanRefused, LayerRejected, RegistryError) as exc:
        _finish(report, ScanReport.Status.FAILED, error=_failure_message(exc))
        return
    except Exception as exc:
        log.exception("scan of %s failed", report.artifact)
        _finish(report, ScanReport.Status.FAILED, error=stored(gettext_noop("Internal error while scanning: %(detail)s"), detail=str(exc)))
        return
    _store_image_scan(report, scan, allowlist)


def _platform_children(artifact: Artifact) -> list[Artifact]:
    return [
        child
        for child in artifact.children.select_related("repository__project").order_by(
            "os", "architecture", "variant"
        )
        if child.kind == Artifact.Kind.IMAGE and child.os != "unknown"  # skip attestation manifests
    ]


def _scan_index(report: ScanReport, client: RegistryClient, allowlist: set[str], *, retry: bool) -> None:
    children = _platform_children(report.artifact)
    if not children:
        _finish(report, ScanReport.Status.FAILED, error=stored(gettext_noop("The index lists no platform images to scan.")))
        return
    report.children.filter(status__in=PENDING).delete()  # left behind by an attempt that was retried
    counts, fixable = empty_counts(), empty_counts()
    failed: list[str] = []
    allowlisted = packages = 0
    ecosystems: dict[str, int] = {}
    distros: list[str] = []
    for child in children:
        child_report = ScanReport.objects.create(
            artifact=child,
            parent=report,
            scanner=report.scanner,
            trigger=report.trigger,
            requested_by_id=report.requested_by_id,
            status=ScanReport.Status.RUNNING,
            started_at=timezone.now(),
            database_version=report.database_version,
        )
        _scan_into(child_report, client, allowlist, retry=retry)
        if child_report.status == ScanReport.Status.FAILED:
            failed.append(f"{child.platform or child.digest}: {child_report.error}")
            continue
        allowlisted += child_report.allowlisted
        packages += child_report.packages
        for ecosystem, count in child_report.ecosystems.items():
            ecosystems[ecosystem] = ecosystems.get(ecosystem, 0) + count
        distros.append(child_report.distro)
        for band in counts:
            counts[band] += child_report.counts.get(band, 0)
            fixable[band] += child_report.fixable_counts.get(band, 0)
    if failed:
        _finish(report, ScanReport.Status.FAILED, error=Stored("; ".join(failed)))
        return
    report.counts, report.fixable_counts, report.allowlisted = counts, fixable, allowlisted
    report.worst_severity = worst_of(counts)
    report.packages = packages
    report.ecosystems = dict(sorted(ecosystems.items()))
    # The platforms' distributions, so the summary says what was recognised (and a
    # distribution without packages is not taken for "found nothing").
    report.distro = ", ".join(sorted({d for d in distros if d}))[:100]
    report.notes = [f"{len(children)} platform(s) scanned"]
    _finish(report, ScanReport.Status.SUCCEEDED)


def execute_scan(
    report: ScanReport, client: RegistryClient | None = None, *, retry: bool = False
) -> ScanReport:
    """Run a claimed (running) built-in scan to the end.

    With `retry`, a `RegistryUnavailable` puts the report back in the queue and
    propagates, so the task's retry can claim it again; without, it fails the report.
    """
    client = client or registry_client()
    report.database_version = current_database_version()
    allowlist = allowlisted_ids(report.artifact.repository.project)
    try:
        if report.scanner != ScanReport.Scanner.BUILTIN:
            # Only the built-in scanner runs here; other scanners' runners do their own work.
            _finish(
                report, ScanReport.Status.FAILED, error=stored(gettext_noop("No runner for the %(scanner)s scanner here."), scanner=report.scanner)
            )
        elif report.artifact.kind == Artifact.Kind.INDEX:
            _scan_index(report, client, allowlist, retry=retry)
        elif report.artifact.kind == Artifact.Kind.IMAGE:
            _scan_into(report, client, allowlist, retry=retry)
        else:
            _finish(report, ScanReport.Status.FAILED, error=stored(gettext_noop("Only images and image indexes can be scanned.")))
    except RegistryUnavailable:
        ScanReport.objects.filter(pk=report.pk).update(status=ScanReport.Status.QUEUED, started_at=None)
        raise
    return report


def scan_now(artifact: Artifact, actor: Actor | None = None) -> ScanReport:
    """Request, claim and run a scan in this process (shell, tests, commands)."""
    report, _ = request_scan(artifact, actor or Actor.system("scan"))
    claimed = claim_scan(report.pk)
    if claimed is None:
        return ScanReport.objects.get(pk=report.pk)
    return execute_scan(claimed)


def scan_after_push(artifact_id: int) -> ScanReport | None:
    """Queue a scan of a freshly pushed top-level image or index when its project
    scans on push; None otherwise. Called once the artifact's manifest is read."""
    artifact = Artifact.objects.select_related("repository__project").filter(pk=artifact_id).first()
    if artifact is None or artifact.parent_id is not None or artifact.kind not in SCANNABLE:
        return None
    if not artifact.details_synced or artifact.error:
        return None
    if not ProjectScanSettings.scan_on_push_for(artifact.repository.project_id):
        return None
    report, created = request_scan(
        artifact, Actor.system("scan-on-push"), trigger=ScanReport.Trigger.PUSH, audit=False
    )
    return report if created else None


RESCAN_CHUNK = 500


def request_rescan_all(actor: Actor) -> list[int]:
    """Queue a built-in scan of every top-level image and index (e.g. after a database
    import); returns the new report ids. One audit event covers them all."""
    ids = list(
        Artifact.objects.filter(
            parent__isnull=True, kind__in=SCANNABLE, details_synced=True, error=""
        ).values_list("pk", flat=True)
    )
    created: list[int] = []
    for start in range(0, len(ids), RESCAN_CHUNK):
        chunk = Artifact.objects.filter(pk__in=ids[start : start + RESCAN_CHUNK]).select_related(
            "repository__project"
        )
        for artifact in chunk:
            report, new = request_scan(artifact, actor, trigger=ScanReport.Trigger.SCHEDULE, audit=False)
            if new:
                created.append(report.pk)
    with transaction.atomic():
        record(
            AuditAction.SCAN_REQUEST,
            actor=actor,
            target_type="registry",
            target_name="all images",
            details={"reports": len(created), "trigger": ScanReport.Trigger.SCHEDULE},
        )
    return created


def set_scan_on_push(project: Project, enabled: bool, *, actor: Actor) -> ProjectScanSettings:
    """Turn a project's "scan on push" on or off (audited when it changes)."""
    with transaction.atomic():
        scan_settings, _ = ProjectScanSettings.objects.select_for_update().get_or_create(project=project)
        if scan_settings.scan_on_push != enabled:
            scan_settings.scan_on_push = enabled
            scan_settings.save(update_fields=["scan_on_push", "updated_at"])
            record(
                AuditAction.SCAN_SETTINGS_UPDATE,
                actor=actor,
                project=project,
                target_type="project",
                target_name=project.name,
                details={"scan_on_push": enabled},
            )
    return scan_settings


def latest_report(artifact: Artifact, scanner: str = ScanReport.Scanner.BUILTIN) -> ScanReport | None:
    """The newest finished report of `artifact` by `scanner`."""
    return (
        ScanReport.objects.filter(
            artifact=artifact,
            scanner=scanner,
            status__in=[ScanReport.Status.SUCCEEDED, ScanReport.Status.FAILED],
        )
        .order_by("-created_at", "-id")
        .first()
    )
