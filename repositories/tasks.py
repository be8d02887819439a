"""Celery tasks: thin wrappers that take ids and call services."""

from __future__ import annotations

from functools import partial
from typing import Any

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import transaction

from audit.context import Actor

from .models import Artifact, GcRun, Project, RetentionRun, ScannerAdapter, ScanReport, SyncRun
from .registry import RegistryUnavailable
from .services import (
    content,
    gc,
    recycle,
    retention,
    retention_defaults,
    retention_runs,
    scanner_adapters,
    scanning,
    signatures,
    stats,
    sync,
)
from .services.registry import registry_client


@shared_task(ignore_result=True)
def run_sync(run_id: int) -> None:
    """Run a queued sync; another worker holding it makes this a no-op."""
    run = sync.claim(run_id)
    if run is not None:
        finished = sync.execute_sync(run)
        signatures.verify_after_sync(finished, registry_client())


# Tasks that read the registry: a registry that does not answer is retried with backoff.
REGISTRY_READ_RETRY: dict[str, Any] = {
    "ignore_result": True,
    "autoretry_for": (RegistryUnavailable,),
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(ignore_result=True)
def scheduled_sync() -> None:
    run, created = sync.request_sync(actor=Actor.system("schedule"), trigger=SyncRun.Trigger.SCHEDULE)
    if created:
        run_sync.delay(run.pk)


def enqueue_sync(run: SyncRun) -> None:
    """Start the task once the run's row is committed (workers must see it)."""
    transaction.on_commit(lambda: run_sync.delay(run.pk))


@shared_task(**REGISTRY_READ_RETRY)
def fill_artifact_details(artifact_id: int) -> None:
    """Read the manifest and config of an artifact a push notification created."""
    artifact = content.fill_artifact_details(artifact_id, registry_client())
    if artifact is not None:
        report = scanning.scan_after_push(artifact.pk)
        if report is not None:
            enqueue_scan(report)
        verify_after_push(artifact.pk)


@shared_task(**REGISTRY_READ_RETRY)
def verify_project_signatures(project_id: int) -> None:
    """Re-verify a project's signed artifacts after its trusted keys changed."""
    project = Project.objects.filter(pk=project_id).first()
    if project is not None:
        signatures.verify_project(project, registry_client())


def enqueue_details(artifact_ids: list[int]) -> None:
    for artifact_id in artifact_ids:
        transaction.on_commit(partial(fill_artifact_details.delay, artifact_id))


@shared_task(**REGISTRY_READ_RETRY)
def verify_after_push(artifact_id: int) -> None:
    """Verify the signatures a pushed artifact is (or has): see `signatures.after_push`."""
    artifact = Artifact.objects.select_related("repository__project").filter(pk=artifact_id).first()
    if artifact is not None:
        tags = list(artifact.tags.values_list("name", flat=True))
        signatures.after_push(artifact, tags, registry_client())


def enqueue_signature_checks(artifact_ids: list[int]) -> None:
    for artifact_id in artifact_ids:
        transaction.on_commit(partial(verify_after_push.delay, artifact_id))


@shared_task(ignore_result=True)
def run_retention(run_id: int) -> None:
    """Run a queued retention run; another worker holding it makes this a no-op."""
    run = retention_runs.claim_run(run_id)
    if run is not None:
        retention_runs.execute_run(run)


def enqueue_retention(run: RetentionRun) -> None:
    """Start the run's task once its row is committed (workers must see it)."""
    transaction.on_commit(lambda: run_retention.delay(run.pk))


@shared_task(ignore_result=True)
def scheduled_retention() -> None:
    """Beat, every minute: queue the runs whose cron schedule is due now."""
    for run in retention_runs.due_runs():
        enqueue_retention(run)
    for run in retention_defaults.due_default_runs():  # projects the system default governs
        enqueue_retention(run)


@shared_task(
    ignore_result=True,
    autoretry_for=(RegistryUnavailable,),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
)
def revert_protected_tag(tag_id: int, artifact_id: int) -> None:
    """Put a protected tag that a push overwrote back on its previous artifact."""
    retention.revert_tag(tag_id, artifact_id)


@shared_task(ignore_result=True)
def purge_recycle_bin() -> None:
    """Beat, hourly: forget recycle bin entries past their expiry."""
    recycle.purge_expired()


@shared_task(
    bind=True,
    ignore_result=True,
    autoretry_for=(RegistryUnavailable,),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def run_scan(self: Any, report_id: int) -> None:
    """Run a queued scan; another worker holding it makes this a no-op. While retries
    remain, a registry outage puts the report back in the queue for the next attempt."""
    report = scanning.claim_scan(report_id)
    if report is not None:
        scanning.execute_scan(report, retry=self.request.retries < self.max_retries)


def enqueue_scan(report: ScanReport) -> None:
    """Start the scan's task once its row is committed (workers must see it)."""
    transaction.on_commit(lambda: run_scan.delay(report.pk))


@shared_task(ignore_result=True)
def rescan_all() -> None:
    """Beat (daily) and `import_osv --rescan`: rescan every image against the current database."""
    for report_id in scanning.request_rescan_all(Actor.system("rescan")):
        transaction.on_commit(partial(run_scan.delay, report_id))


@shared_task(ignore_result=True)
def run_adapter_scan(artifact_id: int, adapter_id: int, actor_name: str) -> None:
    """Scan an artifact with a registered Harbor scanner adapter, as `actor_name` (a
    username; the scan request is audited as that user, else as a system actor).
    No retries: `scan_with_adapter` records adapter failures on the report itself,
    and a rescan is one button away. Gone or disabled adapters make this a no-op."""
    artifact = Artifact.objects.select_related("repository__project").filter(pk=artifact_id).first()
    adapter = ScannerAdapter.objects.filter(pk=adapter_id, enabled=True).first()
    if artifact is None or adapter is None:
        return
    user = get_user_model().objects.filter(username=actor_name).first()
    actor = Actor.for_user(user) if user is not None else Actor.system(actor_name)
    scanner_adapters.run_scan(artifact, adapter, actor, trigger=ScanReport.Trigger.API)


def enqueue_adapter_scan(artifact: Artifact, adapter: ScannerAdapter, actor: Actor) -> None:
    """Start the adapter scan once the request's transaction is committed."""
    transaction.on_commit(partial(run_adapter_scan.delay, artifact.pk, adapter.pk, actor.name))


@shared_task(ignore_result=True)
def run_gc(run_id: int) -> None:
    """Run a queued garbage collection; another worker holding it makes this a no-op."""
    run = gc.claim_gc(run_id)
    if run is not None:
        gc.execute_gc(run)


def enqueue_gc(run: GcRun) -> None:
    """Start the run's task once its row is committed (workers must see it)."""
    transaction.on_commit(lambda: run_gc.delay(run.pk))


@shared_task(ignore_result=True)
def scheduled_gc() -> None:
    """Beat, every minute: queue the garbage collection when its cron schedule is due."""
    run = gc.due_gc()
    if run is not None:
        enqueue_gc(run)


@shared_task(ignore_result=True)
def record_daily_stats() -> None:
    """Beat, hourly: today's statistics row of every project (the charts' data)."""
    stats.record_daily()
