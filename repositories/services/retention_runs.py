"""Retention runs: request → claim (conditional UPDATE) → execute → finish.

`execute_run` evaluates the policy once, writes one `RetentionRunItem` per artifact to
delete (and per artifact kept only for safety: protected, or the empty-repository
floor), and then, unless it is a dry run, deletes them one by one. A dry run stops
after writing the items, so its items are exactly what a real run on the same state
would try to delete (the same function builds both).

For each deletion, in this order:
1. Its tags are re-read from the registry (HEAD by tag): every tag must still point at
   the artifact's digest, and no tag unknown to the evaluation may point at it (one
   tag list per repository). Otherwise the item is `skipped_moved` and nothing is
   deleted: on Distribution 2.8 a delete by digest takes every tag on the digest.
   An artifact whose row left Wharf since the evaluation is skipped the same way.
2. The manifest bytes, tags and an index's children go into the recycle bin (committed).
3. DELETE by digest. A transient failure is retried (`WHARF_RETENTION_DELETE_ATTEMPTS`,
   pauses doubling from `WHARF_RETENTION_RETRY_SECONDS`); then the item is `failed`
   with the error, its recycle entry dropped. Other errors fail the item at once.
4. Only after the registry confirmed: Wharf's rows go, the item is `deleted`, audited.

Owners go before their dependents (index children, signatures); a dependent whose owner
was not deleted is `skipped_owner_kept`. An index's children are kept in its own
recycle entry. `stop_requested` is checked between items (run `stopped`). If the
registry stays unreachable, the run ends `failed` at once: the item being deleted is
`failed`, the rest `not_attempted`, and Wharf's rows are removed only for `deleted` items.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record

from .. import retention as engine
from ..models import Artifact, Project, RecycleBinEntry, Repository, RetentionPolicy, RetentionRun, Tag
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
        raise ValidationError("This project has no retention policy to run.", code="no_policy")
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
    RetentionRun.objects.filter(pk=run.pk, status=RetentionRun.Status.QUEUED).update(
        status=RetentionRun.Status.STOPPED, stop_requested=True, finished_at=now, message="Stopped before it started."
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


def _plan(run: RetentionRun, evaluation: engine.Evaluation) -> list[Item]:
    """Item rows: deletions (owners before dependents), then the artifacts kept for safety."""
    deleted = {(d.repository, d.digest): d for d in evaluation.deleted}

    def depth(decision: engine.ArtifactDecision) -> int:
        level, seen = 0, set()
        while decision.owner and (decision.repository, decision.owner) in deleted and decision.digest not in seen:
            seen.add(decision.digest)
            decision = deleted[(decision.repository, decision.owner)]
            level += 1
        return level

    names = _full_names(run.project)
    ordered = sorted(deleted.values(), key=lambda d: (d.repository, depth(d), d.digest))
    items = [
        Item(
            run=run,
            repository_name=names.get(d.repository, d.repository),
            digest=d.digest,
            tags=sorted(t.name for t in d.artifact.tags),
            action=Item.Action.DELETE,
            reason=d.reason,
            owner_digest=(d.owner or "") if d.code is engine.ReasonCode.OWNER_DELETED else "",
            owner_relation=d.relation if d.code is engine.ReasonCode.OWNER_DELETED else "",
            outcome=Item.Outcome.DRY_RUN if run.dry_run else Item.Outcome.PENDING,
        )
        for d in ordered
    ]
    safety = (engine.ReasonCode.PROTECTED, engine.ReasonCode.FLOOR)
    items += [
        Item(
            run=run,
            repository_name=names.get(d.repository, d.repository),
            digest=d.digest,
            tags=sorted(t.name for t in d.artifact.tags),
            action=Item.Action.SKIP,
            reason=d.reason,
            outcome=Item.Outcome.SKIPPED,
        )
        for d in evaluation.kept
        if d.code in safety
    ]
    return items


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
        items = Item.objects.bulk_create(_plan(run, evaluation))
        run.artifacts_evaluated = len(evaluation.artifacts)
        run.artifacts_kept = len(evaluation.kept)
        run.artifacts_planned = sum(1 for i in items if i.action == Item.Action.DELETE)
        run.artifacts_skipped = sum(1 for i in items if i.action == Item.Action.SKIP)
        run.save(update_fields=["artifacts_evaluated", "artifacts_kept", "artifacts_planned", "artifacts_skipped"])
        if run.dry_run:
            return _finish(run, RetentionRun.Status.SUCCEEDED, f"Dry run: {run.artifacts_planned} artifact(s) would be deleted.")
        status, message = _delete_all(run, [i for i in items if i.action == Item.Action.DELETE], client, sleep)
        return _finish(run, status, message)
    except engine.PolicyError as exc:
        return _finish(run, RetentionRun.Status.FAILED, f"The policy is invalid: {exc}")
    except Exception as exc:  # a bug must still end the run visibly, not leave it running
        log.exception("retention run %s crashed", run.pk)
        return _finish(run, RetentionRun.Status.FAILED, f"The run stopped on an internal error: {exc!r}")


def _delete_all(run: RetentionRun, items: list[Item], client: RegistryClient, sleep: Sleep) -> tuple[str, str]:
    by_repository: dict[str, list[Item]] = {}
    for item in items:
        by_repository.setdefault(item.repository_name, []).append(item)
    outcomes: dict[tuple[str, str], str] = {}
    try:
        for repository, repo_items in by_repository.items():
            try:
                _delete_repository(run, repository, repo_items, client, sleep, outcomes)
            finally:
                row = Repository.objects.filter(name=repository).first()
                if row is not None:
                    refresh_repository_counts(row)
    except RunAborted as exc:
        _leave_rest(run, f"Not attempted: {exc}")
        return RetentionRun.Status.FAILED, f"The registry could not be reached: {exc}. The run stopped there."
    except _Stopped:
        _leave_rest(run, "Not attempted: the run was stopped.")
        return RetentionRun.Status.STOPPED, "Stopped on request."
    run.refresh_from_db(fields=["artifacts_failed"])
    if run.artifacts_failed:
        return RetentionRun.Status.FAILED, f"{run.artifacts_failed} deletion(s) failed; see the items."
    return RetentionRun.Status.SUCCEEDED, ""


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


def _delete_repository(
    run: RetentionRun,
    repository: str,
    items: list[Item],
    client: RegistryClient,
    sleep: Sleep,
    outcomes: dict[tuple[str, str], str],
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
    for item in items:
        if RetentionRun.objects.filter(pk=run.pk, stop_requested=True).exists():
            raise _Stopped
        outcomes[(repository, item.digest)] = _delete_one(
            run, item, client, sleep, outcomes, added_onto.get(item.digest, [])
        )


def _delete_one(
    run: RetentionRun,
    item: Item,
    client: RegistryClient,
    sleep: Sleep,
    outcomes: dict[tuple[str, str], str],
    added_tags: list[str],
) -> str:
    repository = item.repository_name
    if item.owner_digest and outcomes.get((repository, item.owner_digest)) != Item.Outcome.DELETED:
        return _end(
            item, Item.Outcome.SKIPPED_OWNER_KEPT, f"its {item.owner_relation} {item.owner_digest} was not deleted"
        )
    if added_tags:
        names = ", ".join(f"`{t}`" for t in added_tags)
        return _end(item, Item.Outcome.SKIPPED_MOVED, f"tag(s) {names} were pushed onto it since the evaluation")
    entry: RecycleBinEntry | None = None
    try:
        moved = []
        for tag in item.tags:
            now_at = _retrying(partial(client.head_manifest, repository, tag), item, sleep)
            if now_at != item.digest:
                moved.append(f"`{tag}` ({'gone' if now_at is None else 'now ' + now_at})")
        if moved:
            return _end(item, Item.Outcome.SKIPPED_MOVED, f"tag(s) moved since the evaluation: {', '.join(moved)}")
        artifact = (
            Artifact.objects.select_related("repository__project")
            .filter(repository__name=repository, digest=item.digest)
            .first()
        )
        in_parent_entry = bool(item.owner_digest) and item.owner_relation == "parent"
        if artifact is None and not in_parent_entry:
            # Deleted (by hand or a sync) since the evaluation: nothing to keep, so do not delete.
            return _end(item, Item.Outcome.SKIPPED_MOVED, "no longer in Wharf since the evaluation")
        if artifact is not None and not in_parent_entry:
            tags = list(artifact.tags.all())
            entry = _retrying(
                lambda: recycle.keep(
                    artifact,
                    tags=tags,
                    kind=RecycleBinEntry.Kind.ARTIFACT,
                    source=RecycleBinEntry.Source.RETENTION,
                    actor=ACTOR,
                    run=run,
                    client=client,
                ),
                item,
                sleep,
            )
        _retrying(lambda: client.delete_manifest(repository, item.digest, missing_ok=True), item, sleep)
    except RunAborted as exc:
        recycle.discard(entry)
        _fail(item, str(exc))
        raise
    except RegistryError as exc:
        recycle.discard(entry)
        _fail(item, str(exc))
        return Item.Outcome.FAILED
    with transaction.atomic():
        Artifact.objects.filter(repository__name=repository, digest=item.digest).delete()
        item.outcome = Item.Outcome.DELETED
        item.finished_at = timezone.now()
        item.save(update_fields=["outcome", "attempts", "finished_at"])
        RetentionRun.objects.filter(pk=run.pk).update(
            artifacts_deleted=F("artifacts_deleted") + 1, tags_deleted=F("tags_deleted") + len(item.tags)
        )
        record(
            AuditAction.RETENTION_DELETE,
            actor=ACTOR,
            project=run.project,
            target_type="artifact",
            target_name=f"{repository}@{item.digest}",
            details={
                "run": run.pk,
                "tags": item.tags,
                "reason": item.reason,
                "recycle_bin_entry": entry.pk if entry else None,
            },
        )
    return Item.Outcome.DELETED


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


def _finish(run: RetentionRun, status: str, message: str) -> RetentionRun:
    counts = RetentionRun.objects.filter(pk=run.pk).values(
        "artifacts_deleted", "artifacts_skipped", "artifacts_failed", "tags_deleted"
    ).get()
    for key, value in counts.items():
        setattr(run, key, value)
    run.status = status
    run.finished_at = timezone.now()
    run.message = message or (
        f"{run.artifacts_deleted} artifact(s) and {run.tags_deleted} tag(s) deleted"
        + (f", {run.artifacts_skipped} skipped" if run.artifacts_skipped else "")
        + "."
    )
    with transaction.atomic():
        run.save(update_fields=["status", "finished_at", "message"])
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
    return run


def run_now(project: Project, actor: Actor, *, dry_run: bool, user: Any = None) -> RetentionRun:
    """Request, claim and execute a run in this process (commands, tests, benchmarks)."""
    run, _ = request_run(project, actor, dry_run=dry_run, user=user)
    claimed = claim_run(run.pk)
    if claimed is None:
        run.refresh_from_db()
        return run
    return execute_run(claimed)
