"""Garbage collection of Wharf's own registry: `docker-registry garbage-collect`.

Deleting a manifest frees no disk: its blobs stay until the collector runs. A
system admin asks for a run (`request_gc`, audited in the same transaction); a
worker claims it (`claim_gc`) and `execute_gc` runs the collector twice at most:
first with `--dry-run`, whose "blob eligible for deletion" lines name what would go
(their sizes are read from the storage directory before anything is removed), then,
for a real run, without it, parsing its "Deleting blob" lines. While it runs, the
token service grants no push or delete (`push_frozen()`), so no upload races the
sweep.

Refused, with nothing recorded: a config that is not Wharf's own (not the file
`registry_config` writes, not filesystem storage, or serving another address than
REGISTRY_URL), a GC already queued or running, a retention run queued or running.

A real run marks the recycle bin entries whose config or layer blobs it removed
(`recycle.mark_collected`) in the transaction that records its end; a dry run counts the
entries it would mark. `GcSchedule` (set on the GC page or `PUT /api/v1/gc-schedule/`,
audited) queues runs from the every-minute beat task (`due_gc`), like retention
schedules. The end of every run is sent to system webhooks subscribed to `gc.finished`.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record
from portal.stored_text import shown, stored
from webhooks import hooks

from ..models import GcRun, GcSchedule, RetentionRun
from . import recycle
from .retention import parse_schedule, schedule_matches

MAX_OUTPUT = 64 * 1024
PUSH_FREEZE_KEY = "wharf:gc:push-frozen"

_ELIGIBLE = re.compile(r"^blob eligible for deletion: (sha256:[0-9a-f]{64})\s*$", re.MULTILINE)
_DELETING = re.compile(r"Deleting blob: \S*/blobs/sha256/[0-9a-f]{2}/([0-9a-f]{64})\b")
_SUMMARY = re.compile(r"(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion")


class GcRefused(Exception):
    """A GC that must not start; `message` says why in the active language, for the page and
    the API; `stored` is the same for the run's record (English, shown in the reader's)."""

    def __init__(self, msgid: str, **params: Any) -> None:
        self.stored = stored(msgid, **params)
        self.message = shown(self.stored.text, self.stored.data)
        super().__init__(self.message)


@dataclass(frozen=True)
class RegistryStorage:
    """Wharf's own registry as its config describes it."""

    config: Path
    root: Path

    def blob_path(self, digest: str) -> Path:
        hex_digest = digest.split(":", 1)[-1]
        return self.root / "docker" / "registry" / "v2" / "blobs" / "sha256" / hex_digest[:2] / hex_digest / "data"


def wharf_registry() -> RegistryStorage:
    """The config of the registry Wharf runs, or `GcRefused` saying why it is not Wharf's own."""
    path = Path(settings.WHARF_REGISTRY_CONFIG)
    if not path.is_file():
        raise GcRefused(
            gettext_noop("No registry config at %(path)s: Wharf collects garbage only in the registry it runs itself (`manage.py registry_config`, started by `make run`). Run the collector where your registry runs."),
            path=str(path),
        )
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise GcRefused(
            gettext_noop("The registry config %(path)s cannot be read: %(exc)s"), path=str(path), exc=str(exc)
        ) from exc
    storage = config.get("storage") if isinstance(config, dict) else None
    filesystem = storage.get("filesystem") if isinstance(storage, dict) else None
    root = filesystem.get("rootdirectory") if isinstance(filesystem, dict) else None
    if not isinstance(root, str) or not Path(root).is_dir():
        raise GcRefused(
            gettext_noop("The registry config %(path)s has no filesystem storage directory: it is not Wharf's own."),
            path=str(path),
        )
    http = config.get("http") if isinstance(config, dict) else None
    addr = http.get("addr") if isinstance(http, dict) else None
    parts = urlsplit(settings.REGISTRY_URL)
    expected = f"{parts.hostname}:{parts.port or 80}"
    if addr != expected:
        raise GcRefused(
            gettext_noop("The registry config %(path)s serves %(addr)r, but Wharf talks to %(expected)r (REGISTRY_URL): it is not the config of Wharf's registry."),
            path=str(path),
            addr=addr if isinstance(addr, str) else str(addr),
            expected=expected,
        )
    return RegistryStorage(config=path, root=Path(root))


def push_frozen() -> bool:
    """Whether a garbage collection is sweeping now: the token service grants no push or delete."""
    return bool(cache.get(PUSH_FREEZE_KEY))


