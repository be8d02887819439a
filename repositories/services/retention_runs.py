"""Retention runs: request → claim (conditional UPDATE) → execute → finish.

`execute_run` evaluates the policy once, writes one `RetentionRunItem` per artifact to
delete (and per artifact kept only for safety: protected, or the empty-repository
floor), and then, unless it is a dry run, deletes them. A dry run stops after writing
the items, so its items are exactly what a real run on the same state would try to
delete (the same function builds both).

Per repository, the tag list is read once: a tag unknown to the evaluation that points
at a planned digest saves that digest (`skipped_moved`: on Distribution 2.8 a delete by
digest takes every tag on it). The items are then done in chunks of
`WHARF_RETENTION_CHUNK_SIZE` (cut so an owner is always in an earlier chunk than its
dependents), each chunk so:
1. From Wharf's rows (two queries): a dependent whose owner was not deleted is
   `skipped_owner_kept`; an artifact whose row left Wharf since the evaluation is
   `skipped_moved`; for the rest the recycle-bin entries (manifest bytes, tags, an
   index's children) are built and committed in one INSERT, before any delete.
2. Up to `WHARF_RETENTION_CONCURRENCY` workers each take an item and, right before its
   DELETE, re-read its tags (HEAD by tag): every tag must still point at the item's
   digest, else it is `skipped_moved` and not deleted. Then DELETE by digest. Transient
   failures are retried (`WHARF_RETENTION_DELETE_ATTEMPTS`, pauses doubling from
   `WHARF_RETENTION_RETRY_SECONDS`); other errors fail the item. Workers touch no database.
3. One transaction records the chunk: Wharf's rows of what the registry deleted go, the
   entries of what was not deleted are dropped, the items and the run's counts are
   updated, and one audit event per deletion is appended (`record_many`).

`stop_requested` is checked between chunks (run `stopped`). If the registry stays
unreachable, the worker that saw it fails its item and the others start no new request;
the chunk is recorded as it stands (what was deleted keeps its entry, and so does an item
whose DELETE was sent but got no answer: the registry may have done it), the run ends
`failed` with the registry's error, and the rest are `not_attempted`. A crash between
steps 1 and 3 can leave an entry for an item that was not deleted; never the reverse.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from audit.context import Actor
from audit.models import AuditAction
from audit.services import Entry as AuditEntry
from audit.services import record, record_many
from portal import metrics
from portal.stored_text import Stored, stored
from webhooks import hooks as webhook_hooks

from .. import retention as engine
from ..models import Artifact, GcRun, Project, RecycleBinEntry, Repository, RetentionPolicy, RetentionRun, Tag
from ..models import RetentionRunItem as Item
from ..registry import RegistryClient, RegistryError
from . import recycle
from .content import refresh_repository_counts
from .registry import registry_client
from .retention import (
    candidates_for,
    immutable_data,
    immutable_rules_for,
    parse_policy,
    repository_path,
    schedule_matches,
    uses_labels,
)
from .retention_defaults import run_snapshot

log = logging.getLogger(__name__)

ACTOR = Actor.system("retention")
Sleep = Callable[[float], None]


class RunAborted(Exception):
    """The registry stayed unreachable: end the run as failed."""


class _Stopped(Exception):
    """A stop was requested between two deletions."""


# --- requesting and claiming --------------------------------------------------------------------


@transaction.atomic
def request_run(
    project: Project, actor: Actor, *, dry_run: bool, trigger: str = RetentionRun.Trigger.USER, user: Any = None
) -> tuple[RetentionRun, bool]:
    """Queue a run of the project's saved policy, or return the one already queued or running.

    Returns (run, created); the caller enqueues a new run's task after commit
    (`repositories.tasks.enqueue_retention`). `ValidationError` when there is no policy.
    """
    Project.objects.select_for_update().filter(pk=project.pk).first()  # one request at a time per project
    existing = RetentionRun.objects.filter(project=project, status__in=RetentionRun.ACTIVE).first()
    if existing is not None:
        return existing, False
    snapshot = run_snapshot(project)  # its own policy, else the system default (with its origin)
    if snapshot is None:
        raise ValidationError(gettext("This project has no retention policy to run."), code="no_policy")
    run = RetentionRun.objects.create(
        project=project,
        policy=snapshot,
        dry_run=dry_run,
        trigger=trigger,
        requested_by=user if getattr(user, "pk", None) else None,
    )
    return run, True


def claim_run(run_id: int) -> RetentionRun | None:
    """Move a queued run to running; None if another worker has it (or it is gone or stopped)."""
    claimed = RetentionRun.objects.filter(pk=run_id, status=RetentionRun.Status.QUEUED).update(
        status=RetentionRun.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    return RetentionRun.objects.select_related("project").get(pk=run_id)


def request_stop(run: RetentionRun) -> RetentionRun:
    """Ask a run to stop: a queued one stops at once, a running one before its next deletion."""
    now = timezone.now()
    message = stored(gettext_noop("Stopped before it started."))
    RetentionRun.objects.filter(pk=run.pk, status=RetentionRun.Status.QUEUED).update(
        status=RetentionRun.Status.STOPPED,
        stop_requested=True,
        finished_at=now,
        message=message.text,
        message_i18n=message.data,
    )
    RetentionRun.objects.filter(pk=run.pk, status=RetentionRun.Status.RUNNING).update(stop_requested=True)
    run.refresh_from_db()
    return run


def due_runs(now: datetime | None = None) -> list[RetentionRun]:
    """Queue a run for each enabled, scheduled policy due in this minute (beat calls this every
    minute). A policy is queued at most once per minute; a minute the beat missed is not
    caught up (the next matching minute runs). Returns the new runs."""
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    created: list[RetentionRun] = []
    policies = RetentionPolicy.objects.select_related("project").filter(enabled=True).exclude(schedule="")
    for policy in policies.filter(Q(last_scheduled_at__isnull=True) | Q(last_scheduled_at__lt=now)):
        try:
            due = schedule_matches(policy.schedule, now)
        except ValueError:  # saved before a validation change; the page shows the error
            log.warning("retention schedule of %s is invalid: %r", policy.project, policy.schedule)
            continue
        if not due:
            continue
        with transaction.atomic():
            # Conditional: two beats (or a slow one) never queue the same minute twice.
            marked = RetentionPolicy.objects.filter(pk=policy.pk).filter(
                Q(last_scheduled_at__isnull=True) | Q(last_scheduled_at__lt=now)
            ).update(last_scheduled_at=now)
            if not marked:
                continue
            run, new = request_run(
                policy.project, Actor.system("schedule"), dry_run=False, trigger=RetentionRun.Trigger.SCHEDULE
            )
            if new:
                created.append(run)
    return created


# --- evaluation ---------------------------------------------------------------------------------


def evaluate_for_run(run: RetentionRun) -> engine.Evaluation:
    """Evaluate the run's policy snapshot against the project as Wharf knows it now, with the
    immutable rules in force now (recorded on the run)."""
    policy, problems = parse_policy(run.policy)
    if problems:
        raise engine.PolicyError(problems)
    run.policy = {**run.policy, "immutable": immutable_data(run.project)}
    RetentionRun.objects.filter(pk=run.pk).update(policy=run.policy)
    return engine.evaluate(
        policy,
        candidates_for(run.project, with_labels=uses_labels(policy)),
        now=timezone.now(),
        immutable_rules=immutable_rules_for(run.project),
    )


# The item columns a plan writes, in order (the rest take their defaults: no error, no attempt yet).
_PLAN_COLUMNS = (
    "run", "repository_name", "digest", "tags", "action", "reason", "reason_code", "reason_params",
    "owner_digest", "owner_relation", "outcome", "error", "attempts",
)


def _plan(run: RetentionRun, evaluation: engine.Evaluation) -> list[tuple[Any, ...]]:
    """Item rows (`_PLAN_COLUMNS`): deletions (owners before dependents), then the artifacts
    kept for safety. Plain tuples, not model instances: a plan can have 100,000 rows."""
    deleted = {(d.repository, d.digest): d for d in evaluation.deleted}

    def depth(decision: engine.ArtifactDecision) -> int:
        level, seen = 0, set()
        while decision.owner and (decision.repository, decision.owner) in deleted and decision.digest not in seen:
            seen.add(decision.digest)
            decision = deleted[(decision.repository, decision.owner)]
            level += 1
        return level

    names = _full_names(run.project)
    outcome = Item.Outcome.DRY_RUN if run.dry_run else Item.Outcome.PENDING
    ordered = sorted(deleted.values(), key=lambda d: (d.repository, depth(d) if d.owner else 0, d.digest))
    rows: list[tuple[Any, ...]] = []
    for d in ordered:
        dependent = d.code is engine.ReasonCode.OWNER_DELETED
        rows.append(
            (
                run.pk,
                names.get(d.repository, d.repository),
                d.digest,
                sorted(t.name for t in d.artifact.tags),
                Item.Action.DELETE.value,
                english_reason(d),
                d.code.value,
                d.reason_params(),
                (d.owner or "") if dependent else "",
                d.relation if dependent else "",
                outcome.value,
                "",
                0,
            )
        )
    safety = (engine.ReasonCode.PROTECTED, engine.ReasonCode.FLOOR)
    for d in evaluation.kept:
        if d.code in safety:
            rows.append(
                (
                    run.pk,
                    names.get(d.repository, d.repository),
                    d.digest,
                    sorted(t.name for t in d.artifact.tags),
                    Item.Action.SKIP.value,
                    english_reason(d),
                    d.code.value,
                    d.reason_params(),
                    "",
                    "",
                    Item.Outcome.SKIPPED.value,
                    "",
                    0,
                )
            )
    return rows


def english_reason(decision: engine.ArtifactDecision) -> str:
    """The reason in English, whatever language is active (a run started from a request):
    the item's `reason` column and its audit events keep one language."""
    with translation.override("en"):
        return decision.reason


