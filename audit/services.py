"""Writing and verifying the audit log. The only code that inserts `AuditEvent` rows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from portal.rows import insert

from .context import Actor
from .models import GENESIS_HASH, AuditAction, AuditEvent

# Any fixed 64-bit number: the key of the PostgreSQL advisory lock that orders the chain.
_CHAIN_LOCK_KEY = 0x5748_4152_465F_4155  # "WHARF_AU"


def _lock_chain() -> None:
    """Serialise appends so each row links to the one before it.

    PostgreSQL: a transaction-scoped advisory lock. SQLite already serialises
    writers (Wharf opens its transactions IMMEDIATE), so it needs nothing more.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


def record(
    action: AuditAction,
    *,
    actor: Actor,
    project: Any = None,
    target_type: str = "",
    target_name: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Call it inside the service's own `transaction.atomic()`.

    If the caller's transaction rolls back, the event goes with it, so the log
    never claims a change that did not happen.
    """
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            actor_kind=actor.kind,
            actor_name=actor.name[:150],
            actor_ip=actor.ip,
            action=action,
            project=project,
            project_name=getattr(project, "name", "") if project is not None else "",
            target_type=target_type,
            target_name=target_name[:255],
            details=details or {},
            request_id=actor.request_id,
            prev_hash=last or GENESIS_HASH,
        )
        event.hash = event.compute_hash()
        event.save(force_insert=True)
    return event


@dataclass(frozen=True)
class Entry:
    """One event for `record_many`: `record`'s arguments, minus the actor."""

    action: AuditAction
    project: Any = None
    target_type: str = ""
    target_name: str = ""
    details: dict[str, Any] | None = None


def record_many(entries: Iterable[Entry], *, actor: Actor) -> list[AuditEvent]:
    """Append several events by one actor in order: one lock, one read of the chain's end and
    one multi-row INSERT, however many. Call it inside the service's own `transaction.atomic()`,
    as `record`; each event links to the one before it exactly as if recorded one by one.
    """
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS_HASH
        events = []
        for entry in entries:
            event = AuditEvent(
                actor_kind=actor.kind,
                actor_name=actor.name[:150],
                actor_ip=actor.ip,
                action=entry.action,
                project=entry.project,
                project_name=getattr(entry.project, "name", "") if entry.project is not None else "",
                target_type=entry.target_type,
                target_name=entry.target_name[:255],
                details=entry.details or {},
                request_id=actor.request_id,
                prev_hash=last,
            )
            event.hash = last = event.compute_hash()
            events.append(event)
        # Rows get ascending ids in list order on both databases, so id order is chain order.
        # `insert`: bulk_create's rows without its per-value SQL compiler (a retention run
        # records an event per deletion on the thread that also feeds its workers).
        insert(events)
    return events


@dataclass(frozen=True)
class BrokenLink:
    """The first event whose hash or link does not match."""

    event_id: int
    reason: str


def verify_chain(batch_size: int = 2000) -> tuple[int, BrokenLink | None]:
    """Walk the chain in id order; return how many events were checked and the first break."""
    checked = 0
    expected_prev = GENESIS_HASH
    for event in _iter_events(batch_size):
        checked += 1
        if event.prev_hash != expected_prev:
            return checked, BrokenLink(
                event.pk, "its link does not match the previous event (an event was removed or inserted)"
            )
        if event.compute_hash() != event.hash:
            return checked, BrokenLink(event.pk, "its content does not match its hash (it was changed)")
        expected_prev = event.hash
    return checked, None


def _iter_events(batch_size: int) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        batch = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not batch:
            return
        yield from batch
        last_id = batch[-1].pk
