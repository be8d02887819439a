"""Every write to webhooks and deliveries, each with its audit event in the same
transaction; `emit` (called where Wharf records an event) and `attempt` (called by
the delivery task).

`emit` costs the caller one query (the enabled webhooks of the project and the
system ones) and, when any subscribes, one insert; the HTTP work happens in Celery
after the caller's transaction commits, so a rolled-back change sends nothing.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record
from portal import metrics
from portal.stored_text import stored

from .events import SYSTEM_ONLY, TEST_EVENT, WebhookEvent
from .models import Delivery, Webhook, WebhookFormat
from .payloads import CONTENT_TYPES, EventData, render
from .sender import SIGNATURE_HEADER, post, signature
from .targets import validate_target

log = logging.getLogger(__name__)

_FIELDS = ("name", "url", "events", "format", "enabled")


def _clean_events(events: Any) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise ValidationError({"events": [_("Choose at least one event.")]})
    known = set(WebhookEvent.values)
    unknown = sorted({str(e) for e in events} - known)
    if unknown:
        raise ValidationError({"events": [_("Unknown event: %(unknown)s.") % {"unknown": ', '.join(unknown)}]})
    return [e for e in WebhookEvent.values if e in events]  # stored in the vocabulary's order


def _validate(webhook: Webhook) -> None:
    webhook.name = webhook.name.strip()
    webhook.url = webhook.url.strip()
    errors: dict[str, list[str]] = {}
    if not webhook.name:
        errors["name"] = [_("Give the webhook a name.")]
    if webhook.format not in WebhookFormat.values:
        errors["format"] = [_("Choose one of: %(formats)s.") % {"formats": ", ".join(WebhookFormat.values)}]
    try:
        webhook.events = _clean_events(webhook.events)
        system_only = [e for e in webhook.events if e in SYSTEM_ONLY]
        if webhook.project_id is not None and system_only:
            raise ValidationError(
                {
                    "events": [
                        _("Only system webhooks receive %(events)s: it is not a project's event.")
                        % {"events": ", ".join(system_only)}
                    ]
                }
            )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        validate_target(webhook.url)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    webhook.full_clean(exclude=["created_by", "project"])
    webhook.validate_constraints()


def _audit(action: AuditAction, webhook: Webhook, actor: Actor, **details: object) -> None:
    record(
        action,
        actor=actor,
        project=webhook.project,
        target_type="webhook",
        target_name=webhook.name,
        details={
            "url": webhook.url,
            "events": webhook.events,
            "format": webhook.format,
            "enabled": webhook.enabled,
            "has_secret": webhook.has_secret,  # never the secret itself
            **details,
        },
    )


def create_webhook(
    *,
    actor: Actor,
    project: Any,
    name: str,
    url: str,
    events: list[str],
    format: str = WebhookFormat.HARBOR,
    secret: str = "",
    enabled: bool = True,
) -> Webhook:
    """A new webhook of `project` (None: a system webhook, for every project)."""
    webhook = Webhook(
        project=project,
        name=name,
        url=url,
        events=list(events),
        format=format,
        secret=secret.strip(),
        enabled=enabled,
        created_by_id=actor.user_id,
    )
    _validate(webhook)
    with transaction.atomic():
        webhook.save()
        _audit(AuditAction.WEBHOOK_CREATE, webhook, actor)
    return webhook


def update_webhook(webhook: Webhook, *, actor: Actor, secret: str | None = None, **changes: Any) -> Webhook:
    """Change the given fields; `secret=None` keeps the secret, `""` removes it."""
    unknown = set(changes) - set(_FIELDS)
    if unknown:
        raise ValidationError(_("Cannot change %(fields)s.") % {"fields": ', '.join(sorted(unknown))})
    for key, value in changes.items():
        setattr(webhook, key, value)
    if secret is not None:
        webhook.secret = secret.strip()
    _validate(webhook)
    changed = sorted([*changes, *(["secret"] if secret is not None else [])])
    with transaction.atomic():
        webhook.save()
        _audit(AuditAction.WEBHOOK_UPDATE, webhook, actor, changed=changed)
    return webhook


def delete_webhook(webhook: Webhook, *, actor: Actor) -> None:
    """Remove the webhook and its delivery records."""
    with transaction.atomic():
        _audit(AuditAction.WEBHOOK_DELETE, webhook, actor)
        webhook.delete()


def _enqueue(deliveries: list[Delivery]) -> None:
    from .tasks import deliver

    for delivery in deliveries:
        transaction.on_commit(partial(deliver.delay, delivery.pk))


def emit(
    event: WebhookEvent | str,
    *,
    project: Any,
    operator: str = "",
    repository: str = "",
    digest: str = "",
    tag: str = "",
    details: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> list[Delivery]:
    """Record a delivery of `event` for each enabled webhook of `project` and each
    enabled system webhook subscribed to it, and send them after the commit."""
    hooks = [
        hook
        for hook in Webhook.objects.filter(Q(project=project) | Q(project__isnull=True), enabled=True).order_by("pk")
        if str(event) in hook.events
    ]
    if not hooks:
        return []
    data = EventData(
        event=str(event),
        event_id=str(uuid.uuid4()),
        occurred_at=occurred_at or timezone.now(),
        operator=operator,
        project=project.name if project is not None else None,
        project_public=bool(getattr(project, "is_public", False)),
        repository=repository,
        digest=digest,
        tag=tag,
        details=details or {},
    )
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(webhook=hook, event=data.event, event_id=data.event_id, payload=_render(data, hook.format))
            for hook in hooks
        ]
    )
    _enqueue(deliveries)
    return deliveries


def _render(data: EventData, fmt: str) -> dict[str, Any]:
    return render(data, fmt, site_url=settings.WHARF_PUBLIC_URL, registry_host=settings.REGISTRY_PUBLIC_HOST)


def send_test(webhook: Webhook, *, actor: Actor) -> Delivery:
    """A test event for this webhook alone (sent whether or not it is enabled)."""
    data = EventData(
        event=TEST_EVENT,
        event_id=str(uuid.uuid4()),
        occurred_at=timezone.now(),
        operator=actor.name,
        project=webhook.project.name if webhook.project is not None else None,
        details={"message": f"A test event from Wharf for the webhook {webhook.name!r}."},
    )
    with transaction.atomic():
        delivery = Delivery.objects.create(
            webhook=webhook, event=TEST_EVENT, event_id=data.event_id, payload=_render(data, webhook.format)
        )
        _audit(AuditAction.WEBHOOK_TEST, webhook, actor, delivery=delivery.pk)
        _enqueue([delivery])
    return delivery


def redeliver(delivery: Delivery, *, actor: Actor) -> Delivery:
    """Send the same payload (same event id) again, as a new delivery record."""
    webhook = delivery.webhook
    with transaction.atomic():
        again = Delivery.objects.create(
            webhook=webhook,
            event=delivery.event,
            event_id=delivery.event_id,
            payload=delivery.payload,
            redelivery_of=delivery,
        )
        _audit(AuditAction.WEBHOOK_REDELIVER, webhook, actor, delivery=again.pk, of=delivery.pk, event=delivery.event)
        _enqueue([again])
    return again


def body_of(delivery: Delivery) -> bytes:
    """The exact bytes sent (and signed): compact, key-sorted JSON of the payload."""
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


def headers_for(delivery: Delivery, body: bytes) -> dict[str, str]:
    webhook = delivery.webhook
    headers = {
        "Content-Type": CONTENT_TYPES.get(WebhookFormat(webhook.format), "application/json"),
        "X-Wharf-Event": delivery.event,
        "X-Wharf-Delivery": str(delivery.pk),
        "X-Wharf-Event-Id": str(delivery.event_id),
    }
    if webhook.secret:
        headers[SIGNATURE_HEADER] = signature(webhook.secret, body)
    return headers


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: doubling from the base, capped."""
    base = float(settings.WHARF_WEBHOOKS_BACKOFF_SECONDS)
    cap = float(settings.WHARF_WEBHOOKS_BACKOFF_CAP_SECONDS)
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def attempt(delivery_id: int) -> Delivery | None:
    """Claim the delivery (None if gone, done, or another worker has it), POST it
    once, and record the outcome: delivered, a retry at the backoff, or given up."""
    now = timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id, status__in=[Delivery.Status.PENDING, Delivery.Status.RETRYING]
    ).update(status=Delivery.Status.SENDING, last_attempt_at=now)
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("webhook").get(pk=delivery_id)
    body = body_of(delivery)
    result = post(delivery.webhook.url, body, headers_for(delivery, body))
    delivery.attempts += 1
    delivery.response_code = result.status_code
    delivery.response_ms = result.elapsed_ms
    delivery.response_excerpt = result.excerpt
    delivery.error, delivery.error_i18n = result.error.text, result.error.data
    if result.ok:
        delivery.status, delivery.next_retry_at = Delivery.Status.SUCCEEDED, None
    elif delivery.attempts >= settings.WHARF_WEBHOOKS_MAX_ATTEMPTS:
        delivery.status, delivery.next_retry_at = Delivery.Status.FAILED, None
    else:
        delivery.status = Delivery.Status.RETRYING
        delivery.next_retry_at = timezone.now() + backoff(delivery.attempts)
    if not result.ok and not delivery.error:
        error = stored(gettext_noop("The receiver answered %(status)s."), status=result.status_code)
        delivery.error, delivery.error_i18n = error.text, error.data
    delivery.save(
        update_fields=[
            "attempts", "response_code", "response_ms", "response_excerpt", "error", "error_i18n", "status", "next_retry_at"
        ]
    )
    metrics.webhook_delivery(delivery.status, result.elapsed_ms / 1000)
    return delivery


STALE_SENDING = timedelta(minutes=10)


def due_deliveries(now: datetime | None = None) -> list[int]:
    """Retries whose time has come, and sends a dead worker left claimed (put back
    to RETRYING first, so `attempt` can claim them again)."""
    now = now or timezone.now()
    Delivery.objects.filter(status=Delivery.Status.SENDING, last_attempt_at__lt=now - STALE_SENDING).update(
        status=Delivery.Status.RETRYING, next_retry_at=now
    )
    return list(
        Delivery.objects.filter(status=Delivery.Status.RETRYING, next_retry_at__lte=now)
        .order_by("next_retry_at")
        .values_list("pk", flat=True)[:500]
    )
