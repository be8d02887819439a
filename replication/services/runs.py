"""Replication runs: queue, claim, execute, finish; the schedule and the on-push trigger.

A run works in three steps:
1. **Candidates.** Push: Wharf's own rows (tags of repositories matching the rule's
   globs, with every label the rule names); pull: the endpoint's catalog and tag
   lists, read in the worker pool. Referrer tags (cosign `.sig`/`.att`/`.sbom`, the
   referrers tag schema) are not candidates of their own: they come with the digest
   they name. An on-push run has one candidate, the pushed tag (a pushed signature
   tag included).
2. **Copy**, in a bounded pool of threads (`rule.concurrency`, else
   `WHARF_REPLICATION_CONCURRENCY`) that touch no database: each tag through the
   `Copier` (HEAD first: a tag the destination has by digest is skipped; blobs the
   destination has are not sent; a rule that does not override keeps a destination
   tag pointing elsewhere). A failing item keeps its reason; the others go on.
   Push rules that `delete_remote` then delete remote tags Wharf no longer has.
3. **Record**, in one transaction: the items, the rows of what a pull brought into
   Wharf's registry, the run's counts and its audit event.

A rerun is a new run: what is at the destination is skipped by digest, so after a
remote failed half-way the rerun copies only what is missing.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record
from portal.stored_text import Stored, stored
from repositories.accessories import reference_tag_names
from repositories.globs import PatternKind, compile_glob
from repositories.models import Repository, Tag
from repositories.registry import RegistryClient, RegistryError
from repositories.retention.candidates import reference_subject
from repositories.services.registry import registry_client
from repositories.services.retention import schedule_matches
from webhooks import hooks as webhook_hooks

from .. import credentials
from ..copier import Copier, CopyStats
from ..models import ReplicationItem, ReplicationRule, ReplicationRun
from .endpoints import endpoint_client
from .placement import Placed, place

log = logging.getLogger(__name__)

MAX_REASON = 2000
Trigger = ReplicationRule.Trigger


@dataclass(frozen=True)
class Work:
    """One tag to copy."""

    source: str
    tag: str
    destination: str


@dataclass
class Outcome:
    work: Work
    status: str
    digest: str = ""
    reason: Stored = field(default_factory=lambda: Stored(""))
    stats: CopyStats = field(default_factory=CopyStats)
    placed: list[Placed] = field(default_factory=list)


class RunFailed(Exception):
    """The run cannot go on at all (the endpoint cannot be read, no credentials)."""

    def __init__(self, message: Stored) -> None:
        super().__init__(message.text)
        self.message = message


def destination_name(rule: ReplicationRule, source: str) -> str:
    """`acme/web` → `<namespace>/web` when the rule maps namespaces (`<namespace>/acme/web`
    when it does not replace the first component), else the same name."""
    if not rule.destination_namespace:
        return source
    if not rule.replace_namespace:
        return f"{rule.destination_namespace}/{source}"
    rest = source.split("/", 1)[1] if "/" in source else source
    return f"{rule.destination_namespace}/{rest}"


# --- queueing ----------------------------------------------------------------------------


def request_run(
    rule: ReplicationRule,
    *,
    actor: Actor,
    trigger: str = Trigger.MANUAL,
    only: dict[str, str] | None = None,
    enqueue: bool = True,
) -> tuple[ReplicationRun, bool]:
    """Queue a run (returns it and True), or return the rule's queued full run (False)
    so repeated clicks or schedule ticks do not pile up identical runs. The task is
    sent when the transaction commits (`enqueue=False`: the caller runs it itself)."""
    from ..tasks import run_replication

    with transaction.atomic():
        if not only:
            pending = rule.runs.filter(status=ReplicationRun.Status.QUEUED, only={}).first()
            if pending is not None:
                return pending, False
        run = ReplicationRun.objects.create(
            rule=rule, trigger=trigger, only=only or {}, requested_by_id=actor.user_id
        )
        record(
            AuditAction.REPLICATION_RUN_START,
            actor=actor,
            target_type="replication_rule",
            target_name=rule.name,
            details={
                "run": run.pk,
                "trigger": trigger,
                "direction": rule.direction,
                **({"only": only} if only else {}),
            },
        )
        if enqueue:
            transaction.on_commit(partial(run_replication.delay, run.pk))
    return run, True


def claim(run_id: int) -> ReplicationRun | None:
    """Mark a queued run running; None if another worker has it (or it is gone)."""
    claimed = ReplicationRun.objects.filter(pk=run_id, status=ReplicationRun.Status.QUEUED).update(
        status=ReplicationRun.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    return ReplicationRun.objects.select_related("rule__endpoint").get(pk=run_id)


def due_runs(now: datetime | None = None) -> list[ReplicationRun]:
    """Queue a run of each enabled scheduled rule due this minute (beat calls this every minute)."""
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    created: list[ReplicationRun] = []
    rules = ReplicationRule.objects.filter(enabled=True, trigger=Trigger.SCHEDULED).exclude(schedule="")
    for rule in rules.filter(Q(last_scheduled_at__isnull=True) | Q(last_scheduled_at__lt=now)):
        try:
            if not schedule_matches(rule.schedule, now):
                continue
        except ValueError:
            log.warning("replication schedule of %s is invalid: %r", rule.name, rule.schedule)
            continue
        marked = (
            ReplicationRule.objects.filter(pk=rule.pk)
            .filter(Q(last_scheduled_at__isnull=True) | Q(last_scheduled_at__lt=now))
            .update(last_scheduled_at=now)
        )
        if marked:
            run, new = request_run(rule, actor=Actor.system("schedule"), trigger=Trigger.SCHEDULED)
            if new:
                created.append(run)
    return created


def pushed(repository: str, tag: str) -> list[ReplicationRun]:
    """The on-push trigger: a tag was pushed to Wharf's registry (the notification
    handler calls this in its transaction); queue a run of each enabled on-push rule
    whose globs match it. Labels are checked by the run (they may come later)."""
    runs: list[ReplicationRun] = []
    rules = ReplicationRule.objects.filter(enabled=True, trigger=Trigger.ON_PUSH, direction="push")
    for rule in rules.select_related("endpoint"):
        if not compile_glob(rule.repositories, PatternKind.REPOSITORY).matches(repository):
            continue
        subject = reference_subject(tag)
        if subject is None and not compile_glob(rule.tags, PatternKind.TAG).matches(tag):
            continue
        run, _ = request_run(
            rule,
            actor=Actor.system("replication"),
            trigger=Trigger.ON_PUSH,
            only={"repository": repository, "tag": tag},
        )
        runs.append(run)
    return runs


# --- candidates ---------------------------------------------------------------------------


def _is_reference(tag: str) -> bool:
    return reference_subject(tag) is not None


def push_candidates(rule: ReplicationRule, only: dict[str, str]) -> tuple[list[Work], dict[str, set[str]]]:
    """The tags to push, from Wharf's rows, and each repository's referrer tags."""
    repos = Repository.objects.filter(
        **compile_glob(rule.repositories, PatternKind.REPOSITORY).lookups("name")
    )
    tags = Tag.objects.filter(repository__in=repos)
    if only:
        tags = tags.filter(repository__name=only.get("repository", ""), name=only.get("tag", ""))
    rows = list(tags.values_list("repository__name", "name", "artifact_id"))
    if rule.labels:
        labelled = Tag.objects.filter(pk__in=tags.values("pk"))
        for name in rule.labels:
            labelled = labelled.filter(artifact__label_links__label__name=name)
        keep = set(labelled.values_list("artifact_id", flat=True))
        rows = [row for row in rows if row[2] in keep or (only and _is_reference(row[1]))]
    tag_glob = compile_glob(rule.tags, PatternKind.TAG)
    work = [
        Work(repo, tag, destination_name(rule, repo))
        for repo, tag, _ in rows
        if (only and _is_reference(tag)) or (not _is_reference(tag) and tag_glob.matches(tag))
    ]
    names = {w.source for w in work}
    references: dict[str, set[str]] = defaultdict(set)
    for repo, tag in Tag.objects.filter(repository__name__in=names).values_list("repository__name", "name"):
        if _is_reference(tag):
            references[repo].add(tag)
    return sorted(work, key=lambda w: (w.source, w.tag)), references


def pull_candidates(
    rule: ReplicationRule, remote: RegistryClient, pool: ThreadPoolExecutor
) -> tuple[list[Work], dict[str, set[str]]]:
    """The tags to pull, from the endpoint's catalog and tag lists (read in the pool)."""
    repo_glob = compile_glob(rule.repositories, PatternKind.REPOSITORY)
    tag_glob = compile_glob(rule.tags, PatternKind.TAG)
    names = [name for name in remote.iter_catalog(page_size=1000) if repo_glob.matches(name)]
    work: list[Work] = []
    references: dict[str, set[str]] = {}
    for name, tags in zip(names, pool.map(remote.tags, names), strict=True):
        references[name] = {t for t in tags if _is_reference(t)}
        work += [
            Work(name, t, destination_name(rule, name))
            for t in tags
            if not _is_reference(t) and tag_glob.matches(t)
        ]
    return work, references


