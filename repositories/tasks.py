"""Celery tasks: thin wrappers that take ids and call services."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from audit.context import Actor

from .models import SyncRun
from .registry import RegistryUnavailable
from .services import content, sync
from .services.registry import registry_client


@shared_task(ignore_result=True)
def run_sync(run_id: int) -> None:
    """Run a queued sync; another worker holding it makes this a no-op."""
    run = sync.claim(run_id)
    if run is not None:
        sync.execute_sync(run)


@shared_task(ignore_result=True)
def scheduled_sync() -> None:
    run, created = sync.request_sync(actor=Actor.system("schedule"), trigger=SyncRun.Trigger.SCHEDULE)
    if created:
        run_sync.delay(run.pk)


def enqueue_sync(run: SyncRun) -> None:
    """Start the task once the run's row is committed (workers must see it)."""
    transaction.on_commit(lambda: run_sync.delay(run.pk))


@shared_task(
    ignore_result=True,
    autoretry_for=(RegistryUnavailable,),
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=8,
)
def fill_artifact_details(artifact_id: int) -> None:
    """Read the manifest and config of an artifact a push notification created."""
    content.fill_artifact_details(artifact_id, registry_client())


def enqueue_details(artifact_ids: list[int]) -> None:
    for artifact_id in artifact_ids:
        transaction.on_commit(lambda pk=artifact_id: fill_artifact_details.delay(pk))