def _write_plan(rows: list[tuple[Any, ...]]) -> None:
    """Insert the plan's item rows in order (so ids follow the plan): COPY on PostgreSQL, one
    prepared INSERT run for every row elsewhere. Far cheaper than `bulk_create` of instances."""
    if not rows:
        return
    table = connection.ops.quote_name(Item._meta.db_table)
    column_of = {field.name: field.column for field in Item._meta.concrete_fields}
    columns = ", ".join(connection.ops.quote_name(column_of[name]) for name in _PLAN_COLUMNS)
    json_at = (_PLAN_COLUMNS.index("tags"), _PLAN_COLUMNS.index("reason_params"))
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
            for row in rows:
                writer.writerow([json.dumps(v) if i in json_at else v for i, v in enumerate(row)])
            buffer.seek(0)
            cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)
        else:
            marks = ", ".join(["%s"] * len(_PLAN_COLUMNS))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})",  # noqa: S608 (names from the model)
                [tuple(json.dumps(v) if i in json_at else v for i, v in enumerate(row)) for row in rows],
            )


def _full_names(project: Project) -> dict[str, str]:
    names = Repository.objects.filter(project=project).values_list("name", flat=True)
    return {repository_path(project, name): name for name in names}


# --- execution ----------------------------------------------------------------------------------