# --- copying (worker threads: no database) --------------------------------------------------


def copy_one(copier: Copier, rule: ReplicationRule, work: Work, references: Iterable[str]) -> Outcome:
    """Copy one tag and the referrer tags naming its digest; never raises a RegistryError."""
    outcome = Outcome(work, ReplicationItem.Status.COPIED)
    try:
        if not rule.override:
            there = copier.target.head_manifest(work.destination, work.tag)
            here = copier.source.head_manifest(work.source, work.tag)
            if there is not None and there != here:
                outcome.status = ReplicationItem.Status.SKIPPED
                outcome.digest = here or ""
                outcome.reason = stored(
                    gettext_noop("The destination's tag points at %(digest)s; the rule keeps existing tags."),
                    digest=there,
                )
                return outcome
        copied = copier.copy(work.source, work.tag, work.destination, work.tag)
        outcome.digest = copied.digest
        outcome.stats.add(copied.stats)
        outcome.placed.append(Placed(copied.digest, work.tag))
        all_present = copied.present
        available = set(references)
        for name in reference_tag_names(copied.digest):
            if name in available and name != work.tag:
                referrer = copier.copy(work.source, name, work.destination, name)
                outcome.stats.add(referrer.stats)
                outcome.placed.append(Placed(referrer.digest, name))
                all_present = all_present and referrer.present
        if all_present:
            outcome.status = ReplicationItem.Status.SKIPPED
            outcome.reason = stored(gettext_noop("Already at the destination (same digest)."))
    except RegistryError as exc:
        outcome.status = ReplicationItem.Status.FAILED
        outcome.reason = Stored(str(exc)[:MAX_REASON])
    return outcome