def active_gc() -> GcRun | None:
    return GcRun.objects.filter(status__in=GcRun.ACTIVE).first()


def _refuse_if_busy() -> None:
    if active_gc() is not None:
        raise GcRefused(gettext_noop("A garbage collection is already queued or running."))
    if RetentionRun.objects.filter(status__in=RetentionRun.ACTIVE).exists():
        raise GcRefused(gettext_noop("A retention run is queued or running: start the garbage collection when it has finished."))


def request_gc(
    *,
    actor: Actor,
    user: Any = None,
    dry_run: bool = True,
    delete_untagged: bool = False,
    trigger: str = GcRun.Trigger.MANUAL,
) -> GcRun:
    """Record a queued GC and its audit event, or raise `GcRefused`."""
    wharf_registry()
    try:
        with transaction.atomic():
            _refuse_if_busy()
            run = GcRun.objects.create(
                dry_run=dry_run,
                delete_untagged=delete_untagged,
                requested_by=user if user and user.pk else None,
                trigger=trigger,
            )
            record(
                AuditAction.GC_REQUEST,
                actor=actor,
                target_type="gc_run",
                target_name=str(run.pk),
                details={"dry_run": dry_run, "delete_untagged": delete_untagged, "trigger": trigger},
            )
    except IntegrityError as exc:  # another request won the race for the one active run
        raise GcRefused(gettext_noop("A garbage collection is already queued or running.")) from exc
    return run


def claim_gc(run_id: int) -> GcRun | None:
    """queued → running, for one worker only."""
    if not GcRun.objects.filter(pk=run_id, status=GcRun.Status.QUEUED).update(
        status=GcRun.Status.RUNNING, started_at=timezone.now()
    ):
        return None
    return GcRun.objects.get(pk=run_id)


@dataclass
class Collected:
    """What one run of the collector printed, parsed."""

    output: str
    marked: int = 0
    manifests: int = 0
    eligible: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def parse_output(output: str) -> Collected:
    """Parse `garbage-collect` output (stdout and stderr together)."""
    collected = Collected(output=output)
    summary = _SUMMARY.search(output)
    if summary:
        collected.marked, collected.manifests = int(summary.group(1)), int(summary.group(3))
    collected.eligible = _ELIGIBLE.findall(output)
    collected.deleted = [f"sha256:{hex_digest}" for hex_digest in _DELETING.findall(output)]
    return collected


def _collect(storage: RegistryStorage, *, dry_run: bool, delete_untagged: bool) -> Collected:
    args = [settings.WHARF_REGISTRY_BINARY, "garbage-collect", str(storage.config)]
    if dry_run:
        args.append("--dry-run")
    if delete_untagged:
        args.append("--delete-untagged")
    done = subprocess.run(  # noqa: S603  (fixed program, arguments from settings and booleans)
        args, capture_output=True, text=True, timeout=settings.WHARF_GC_TIMEOUT, check=False
    )
    collected = parse_output(done.stdout + "\n" + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"garbage-collect exited with {done.returncode}: {done.stderr.strip()[-2000:]}")
    return collected


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def execute_gc(run: GcRun) -> GcRun:
    """Run a claimed GC and record its result; never raises for a collector failure."""
    output = ""
    removed: set[str] = set()
    try:
        storage = wharf_registry()
        if RetentionRun.objects.filter(status=RetentionRun.Status.RUNNING).exists():
            raise GcRefused(gettext_noop("A retention run started meanwhile: not collecting while it deletes."))
        cache.set(PUSH_FREEZE_KEY, run.pk, timeout=settings.WHARF_GC_TIMEOUT * 2 + 60)
        try:
            plan = _collect(storage, dry_run=True, delete_untagged=run.delete_untagged)
            sizes = {digest: _size(storage.blob_path(digest)) for digest in plan.eligible}
            output = plan.output
            run.blobs_marked, run.manifests_removed = plan.marked, plan.manifests
            if run.dry_run:
                run.blobs_removed, run.bytes_removed = len(plan.eligible), sum(sizes.values())
                run.recycle_entries = len(recycle.collected_by_blobs(set(plan.eligible)))
            else:
                done = _collect(storage, dry_run=False, delete_untagged=run.delete_untagged)
                output = done.output
                gone = [d for d in done.deleted if not storage.blob_path(d).exists()]
                removed = set(gone)
                run.blobs_removed = len(gone)
                run.bytes_removed = sum(sizes.get(d, 0) for d in gone)
                run.blobs_marked, run.manifests_removed = done.marked, done.manifests
        finally:
            cache.delete(PUSH_FREEZE_KEY)
        run.status = GcRun.Status.SUCCEEDED
        run.message, run.message_i18n = "", {}
    except GcRefused as exc:
        run.status, run.message, run.message_i18n = GcRun.Status.FAILED, exc.stored.text, exc.stored.data
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:  # the collector's own words, verbatim
        run.status, run.message, run.message_i18n = GcRun.Status.FAILED, str(exc)[:4000], {}
    run.output = output[-MAX_OUTPUT:]
    run.finished_at = timezone.now()
    with transaction.atomic():
        if removed:  # a real run removed blobs: entries needing them can no longer come back
            run.recycle_entries = recycle.mark_collected(
                recycle.collected_by_blobs(removed), run=run, at=run.finished_at
            )
        run.save()
        record(
            AuditAction.GC_END,
            actor=Actor.system(),
            target_type="gc_run",
            target_name=str(run.pk),
            details={
                "status": run.status,
                "dry_run": run.dry_run,
                "blobs_removed": run.blobs_removed,
                "bytes_removed": run.bytes_removed,
                "recycle_entries": run.recycle_entries,
            },
        )
        hooks.gc_finished(run)
    return run