def execute_run(run: RetentionRun, client: RegistryClient | None = None, *, sleep: Sleep = time.sleep) -> RetentionRun:
    """Run a claimed run to its end (see the module docstring); never leaves it running."""
    client = client or registry_client()
    with transaction.atomic():
        record(
            AuditAction.RETENTION_RUN_START,
            actor=ACTOR,
            project=run.project,
            target_type="retention_run",
            target_name=f"{run.project.name} #{run.pk}",
            details={"run": run.pk, "dry_run": run.dry_run, "trigger": run.trigger},
        )
    try:
        evaluation = evaluate_for_run(run)
        rows = _plan(run, evaluation)
        _write_plan(rows)
        run.artifacts_evaluated = len(evaluation.artifacts)
        run.artifacts_kept = len(evaluation.kept)
        run.artifacts_planned = sum(1 for r in rows if r[4] == Item.Action.DELETE)
        run.artifacts_skipped = len(rows) - run.artifacts_planned
        run.save(update_fields=["artifacts_evaluated", "artifacts_kept", "artifacts_planned", "artifacts_skipped"])
        if run.dry_run:
            return _finish(
                run,
                RetentionRun.Status.SUCCEEDED,
                stored(gettext_noop("Dry run: %(count)s artifact(s) would be deleted."), count=run.artifacts_planned),
            )
        if GcRun.objects.filter(status__in=GcRun.ACTIVE).exists():
            # Deleting beside a sweep could leave the recycle bin promising blobs the sweep removes.
            return _finish(
                run,
                RetentionRun.Status.FAILED,
                stored(gettext_noop("A garbage collection is queued or running: nothing was deleted.")),
            )
        # The plan in its order (ids follow it), as model rows for the per-chunk updates.
        items = list(Item.objects.filter(run=run, action=Item.Action.DELETE).order_by("id"))
        status, message = _delete_all(run, items, client, sleep)
        return _finish(run, status, message)
    except engine.PolicyError as exc:
        return _finish(run, RetentionRun.Status.FAILED, stored(gettext_noop("The policy is invalid: %(detail)s"), detail=str(exc)))
    except Exception as exc:  # a bug must still end the run visibly, not leave it running
        log.exception("retention run %s crashed", run.pk)
        _leave_rest(run, "Not attempted: the run stopped on an internal error.")
        return _finish(
            run,
            RetentionRun.Status.FAILED,
            stored(gettext_noop("The run stopped on an internal error: %(detail)s"), detail=repr(exc)),
        )