def _delete_remote(
    rule: ReplicationRule, remote: RegistryClient, local_tags: dict[str, set[str]], names: Iterable[str]
) -> list[Outcome]:
    """Push rules that `delete_remote`: remote tags (matching the tag glob) of the matched
    repositories that Wharf no longer has."""
    tag_glob = compile_glob(rule.tags, PatternKind.TAG)
    outcomes: list[Outcome] = []
    for name in sorted(names):
        destination = destination_name(rule, name)
        try:
            remote_tags = remote.tags(destination)
        except RegistryError as exc:
            if exc.status == 404:
                continue
            outcomes.append(
                Outcome(Work(name, "*", destination), ReplicationItem.Status.FAILED, reason=Stored(str(exc)))
            )
            continue
        here = local_tags.get(name, set())
        for tag in remote_tags:
            if tag in here or _is_reference(tag) or not tag_glob.matches(tag):
                continue
            outcome = Outcome(
                Work(name, tag, destination), ReplicationItem.Status.DELETED, reason=stored(gettext_noop("Deleted here."))
            )
            try:
                remote.delete_tag(destination, tag)
            except RegistryError as exc:
                outcome.status = ReplicationItem.Status.FAILED
                outcome.reason = stored(
                    gettext_noop("Could not delete the remote tag: %(detail)s"), detail=str(exc)
                ).cut(MAX_REASON)
            outcomes.append(outcome)
    return outcomes


# --- the run ------------------------------------------------------------------------------


def execute_run(run: ReplicationRun) -> ReplicationRun:
    """Do a claimed run (see the module docstring) and record it."""
    rule = run.rule
    started = time.perf_counter()
    concurrency = rule.concurrency or settings.WHARF_REPLICATION_CONCURRENCY
    outcomes: list[Outcome] = []
    try:
        try:
            remote = endpoint_client(rule.endpoint, max_connections=concurrency * 2)
        except credentials.SecretUnavailable as exc:
            raise RunFailed(
                stored(gettext_noop("Endpoint %(name)s: %(detail)s"), name=rule.endpoint.name, detail=str(exc))
            ) from exc
        local = registry_client()
        push = rule.direction == ReplicationRule.Direction.PUSH
        source, target = (local, remote) if push else (remote, local)
        with remote, ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="replicate") as pool:
            try:
                if push:
                    remote.ping()
                    work, references = push_candidates(rule, run.only)
                else:
                    work, references = pull_candidates(rule, remote, pool)
            except RegistryError as exc:
                raise RunFailed(
                    stored(
                        gettext_noop("Endpoint %(name)s (%(url)s): %(detail)s"),
                        name=rule.endpoint.name,
                        url=rule.endpoint.url,
                        detail=str(exc),
                    )
                ) from exc
            copier = Copier(source, target, same_registry=False)
            outcomes = list(pool.map(lambda w: copy_one(copier, rule, w, references.get(w.source, ())), work))
            if push and rule.delete_remote and not run.only:
                local_tags: dict[str, set[str]] = defaultdict(set)
                for w in work:
                    local_tags[w.source].add(w.tag)
                matched = Repository.objects.filter(
                    **compile_glob(rule.repositories, PatternKind.REPOSITORY).lookups("name")
                ).values_list("name", flat=True)
                for repo, tag in Tag.objects.filter(repository__name__in=list(matched)).values_list(
                    "repository__name", "name"
                ):
                    local_tags[repo].add(tag)
                outcomes += _delete_remote(rule, remote, local_tags, matched)
    except RunFailed as exc:
        return _finish(run, outcomes, message=exc.message, failed=True)
    log.info("replication run %s: %d items in %.2fs", run.pk, len(outcomes), time.perf_counter() - started)
    return _finish(run, outcomes)


