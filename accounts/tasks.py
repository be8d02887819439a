"""Celery tasks of the accounts app: thin wrappers that call services."""

from __future__ import annotations

from celery import shared_task

from .registry_auth import throttle


@shared_task(ignore_result=True)
def purge_login_failures() -> int:
    """Delete failed-login counts whose window has ended (beat: hourly)."""
    return throttle.purge_expired()