def _delete_all(
    run: RetentionRun, items: list[Item], client: RegistryClient, sleep: Sleep
) -> tuple[str, Stored | None]:
    by_repository: dict[str, list[Item]] = {}
    for item in items:
        by_repository.setdefault(item.repository_name, []).append(item)
    outcomes: dict[tuple[str, str], str] = {}
    workers = max(1, settings.WHARF_RETENTION_CONCURRENCY)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="retention") if workers > 1 else None
    try:
        for repository, repo_items in by_repository.items():
            try:
                _delete_repository(run, repository, repo_items, client, sleep, outcomes, pool)
            finally:
                row = Repository.objects.filter(name=repository).first()
                if row is not None:
                    refresh_repository_counts(row)
    except RunAborted as exc:
        _leave_rest(run, f"Not attempted: {exc}")
        return RetentionRun.Status.FAILED, stored(
            gettext_noop("The registry could not be reached: %(detail)s. The run stopped there."), detail=str(exc)
        )
    except _Stopped:
        _leave_rest(run, "Not attempted: the run was stopped.")
        return RetentionRun.Status.STOPPED, stored(gettext_noop("Stopped on request."))
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    run.refresh_from_db(fields=["artifacts_failed"])
    if run.artifacts_failed:
        return RetentionRun.Status.FAILED, stored(
            gettext_noop("%(count)s deletion(s) failed; see the items."), count=run.artifacts_failed
        )
    return RetentionRun.Status.SUCCEEDED, None


def _leave_rest(run: RetentionRun, message: str) -> None:
    Item.objects.filter(run=run, outcome=Item.Outcome.PENDING).update(
        outcome=Item.Outcome.NOT_ATTEMPTED, error=message, finished_at=timezone.now()
    )


def _retrying(call: Callable[[], Any], item: Item, sleep: Sleep) -> Any:
    """`call()`, retried on transient registry errors; `RunAborted` when they persist."""
    attempts = max(1, settings.WHARF_RETENTION_DELETE_ATTEMPTS)
    for attempt in range(attempts):
        item.attempts += 1
        try:
            return call()
        except RegistryError as exc:
            if not exc.transient:
                raise
            if attempt == attempts - 1:
                raise RunAborted(str(exc)) from exc
            sleep(settings.WHARF_RETENTION_RETRY_SECONDS * (2**attempt))
    raise AssertionError("unreachable")


def _chunks(items: list[Item], size: int) -> Iterator[list[Item]]:
    """Consecutive chunks of at most `size` items, cut before any item whose owner is in the
    chunk so far: an owner's outcome is known before its dependents are attempted."""
    chunk: list[Item] = []
    digests: set[str] = set()
    for item in items:
        if len(chunk) >= size or (item.owner_digest and item.owner_digest in digests):
            yield chunk
            chunk, digests = [], set()
        chunk.append(item)
        digests.add(item.digest)
    if chunk:
        yield chunk