# --- schedule -----------------------------------------------------------------------------------


def gc_schedule() -> GcSchedule:
    """The one schedule row (unsaved defaults when never set)."""
    return GcSchedule.objects.filter(pk=1).first() or GcSchedule(pk=1)


def save_schedule(
    *,
    actor: Actor,
    user: Any = None,
    enabled: bool,
    schedule: str,
    dry_run: bool = False,
    delete_untagged: bool = False,
) -> GcSchedule:
    """Set the GC schedule, audited; `ValidationError` (field `schedule`) for a bad
    cron expression or an enabled schedule without one."""
    schedule = " ".join(schedule.split())
    if len(schedule) > 100:
        raise ValidationError({"schedule": [_("At most 100 characters.")]})
    if schedule:
        try:
            parse_schedule(schedule)
        except ValueError as exc:
            raise ValidationError({"schedule": [str(exc)]}) from exc
    elif enabled:
        raise ValidationError({"schedule": [_("Give a cron expression (e.g. `0 3 * * 0`) to enable the schedule.")]})
    with transaction.atomic():
        row = GcSchedule.objects.select_for_update().filter(pk=1).first() or GcSchedule(pk=1)
        before = {
            "enabled": row.enabled,
            "schedule": row.schedule,
            "dry_run": row.dry_run,
            "delete_untagged": row.delete_untagged,
        }
        row.enabled, row.schedule, row.dry_run, row.delete_untagged = enabled, schedule, dry_run, delete_untagged
        row.updated_by = user if user is not None and user.pk else None
        row.updated_at = timezone.now()
        row.save()
        after = {"enabled": enabled, "schedule": schedule, "dry_run": dry_run, "delete_untagged": delete_untagged}
        record(
            AuditAction.GC_SCHEDULE,
            actor=actor,
            target_type="gc_schedule",
            target_name="gc",
            details={"before": before, "after": after},
        )
    return row


def due_gc(now: Any = None) -> GcRun | None:
    """Queue the scheduled GC when its cron expression matches this minute (beat calls this
    every minute). Each minute is queued at most once; a due minute that cannot run (not
    Wharf's registry, a GC or retention run active) is skipped and the reason kept on the
    schedule for the page. Returns the new run."""
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    row = GcSchedule.objects.filter(pk=1, enabled=True).exclude(schedule="").first()
    if row is None or (row.last_scheduled_at is not None and row.last_scheduled_at >= now):
        return None
    try:
        if not schedule_matches(row.schedule, now):
            return None
    except ValueError:
        return None
    # Conditional: two beats (or a slow one) never queue the same minute twice.
    marked = (
        GcSchedule.objects.filter(pk=1)
        .filter(Q(last_scheduled_at__isnull=True) | Q(last_scheduled_at__lt=now))
        .update(last_scheduled_at=now)
    )
    if not marked:
        return None
    try:
        run = request_gc(
            actor=Actor.system("schedule"),
            dry_run=row.dry_run,
            delete_untagged=row.delete_untagged,
            trigger=GcRun.Trigger.SCHEDULE,
        )
    except GcRefused as exc:
        GcSchedule.objects.filter(pk=1).update(last_skipped_reason=f"{now:%Y-%m-%d %H:%M}: {exc.message}")
        return None
    GcSchedule.objects.filter(pk=1).update(last_skipped_reason="")
    return run
