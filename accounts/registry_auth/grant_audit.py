"""Registry token grants, audited in aggregate: one event per principal, client address,
access set and minute, carrying how many tokens it stands for.

A CI job pulls and pushes many times a minute, each time asking for a token; a chained
audit row per token (an advisory lock, a read of the last hash and an insert, in a
transaction) cost more than minting the token, and serialised every request of the site
on one lock. Instead each process counts grants in memory under the key (minute,
principal, address, access set, project) and writes one `registry_token.granted` event
per key when its minute has closed, with `details.count` (the closing count),
`details.minute` and the first request's id. The events are ordinary chained rows,
written in one transaction per flush.

When the events are written: by the first token request this process serves after the
minute closed (it pays one insert per key of that minute), by `flush()` at process exit
(`atexit`), and at once when the pending keys exceed `MAX_PENDING` (so a flood of distinct
keys cannot grow memory). The trade-off, accepted: a process killed without exiting
(SIGKILL, OOM) loses the counts of its current minute; each of several processes writes
its own event for a key it served in a minute (their counts add up). Refusals are not
aggregated: each is an event of its own, written in the request (`views._refuse`).
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from .grants import GrantedAccess

MAX_PENDING = 5_000
TARGET_NAME_MAX = 255
log = logging.getLogger(__name__)

_clock = time.time  # tests move it


@dataclass(frozen=True)
class _Key:
    minute: int  # Unix time // 60
    actor_kind: str
    actor_name: str
    user_id: int | None
    ip: str | None
    access: tuple[tuple[str, str, tuple[str, ...]], ...]  # (type, name, actions), sorted
    project_id: int | None
    project_name: str


@dataclass
class _Tally:
    count: int
    request_id: str


_lock = threading.Lock()
_pending: dict[_Key, _Tally] = {}
_oldest_minute: int | None = None  # the earliest minute among the pending keys


def _key(actor: Actor, grants: Sequence[GrantedAccess], minute: int) -> _Key:
    projects = {(g.project_id, g.project_name) for g in grants if g.project_id is not None}
    # The event belongs to the project when there is one (the usual case: one repository).
    project_id, project_name = next(iter(projects)) if len(projects) == 1 else (None, "")
    access = tuple(sorted((g.access.type, g.access.name, g.access.actions) for g in grants))
    return _Key(minute, str(actor.kind), actor.name, actor.user_id, actor.ip, access, project_id, project_name)


def count_grant(actor: Actor, grants: Sequence[GrantedAccess]) -> None:
    """Count one token granting `grants` to `actor`; writes the closed minutes' events if due."""
    global _oldest_minute
    if not grants:
        return
    minute = int(_clock() // 60)
    key = _key(actor, grants, minute)
    with _lock:
        tally = _pending.get(key)
        if tally is None:
            _pending[key] = _Tally(1, actor.request_id)
        else:
            tally.count += 1
        if _oldest_minute is None or minute < _oldest_minute:
            _oldest_minute = minute
        overflowing = len(_pending) > MAX_PENDING
        closed = _oldest_minute < minute
    if overflowing:
        flush()
    elif closed:
        flush(before_minute=minute)


def _event(key: _Key, tally: _Tally) -> None:
    from repositories.models import Project

    project = Project(pk=key.project_id, name=key.project_name) if key.project_id is not None else None
    started = dt.datetime.fromtimestamp(key.minute * 60, dt.UTC)
    record(
        AuditAction.REGISTRY_TOKEN_GRANTED,
        actor=Actor(kind=key.actor_kind, name=key.actor_name, ip=key.ip, request_id=tally.request_id, user_id=key.user_id),
        project=project,
        target_type="registry_token",
        target_name=", ".join(name for _, name, _ in key.access)[:TARGET_NAME_MAX],
        details={
            "access": [{"type": type_, "name": name, "actions": list(actions)} for type_, name, actions in key.access],
            "count": tally.count,
            "minute": started.isoformat().replace("+00:00", "Z"),
        },
    )


def flush(before_minute: int | None = None) -> int:
    """Write the events of the minutes before `before_minute` (all pending when None);
    returns how many events were written. On a database error the counts are kept for
    the next flush, and the token request that triggered it is still answered."""
    global _oldest_minute
    with _lock:
        taken = {k: t for k, t in _pending.items() if before_minute is None or k.minute < before_minute}
        for key in taken:
            del _pending[key]
        _oldest_minute = min((k.minute for k in _pending), default=None)
    if not taken:
        return 0
    try:
        with transaction.atomic():
            for key, tally in sorted(taken.items(), key=lambda item: item[0].minute):
                _event(key, tally)
    except Exception:
        log.exception("could not write %d aggregated registry grant events; keeping them for the next flush", len(taken))
        with _lock:
            for key, tally in taken.items():
                current = _pending.setdefault(key, _Tally(0, tally.request_id))
                current.count += tally.count
            _oldest_minute = min((k.minute for k in _pending), default=None)
        return 0
    return len(taken)


def pending() -> dict[Any, int]:
    """The counts not yet written (tests, diagnostics)."""
    with _lock:
        return {key: tally.count for key, tally in _pending.items()}


def discard() -> None:
    """Drop what is pending without writing it (tests only)."""
    global _oldest_minute
    with _lock:
        _pending.clear()
        _oldest_minute = None


def _flush_at_exit() -> None:
    try:
        flush()
    except Exception:  # the process is going away; there is nobody left to tell but the log
        log.exception("could not write the pending registry grant events at exit")


atexit.register(_flush_at_exit)