def _delete_repository(
    run: RetentionRun,
    repository: str,
    items: list[Item],
    client: RegistryClient,
    sleep: Sleep,
    outcomes: dict[tuple[str, str], str],
    pool: ThreadPoolExecutor | None,
) -> None:
    planned = {item.digest for item in items}
    known_tags = set(Tag.objects.filter(repository__name=repository).values_list("name", flat=True))
    # Tags pushed since the evaluation: deleting by digest would take them too.
    added_onto: dict[str, list[str]] = {}
    try:
        current = _retrying(partial(client.tags, repository), items[0], sleep)
        for tag in sorted(set(current) - known_tags):
            digest = _retrying(partial(client.head_manifest, repository, tag), items[0], sleep)
            if digest in planned:
                added_onto.setdefault(digest, []).append(tag)
    except RunAborted as exc:
        _fail(items[0], f"listing the tags of {repository}: {exc}")
        raise
    except RegistryError as exc:
        if not (exc.status == 404 and exc.code == "NAME_UNKNOWN"):
            for item in items:
                _fail(item, f"listing the tags of {repository}: {exc}")
            return
    for chunk in _chunks(items, max(1, settings.WHARF_RETENTION_CHUNK_SIZE)):
        if RetentionRun.objects.filter(pk=run.pk, stop_requested=True).exists():
            raise _Stopped
        _delete_chunk(run, repository, chunk, client, sleep, outcomes, added_onto, pool)


def _finished(item: Item, outcome: str, error: str = "") -> None:
    item.outcome = outcome
    item.error = error
    item.finished_at = timezone.now()


def _recycle_entries(
    run: RetentionRun, repository: str, chunk: list[Item], client: RegistryClient, sleep: Sleep
) -> dict[str, RecycleBinEntry | None]:
    """Decide, from Wharf's rows, which items may go on to the registry, and build their recycle
    entries (unsaved): digest → entry, or None for an index child (its parent's entry holds it).
    Items that may not go on are finished here (owner kept, no longer in Wharf)."""
    artifacts = {
        a.digest: a
        for a in Artifact.objects.select_related("repository__project").filter(
            repository__name=repository, digest__in=[i.digest for i in chunk]
        )
    }
    tags_of: dict[int, dict[str, datetime]] = {}
    rows = Tag.objects.filter(artifact__in=[a.pk for a in artifacts.values()]).values_list(
        "artifact_id", "name", "pushed_at"
    )
    for artifact_id, name, pushed_at in rows:
        tags_of.setdefault(artifact_id, {})[name] = pushed_at
    entries: dict[str, RecycleBinEntry | None] = {}
    for item in chunk:
        artifact = artifacts.get(item.digest)
        in_parent_entry = bool(item.owner_digest) and item.owner_relation == "parent"
        if in_parent_entry:
            entries[item.digest] = None
        elif artifact is None:
            # Deleted (by hand or a sync) since the evaluation: nothing to keep, so do not delete.
            _finished(item, Item.Outcome.SKIPPED_MOVED, "no longer in Wharf since the evaluation")
        else:
            build = partial(
                recycle.entry_for,
                artifact,
                tags=tags_of.get(artifact.pk, {}),
                kind=RecycleBinEntry.Kind.ARTIFACT,
                source=RecycleBinEntry.Source.RETENTION,
                actor=ACTOR,
                run=run,
                client=client,
            )
            try:
                # Stored bytes (the usual case) need no request, so they count no attempt.
                entries[item.digest] = build() if artifact.manifest else _retrying(build, item, sleep)
            except RegistryError as exc:
                _finished(item, Item.Outcome.FAILED, str(exc))
    return entries


