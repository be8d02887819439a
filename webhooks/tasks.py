"""Celery tasks of webhooks: thin, taking ids."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(ignore_result=True)
def deliver(delivery_id: int) -> None:
    """One attempt at a delivery; a failure leaves it RETRYING for `retry_due`."""
    services.attempt(delivery_id)


@shared_task(ignore_result=True)
def retry_due() -> None:
    """Beat, every 30 s: one task per delivery whose retry is due, so a slow
    receiver holds up only its own deliveries."""
    for delivery_id in services.due_deliveries():
        deliver.delay(delivery_id)
