"""Outgoing webhooks: per-project and system-wide subscriptions to Wharf's events,
delivered by Celery with signatures, retries and a record of every attempt."""