def _attempt(
    item: Item, client: RegistryClient, sleep: Sleep, abort: threading.Event, reasons: list[str], uncertain: set[str]
) -> None:
    """Re-check the item's tags and delete it: runs in a worker thread, touches no database.

    Sets `item`'s outcome; leaves it pending when the run is aborting (a fault elsewhere)."""
    if abort.is_set():
        return
    repository = item.repository_name
    deleting = unanswered = False

    def delete() -> bool:
        nonlocal unanswered
        try:
            return client.delete_manifest(repository, item.digest, missing_ok=True)
        except RegistryError as exc:
            unanswered = unanswered or exc.may_have_happened  # any attempt, not only the last
            raise

    try:
        moved = []
        for tag in item.tags:
            now_at = _retrying(partial(client.head_manifest, repository, tag), item, sleep)
            if now_at != item.digest:
                moved.append(f"`{tag}` ({'gone' if now_at is None else 'now ' + now_at})")
        if moved:
            _finished(item, Item.Outcome.SKIPPED_MOVED, f"tag(s) moved since the evaluation: {', '.join(moved)}")
            return
        if abort.is_set():
            return
        deleting = True
        _retrying(delete, item, sleep)
    except RunAborted as exc:
        abort.set()
        reasons.append(str(exc))
        _failed_attempt(item, str(exc), uncertain if deleting and unanswered else None)
        return
    except RegistryError as exc:
        _failed_attempt(item, str(exc), uncertain if deleting and unanswered else None)
        return
    _finished(item, Item.Outcome.DELETED)


def _failed_attempt(item: Item, error: str, uncertain: set[str] | None) -> None:
    """Fail an item. `uncertain` is given when its DELETE was sent and no answer came back (the
    connection broke, the registry stopped mid-request): the registry may have deleted it after
    all, so its digest joins `uncertain` and its recycle-bin entry is kept for a restore."""
    if uncertain is not None:
        uncertain.add(item.digest)  # set.add is atomic under the GIL: workers share it
        error += (
            " The DELETE got no answer, so the registry may have deleted it: its recycle-bin entry"
            " is kept (restoring an artifact the registry still has changes nothing)."
        )
    _finished(item, Item.Outcome.FAILED, error)


def _delete_chunk(
    run: RetentionRun,
    repository: str,
    chunk: list[Item],
    client: RegistryClient,
    sleep: Sleep,
    outcomes: dict[tuple[str, str], str],
    added_onto: dict[str, list[str]],
    pool: ThreadPoolExecutor | None,
) -> None:
    """One chunk: decide what needs no registry call, commit the recycle entries, re-check and
    delete concurrently, then record every outcome in one transaction."""
    todo: list[Item] = []
    for item in chunk:
        if item.owner_digest and outcomes.get((repository, item.owner_digest)) != Item.Outcome.DELETED:
            _finished(item, Item.Outcome.SKIPPED_OWNER_KEPT, f"its {item.owner_relation} {item.owner_digest} was not deleted")
        elif item.digest in added_onto:
            names = ", ".join(f"`{t}`" for t in added_onto[item.digest])
            _finished(item, Item.Outcome.SKIPPED_MOVED, f"tag(s) {names} were pushed onto it since the evaluation")
        else:
            todo.append(item)
    abort = threading.Event()
    reasons: list[str] = []
    uncertain: set[str] = set()
    try:
        entries = _recycle_entries(run, repository, todo, client, sleep) if todo else {}
    except RunAborted as exc:  # the registry failed while reading a manifest Wharf had not stored
        entries, reasons = {}, [str(exc)]
        abort.set()
    todo = [item for item in todo if item.digest in entries]
    # Committed before any of their deletes: a crash from here on loses no entry.
    stored = [entry for entry in entries.values() if entry is not None]
    with transaction.atomic():
        RecycleBinEntry.objects.bulk_create(stored)
    try:
        if pool is None:
            for item in todo:
                _attempt(item, client, sleep, abort, reasons, uncertain)
        else:
            futures = [pool.submit(_attempt, item, client, sleep, abort, reasons, uncertain) for item in todo]
            wait(futures)
            for future in futures:
                future.result()  # a bug in a worker surfaces here, after every worker is done
    finally:
        # Whatever happened, what the registry confirmed is recorded.
        _record_chunk(run, repository, chunk, entries, uncertain)
    for item in chunk:
        outcomes[(repository, item.digest)] = item.outcome
    if reasons:
        raise RunAborted(reasons[0])


