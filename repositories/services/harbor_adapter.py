"""Scanning an artifact with a Harbor scanner adapter (`repositories.scanners.harbor_adapter`).

`scan_with_adapter` runs the whole exchange in the calling process: queue a
`ScanReport(scanner="harbor-adapter")` (audited, like any requested scan), claim
it, read the adapter's metadata, mint a short-lived pull-only registry token for
exactly this repository, submit the scan, poll the report a bounded number of
times (sleeping what the adapter's `Refresh-After` says, capped), and store the
findings; any failure fails the report with the reason.

The token is signed with Wharf's registry token key (`accounts.registry_auth.jwt`),
so the adapter can pull this one repository, and nothing else, for a few minutes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts.registry_auth.jwt import Access, mint_token
from audit.context import Actor
from portal import metrics
from portal.stored_text import Stored, stored
from webhooks import hooks as webhook_hooks

from ..models import Artifact, Finding, ScanReport
from ..scanners.harbor_adapter import (
    VULNERABILITY_REPORT_MIME,
    AdapterReport,
    HarborAdapterClient,
    HarborAdapterError,
    NotReady,
)
from .scanning import (
    MAX_ERROR,
    ScanRefused,
    allowlisted_ids,
    claim_scan,
    count_findings,
    is_allowlisted,
    request_scan,
    store_findings,
)

log = logging.getLogger(__name__)

TOKEN_SUBJECT = "wharf-scanner-adapter"
TOKEN_LIFETIME = 900  # long enough for the adapter to pull a large image, no longer
MAX_POLLS = 60
MAX_SLEEP = 30.0
DATABASE_UPDATED_PROPERTY = "harbor.scanner-adapter/vulnerability-database-updated-at"

TokenMinter = Callable[[str], str]


def mint_pull_token(repository: str) -> str:
    """A registry token granting `pull` on `repository` only, for `TOKEN_LIFETIME` seconds."""
    return mint_token(TOKEN_SUBJECT, [Access("repository", repository, ("pull",))], lifetime=TOKEN_LIFETIME).token


def _finish(report: ScanReport, status: str, *, error: Stored | None = None) -> ScanReport:
    report.status = status
    error = (error or Stored("")).cut(MAX_ERROR)
    report.error, report.error_i18n = error.text, error.data
    report.finished_at = timezone.now()
    report.save()
    webhook_hooks.scan_finished(report)
    metrics.scan_finished(report)
    return report


def _rows(report: ScanReport, adapter_report: AdapterReport, allowlist: set[str]) -> list[Finding]:
    rows = [
        Finding(
            report=report,
            vulnerability_id=item.id,
            package=item.package,
            installed_version=item.version,
            fixed_version=item.fix_version,
            severity=item.severity,
            cvss_score=item.cvss_score,
            cvss_vector=item.cvss_vector[:255],
            title=item.description.split("\n", 1)[0][:255],
            links=list(item.links),
        )
        for item in adapter_report.vulnerabilities
    ]
    for row in rows:
        row.allowlisted = is_allowlisted(row, allowlist)
    return rows


def store_adapter_report(report: ScanReport, adapter_report: AdapterReport) -> ScanReport:
    """Write the findings and counts of a parsed adapter report; succeed the report."""
    rows = _rows(report, adapter_report, allowlisted_ids(report.artifact.repository.project))
    count_findings(report, rows)
    if adapter_report.scanner_name:
        report.scanner_version = f"{adapter_report.scanner_name} {adapter_report.scanner_version}".strip()[:100]
    if adapter_report.skipped:
        report.notes = [f"{adapter_report.skipped} vulnerabilities without an id or package were skipped"]
    with transaction.atomic():
        report.findings.all().delete()
        store_findings(rows)
        _finish(report, ScanReport.Status.SUCCEEDED)
    return report


def _run(
    report: ScanReport,
    client: HarborAdapterClient,
    token_minter: TokenMinter,
    sleep: Callable[[float], None],
    max_polls: int,
) -> ScanReport:
    artifact = report.artifact
    metadata = client.metadata()
    if not metadata.consumes(artifact.media_type):
        return _finish(report, ScanReport.Status.FAILED, error=stored(gettext_noop("The adapter cannot scan %(media_type)s."), media_type=artifact.media_type))
    if not metadata.produces(VULNERABILITY_REPORT_MIME):
        return _finish(report, ScanReport.Status.FAILED, error=stored(gettext_noop("The adapter makes no v1.1 vulnerability report.")))
    report.scanner_version = f"{metadata.name} {metadata.version}".strip()[:100]
    report.database_version = metadata.properties.get(DATABASE_UPDATED_PROPERTY, "")[:40]
    report.save(update_fields=["scanner_version", "database_version"])
    scan_id = client.scan(
        registry_url=settings.REGISTRY_URL,
        authorization=f"Bearer {token_minter(artifact.repository.name)}",
        repository=artifact.repository.name,
        digest=artifact.digest,
        mime_type=artifact.media_type,
    )
    for _ in range(max_polls):
        result = client.report(scan_id)
        if not isinstance(result, NotReady):
            return store_adapter_report(report, result)
        sleep(min(result.retry_after, MAX_SLEEP))
    return _finish(report, ScanReport.Status.FAILED, error=stored(gettext_noop("The adapter's report was not ready after %(polls)s polls."), polls=max_polls))


def scan_with_adapter(
    artifact: Artifact,
    adapter_url: str,
    actor: Actor,
    *,
    auth_header: str | None = None,
    client: HarborAdapterClient | None = None,
    token_minter: TokenMinter = mint_pull_token,
    sleep: Callable[[float], None] = time.sleep,
    max_polls: int = MAX_POLLS,
    trigger: str = ScanReport.Trigger.USER,
) -> ScanReport:
    """Scan `artifact` (an image) with the Harbor adapter at `adapter_url`, to the end.

    Returns the report: succeeded with findings, or failed with the reason. If a
    harbor-adapter scan of the artifact is already queued or running, returns that
    one untouched. Raises `ScanRefused` for an artifact that cannot be scanned.
    """
    if artifact.kind != Artifact.Kind.IMAGE:
        raise ScanRefused(gettext("Scanner adapters scan images; scan an index's platform images."))
    queued, created = request_scan(artifact, actor, scanner=ScanReport.Scanner.HARBOR_ADAPTER, trigger=trigger)
    if not created:
        return queued
    report = claim_scan(queued.pk)
    if report is None:
        return ScanReport.objects.get(pk=queued.pk)
    own_client = client is None
    client = client or HarborAdapterClient(adapter_url, auth_header=auth_header)
    try:
        return _run(report, client, token_minter, sleep, max_polls)
    except HarborAdapterError as exc:
        return _finish(report, ScanReport.Status.FAILED, error=stored(gettext_noop("Scanner adapter: %(detail)s"), detail=str(exc)))
    except Exception as exc:
        log.exception("scan of %s with %s failed", artifact, adapter_url)
        return _finish(report, ScanReport.Status.FAILED, error=stored(gettext_noop("Internal error while scanning: %(detail)s"), detail=str(exc)))
    finally:
        if own_client:
            client.close()