def _finish(
    run: ReplicationRun, outcomes: list[Outcome], *, message: Stored | None = None, failed: bool = False
) -> ReplicationRun:
    rule = run.rule
    counts: dict[str, int] = defaultdict(int)
    stats = CopyStats()
    for outcome in outcomes:
        counts[outcome.status] += 1
        stats.add(outcome.stats)
    first_failure = next((o for o in outcomes if o.status == ReplicationItem.Status.FAILED), None)
    if first_failure is not None:
        failed = True
        message = message or stored(
            gettext_noop("%(failed)s of %(total)s failed; first: %(item)s: %(reason)s"),
            failed=counts["failed"],
            total=len(outcomes),
            item=f"{first_failure.work.source}:{first_failure.work.tag}",
            reason=first_failure.reason,
        )
    if message is None:
        numbers = {k: counts[k] for k in ("copied", "skipped", "deleted")} | {"total": len(outcomes)}
        message = (
            stored(gettext_noop("%(copied)s copied, %(skipped)s skipped, %(deleted)s deleted of %(total)s."), **numbers)
            if counts["deleted"]
            else stored(gettext_noop("%(copied)s copied, %(skipped)s skipped of %(total)s."), **numbers)
        )
    now = timezone.now()
    actor = Actor.system("replication")
    with transaction.atomic():
        ReplicationItem.objects.bulk_create(
            ReplicationItem(
                run=run,
                source=f"{o.work.source}:{o.work.tag}"[:400],
                destination=f"{o.work.destination}:{o.work.tag}"[:400],
                digest=o.digest,
                status=o.status,
                reason=o.reason.text,
                reason_i18n=o.reason.data,
                referrers=max(0, len(o.placed) - 1),
                blobs_uploaded=o.stats.blobs_uploaded,
                bytes_uploaded=o.stats.bytes_uploaded,
            )
            for o in outcomes
        )
        if rule.direction == ReplicationRule.Direction.PULL:
            by_repository: dict[str, list[Placed]] = defaultdict(list)
            for o in outcomes:
                if o.status != ReplicationItem.Status.FAILED:
                    by_repository[o.work.destination] += o.placed
            for name, placed in sorted(by_repository.items()):
                place(name, placed, actor=actor, now=now)
        run.status = ReplicationRun.Status.FAILED if failed else ReplicationRun.Status.SUCCEEDED
        run.finished_at = now
        run.items_total = len(outcomes)
        run.copied, run.skipped = counts["copied"], counts["skipped"]
        run.failed, run.deleted = counts["failed"], counts["deleted"]
        run.stats = stats.as_dict()
        message = message.cut(MAX_REASON)
        run.message, run.message_i18n = message.text, message.data
        run.save()
        details: dict[str, Any] = {
            "run": run.pk,
            "status": run.status,
            "items": run.items_total,
            "copied": run.copied,
            "skipped": run.skipped,
            "failed": run.failed,
            "deleted": run.deleted,
            **stats.as_dict(),
        }
        if failed:
            details["message"] = run.message
        record(
            AuditAction.REPLICATION_RUN_END,
            actor=actor,
            target_type="replication_rule",
            target_name=rule.name,
            details=details,
        )
        webhook_hooks.replication_finished(run)
    return run


def run_now(rule: ReplicationRule, *, actor: Actor, trigger: str = Trigger.MANUAL) -> ReplicationRun:
    """Queue and run in this process (tests, benchmarks, commands)."""
    run, _ = request_run(rule, actor=actor, trigger=trigger, enqueue=False)
    claimed = claim(run.pk)
    if claimed is None:
        run.refresh_from_db()
        return run
    return execute_run(claimed)