def _record_chunk(
    run: RetentionRun,
    repository: str,
    chunk: list[Item],
    entries: dict[str, RecycleBinEntry | None],
    uncertain: set[str],
) -> None:
    """Every outcome of a chunk in one transaction: Wharf's rows of what the registry deleted,
    the item rows, the run's counts, one audit event per deletion; entries of what was surely
    not deleted are dropped (an `uncertain` DELETE keeps its entry)."""
    deleted = [item for item in chunk if item.outcome == Item.Outcome.DELETED]
    gone = {item.digest for item in deleted}
    counts = Counter(item.outcome for item in chunk)
    skipped = counts[Item.Outcome.SKIPPED_MOVED] + counts[Item.Outcome.SKIPPED_OWNER_KEPT]
    unused = [
        entry.pk
        for digest, entry in entries.items()
        if entry is not None and entry.pk and digest not in gone and digest not in uncertain
    ]
    with transaction.atomic():
        if unused:
            RecycleBinEntry.objects.filter(pk__in=unused).delete()
        if deleted:
            Artifact.objects.filter(repository__name=repository, digest__in=[i.digest for i in deleted]).delete()
        Item.objects.bulk_update(chunk, ["outcome", "error", "attempts", "finished_at"])
        RetentionRun.objects.filter(pk=run.pk).update(
            artifacts_deleted=F("artifacts_deleted") + len(deleted),
            tags_deleted=F("tags_deleted") + sum(len(item.tags) for item in deleted),
            artifacts_skipped=F("artifacts_skipped") + skipped,
            artifacts_failed=F("artifacts_failed") + counts[Item.Outcome.FAILED],
        )
        if deleted:
            record_many(
                (
                    AuditEntry(
                        AuditAction.RETENTION_DELETE,
                        project=run.project,
                        target_type="artifact",
                        target_name=f"{repository}@{item.digest}",
                        details={
                            "run": run.pk,
                            "tags": item.tags,
                            "reason": item.reason,
                            "recycle_bin_entry": getattr(entries.get(item.digest), "pk", None),
                        },
                    )
                    for item in deleted
                ),
                actor=ACTOR,
            )


def _end(item: Item, outcome: str, error: str) -> str:
    item.outcome = outcome
    item.error = error
    item.finished_at = timezone.now()
    item.save(update_fields=["outcome", "error", "attempts", "finished_at"])
    if outcome != Item.Outcome.DELETED:
        field = "artifacts_failed" if outcome == Item.Outcome.FAILED else "artifacts_skipped"
        RetentionRun.objects.filter(pk=item.run_id).update(**{field: F(field) + 1})
    return outcome


def _fail(item: Item, error: str) -> str:
    return _end(item, Item.Outcome.FAILED, error)


def _finish(run: RetentionRun, status: str, message: Stored | None) -> RetentionRun:
    counts = RetentionRun.objects.filter(pk=run.pk).values(
        "artifacts_deleted", "artifacts_skipped", "artifacts_failed", "tags_deleted"
    ).get()
    for key, value in counts.items():
        setattr(run, key, value)
    run.status = status
    run.finished_at = timezone.now()
    if message is None:
        totals = {"artifacts": run.artifacts_deleted, "tags": run.tags_deleted, "skipped": run.artifacts_skipped}
        message = (
            stored(gettext_noop("%(artifacts)s artifact(s) and %(tags)s tag(s) deleted, %(skipped)s skipped."), **totals)
            if run.artifacts_skipped
            else stored(gettext_noop("%(artifacts)s artifact(s) and %(tags)s tag(s) deleted."), **totals)
        )
    run.message, run.message_i18n = message.text, message.data
    with transaction.atomic():
        run.save(update_fields=["status", "finished_at", "message", "message_i18n"])
        record(
            AuditAction.RETENTION_RUN_END,
            actor=ACTOR,
            project=run.project,
            target_type="retention_run",
            target_name=f"{run.project.name} #{run.pk}",
            details={
                "run": run.pk,
                "status": status,
                "dry_run": run.dry_run,
                "planned": run.artifacts_planned,
                "deleted": run.artifacts_deleted,
                "skipped": run.artifacts_skipped,
                "failed": run.artifacts_failed,
                "message": run.message,
            },
        )
        webhook_hooks.retention_finished(run)
    metrics.retention_finished(run)
    return run


def run_now(project: Project, actor: Actor, *, dry_run: bool, user: Any = None) -> RetentionRun:
    """Request, claim and execute a run in this process (commands, tests, benchmarks)."""
    run, _ = request_run(project, actor, dry_run=dry_run, user=user)
    claimed = claim_run(run.pk)
    if claimed is None:
        run.refresh_from_db()
        return run
    return execute_run(claimed)
