"""Celery tasks of replication: thin, taking ids."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def run_replication(run_id: int) -> None:
    """Run a queued replication run; another worker holding it makes this a no-op."""
    from .services import runs

    run = runs.claim(run_id)
    if run is not None:
        runs.execute_run(run)


@shared_task(ignore_result=True)
def scheduled_replication() -> None:
    """Every minute (beat): queue the runs of scheduled rules that are due."""
    from .services import runs

    runs.due_runs()
