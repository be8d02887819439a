"""Full reconcile of Wharf's rows with the registry: catalog → tags → manifests → configs.

`request_sync` records a queued `SyncRun` (or returns the one already queued or
running for the same scope); the Celery task `repositories.tasks.run_sync` claims
it with a conditional UPDATE and calls `execute_sync`.

Fetching runs in a bounded thread pool (`WHARF_SYNC_CONCURRENCY` registry
requests in flight, as many pooled connections) and touches no database. Its work
items are a repository's tag list, then chunks of its tags (`fetch_all`), so one
repository of 100,000 tags keeps every thread busy as well as many small ones do;
each repository's listing is applied in the main thread, in its own transaction and
a fixed number of queries, as soon as its last chunk is in. A tag already known is re-read with a HEAD (its
digest is all a sync needs), and only manifests whose digest is not stored with
its details are fetched, with their configs: a sync of an unchanged registry costs
its tag lists and one HEAD per tag.

Safety: rows are removed only when a complete, successful listing says the thing
is gone: a tag missing from a tag list that was read in full, a repository missing
from a catalog read in full, an untagged artifact the registry answers 404 for. A
registry that fails mid-run fails the run with its message; repositories not yet
applied keep their rows as they were.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from audit.context import Actor
from audit.models import AuditAction
from audit.services import record
from portal import metrics
from portal.rows import insert
from portal.stored_text import Stored, stored

from ..models import Artifact, Project, PushedAtSource, Repository, SyncRun, Tag
from ..registry import Manifest, RegistryClient, RegistryError, RegistryUnavailable
from ..registry.client import is_digest
from ..registry.errors import DigestMismatch, InvalidContent, ManifestTooLarge
from .content import (
    MAX_STORED_TEXT,
    Fetched,
    describe,
    ensure_repository,
    fetch_details,
    project_for_repository,
    refresh_repository_counts,
    store_children,
)
from .registry import registry_client
from .usage import store_blobs

log = logging.getLogger(__name__)

MAX_RUN_ERRORS = 200
# Tags one work item reads: small enough to spread one big repository over every thread.
TAGS_PER_CHUNK = 100
# A repository with more tags than this is applied in parts as its chunks come in.
PARTIAL_APPLY_TAGS = 1000
MIN_TAGS_PER_CHUNK = 4
CHUNKS_PER_THREAD = 4


@dataclass
class Listing:
    """One repository as the registry showed it during this run."""

    name: str
    gone: bool = False
    tags: dict[str, str] = field(default_factory=dict)  # tag → digest
    fetched: dict[str, Fetched] = field(default_factory=dict)  # digest → new details
    untagged_gone: set[str] = field(default_factory=set)
    errors: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Known:
    """What the database already knows of one repository, read before fetching."""

    synced: frozenset[str]  # digests whose details are stored
    untagged: frozenset[str]  # top-level digests with no tag: checked by HEAD
    tags: dict[str, str] = field(default_factory=dict)  # tag → digest it pointed at: checked by HEAD


def _scope_filter(run: SyncRun, names: list[str]) -> list[str]:
    if run.scope == SyncRun.Scope.PROJECT and run.project is not None:
        return [n for n in names if project_for_repository(n) == run.project.name]
    return names


def _known(names: list[str]) -> dict[str, Known]:
    synced: dict[str, set[str]] = {}
    untagged: dict[str, set[str]] = {}
    tags: dict[str, dict[str, str]] = {}
    rows = Artifact.objects.filter(repository__name__in=names).values_list(
        "repository__name", "digest", "details_synced", "parent_id"
    )
    tag_rows = Tag.objects.filter(repository__name__in=names).values_list(
        "repository__name", "name", "artifact__digest"
    )
    tagged: set[tuple[str, str]] = set()
    for repo, tag, digest in tag_rows.iterator():
        tags.setdefault(repo, {})[tag] = digest
        tagged.add((repo, digest))
    for repo, digest, details, parent_id in rows.iterator():
        if details:
            synced.setdefault(repo, set()).add(digest)
        if parent_id is None and (repo, digest) not in tagged:
            untagged.setdefault(repo, set()).add(digest)
    return {
        n: Known(frozenset(synced.get(n, ())), frozenset(untagged.get(n, ())), tags.get(n, {})) for n in names
    }


def _read_manifest(client: RegistryClient, name: str, reference: str, listing: Listing) -> Manifest | str | None:
    """The manifest at `reference` (a tag or a digest); its digest alone when it cannot be
    read whole (too large, undecodable, not matching its digest: `listing.fetched` gets
    that error); None when it is gone (noted in `listing.errors`)."""
    try:
        return client.get_manifest(name, reference)
    except RegistryUnavailable:
        raise
    except (ManifestTooLarge, InvalidContent, DigestMismatch) as exc:
        digest = reference if is_digest(reference) else client.head_manifest(name, reference)
        if digest is None:
            listing.errors.append({"where": f"{name}:{reference}", "message": str(exc)})
            return None
        listing.fetched.setdefault(digest, Fetched(digest=digest, error=str(exc)[:MAX_STORED_TEXT]))
        return digest
    except RegistryError as exc:
        # e.g. the tag was deleted between the list and this read: not an error of ours.
        listing.errors.append({"where": f"{name}:{reference}", "message": str(exc)})
        return None


class _Digests:
    """Digests a repository's fetching has claimed, shared by the threads reading its tags,
    so that tags sharing a digest fetch it (and its config) once."""

    def __init__(self, known: frozenset[str]) -> None:
        self._seen = set(known)
        self._lock = threading.Lock()

    def __contains__(self, digest: object) -> bool:
        with self._lock:
            return digest in self._seen

    def claim(self, digest: str) -> bool:
        """True for the first caller only."""
        with self._lock:
            if digest in self._seen:
                return False
            self._seen.add(digest)
            return True

    def add(self, digests: Iterable[str]) -> None:
        with self._lock:
            self._seen.update(digests)


def list_tags(client: RegistryClient, name: str) -> list[str] | None:
    """The repository's tags; None when the registry no longer has the repository."""
    try:
        return client.tags(name)
    except RegistryUnavailable:
        raise
    except RegistryError as exc:
        if exc.status == 404 and exc.code == "NAME_UNKNOWN":
            return None
        raise


def fetch_tags(client: RegistryClient, name: str, tags: Sequence[str], known: Known, digests: _Digests) -> Listing:
    """Read some of one repository's tags and every manifest not known yet. No database access.

    A tag the database knows is re-read with a HEAD, whose `Docker-Content-Digest`
    says whether it still points where it did; only a digest not stored with its
    details is then fetched (by digest, so that it is the manifest HEAD named). A
    tag never seen is fetched by tag at once: a HEAD first would only add a request.
    A digest's details (config, or an index's children) are read by the first chunk
    that claims it.
    """
    listing = Listing(name=name)
    for tag in tags:
        reference = tag
        if tag in known.tags:
            try:
                digest = client.head_manifest(name, tag)
            except RegistryUnavailable:
                raise
            except RegistryError as exc:
                listing.errors.append({"where": f"{name}:{tag}", "message": str(exc)})
                continue
            if digest is None:  # deleted since the tag list was read, as a GET would have said
                listing.errors.append({"where": f"{name}:{tag}", "message": "manifest unknown to the registry"})
                continue
            if digest in digests:
                listing.tags[tag] = digest
                continue
            reference = digest
        manifest = _read_manifest(client, name, reference, listing)
        if manifest is None:
            continue
        if isinstance(manifest, str):
            listing.tags[tag] = manifest
            continue
        if manifest.is_tombstone:
            continue
        listing.tags[tag] = manifest.digest
        if not digests.claim(manifest.digest):
            continue
        fetched = fetch_details(client, name, manifest, digests)
        listing.fetched[manifest.digest] = fetched
        digests.add(child.digest for child in fetched.children)
    return listing


def check_untagged(client: RegistryClient, name: str, digests: Iterable[str]) -> set[str]:
    """The untagged top-level digests the registry answers 404 for."""
    return {digest for digest in digests if client.head_manifest(name, digest) is None}


def fetch_repository(client: RegistryClient, name: str, known: Known) -> Listing:
    """One repository read in this thread: tag list, tags, untagged digests (no database access)."""
    tags = list_tags(client, name)
    if tags is None:
        return Listing(name=name, gone=True)
    listing = fetch_tags(client, name, tags, known, _Digests(known.synced))
    listing.untagged_gone = check_untagged(client, name, known.untagged - set(listing.tags.values()))
    return listing


def _merge(into: Listing, part: Listing) -> None:
    into.tags.update(part.tags)
    for digest, fetched in part.fetched.items():
        into.fetched.setdefault(digest, fetched)
    into.errors.extend(part.errors)
    into.untagged_gone |= part.untagged_gone


class _RepositoryFetch:
    """One repository's fetching spread over the pool as chunks of tags; `listing` is
    whole when `pending` is zero. Chunks not applied yet wait in `unapplied`."""

    def __init__(self, name: str, known: Known) -> None:
        self.known = known
        self.digests = _Digests(known.synced)
        self.listing = Listing(name=name)
        self.unapplied = Listing(name=name)
        self.pending = 0


def _chunks(tags: Sequence[str], concurrency: int) -> list[Sequence[str]]:
    """About CHUNKS_PER_THREAD chunks per thread, so the last wave leaves few threads
    idle even with one repository; between MIN_TAGS_PER_CHUNK and TAGS_PER_CHUNK tags each."""
    wanted = -(-len(tags) // (max(1, concurrency) * CHUNKS_PER_THREAD))
    size = max(MIN_TAGS_PER_CHUNK, min(TAGS_PER_CHUNK, wanted))
    return [tags[start : start + size] for start in range(0, len(tags), size)]


def fetch_all(
    client: RegistryClient,
    names: Sequence[str],
    known: dict[str, Known],
    concurrency: int,
    apply: Callable[[Listing, bool], None],
) -> None:
    """Read every repository with `concurrency` requests in flight, calling `apply`
    (in this thread) for each repository as soon as its listing is whole.

    Work items are a repository's tag list, then chunks of its tags, then its untagged
    digests: one repository of 100,000 tags keeps every thread busy, as many small ones
    do. A failing item cancels what is queued and raises.
    """
    repositories = {name: _RepositoryFetch(name, known[name]) for name in names}
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="sync") as pool:
        pending: dict[Future[Any], tuple[str, str]] = {}
        # Finished items arrive here, each once: no scan of every pending future per completion.
        finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()

        def start(name: str, kind: str, function: Callable[..., Any], *args: Any) -> None:
            future = pool.submit(function, client, name, *args)
            pending[future] = (name, kind)
            future.add_done_callback(finished.put)

        def submit(kind: str, state: _RepositoryFetch, function: Callable[..., Any], *args: Any) -> None:
            start(state.listing.name, kind, function, *args)
            state.pending += 1

        for name in names:
            start(name, "tags", list_tags)
        try:
            while pending:
                future = finished.get()
                name, kind = pending.pop(future)
                state = repositories[name]
                result = future.result()
                if kind == "tags":
                    if result is None:
                        state.listing.gone = True
                    elif not result:
                        if state.known.untagged:
                            submit("untagged", state, check_untagged, state.known.untagged)
                    else:
                        for chunk in _chunks(result, concurrency):
                            submit("chunk", state, fetch_tags, chunk, state.known, state.digests)
                elif kind == "chunk":
                    _merge(state.unapplied, result)
                    state.pending -= 1
                    if state.pending and len(state.unapplied.tags) >= PARTIAL_APPLY_TAGS:
                        # A big repository is written as it is read, not all at its end.
                        apply(state.unapplied, False)
                        state.unapplied.fetched = {}
                    if state.pending == 0 or not state.unapplied.fetched:
                        _merge(state.listing, state.unapplied)
                        state.unapplied = Listing(name=name)
                    if state.pending == 0:
                        untagged = state.known.untagged - set(state.listing.tags.values())
                        if untagged:
                            submit("untagged", state, check_untagged, untagged)
                else:
                    state.listing.untagged_gone = result
                    state.pending -= 1
                if state.pending == 0:
                    apply(state.listing, True)
        except BaseException:
            for future in pending:
                future.cancel()
            raise


@dataclass
class Counts:
    tags_added: int = 0
    tags_updated: int = 0
    tags_removed: int = 0
    artifacts_added: int = 0
    artifacts_updated: int = 0
    artifacts_removed: int = 0


def _estimated_push_time(fetched: Fetched, now: datetime) -> tuple[datetime, str]:
    """A sync cannot know when something was pushed (Distribution's API does not say),
    so it stores an estimate and says so: the image's own creation time (capped at
    now), else now, when this sync first saw it. Notifications give exact times."""
    created = fetched.config.created if fetched.config else None
    if created is None:
        return now, PushedAtSource.SEEN
    if timezone.is_naive(created):
        created = timezone.make_aware(created, UTC)
    if created > now:
        return now, PushedAtSource.SEEN
    return created, PushedAtSource.CREATED


@transaction.atomic
def apply_listing(listing: Listing, *, actor: Actor, complete: bool = True) -> Counts:
    """Make the rows of one repository match its listing.

    A fixed number of queries whatever the number of tags: new artifacts are
    inserted in one statement, and rows are read without their (large) manifest
    and config columns, except for the few artifacts read again.

    `complete=False` applies part of a big repository while the rest is still being
    read: it adds and moves, never removes, and leaves a tag whose digest another part
    is fetching (no row yet) to the complete listing applied at the end.
    """
    counts = Counts()
    if listing.gone:
        repository = Repository.objects.filter(name=listing.name).first()
        if repository is not None:
            counts.artifacts_removed = repository.artifacts.filter(parent__isnull=True).count()
            counts.tags_removed = repository.tags.count()
            repository.delete()
        return counts
    repository = ensure_repository(listing.name, actor=actor)
    now = timezone.now()
    # Rows already stored are read as tuples (digest → id, push time, its source): an
    # unchanged repository builds no model instance, only what is new or changed does.
    rows: dict[str, tuple[int, datetime, str]] = {
        digest: (pk, pushed_at, source)
        for digest, pk, pushed_at, source in Artifact.objects.filter(repository=repository).values_list(
            "digest", "id", "pushed_at", "pushed_at_source"
        )
    }
    # Artifacts read again (their last read failed) are loaded whole, since all their columns are written.
    again = [digest for digest in listing.fetched if digest in rows]
    reread = {a.digest: a for a in Artifact.objects.filter(repository=repository, digest__in=again)} if again else {}
    instances: dict[str, Artifact] = {}
    new: list[Artifact] = []
    for digest, fetched in listing.fetched.items():
        artifact = reread.get(digest)
        if artifact is None:
            pushed_at, source = _estimated_push_time(fetched, now)
            artifact = Artifact(repository=repository, digest=digest, pushed_at=pushed_at, pushed_at_source=source)
            describe(artifact, fetched)
            new.append(artifact)
        else:
            describe(artifact, fetched)
            artifact.save()
            counts.artifacts_updated += 1
        instances[digest] = artifact
    insert(new)  # sets their primary keys (`bulk_create`'s rows, without its SQL compiler: portal/rows.py)
    counts.artifacts_added += len(new)
    for artifact in new:
        rows[artifact.digest] = (artifact.pk, artifact.pushed_at, artifact.pushed_at_source)
    store_blobs(instances.values())
    for digest, fetched in listing.fetched.items():
        if fetched.manifest is not None and fetched.manifest.kind == "index":
            counts.artifacts_added += store_children(instances[digest], fetched)
    # A tag may point at a digest stored as some index's child rather than fetched on its own.
    elsewhere = set(listing.tags.values()) - rows.keys()
    if elsewhere:
        rows.update(
            {
                digest: (pk, pushed_at, source)
                for digest, pk, pushed_at, source in Artifact.objects.filter(
                    repository=repository, digest__in=elsewhere
                ).values_list("digest", "id", "pushed_at", "pushed_at_source")
            }
        )
    tags = {
        name: (pk, artifact_id)
        for pk, name, artifact_id in Tag.objects.filter(repository=repository).values_list("id", "name", "artifact_id")
    }
    new_tags: list[Tag] = []
    moved: list[Tag] = []
    for name, digest in listing.tags.items():
        row = rows.get(digest)
        if row is None and not complete:
            continue
        if row is None:  # a known digest whose row vanished meanwhile: store a bare row
            bare = Artifact.objects.create(
                repository=repository, digest=digest, pushed_at=now, pushed_at_source=PushedAtSource.SEEN
            )
            row = rows[digest] = (bare.pk, bare.pushed_at, bare.pushed_at_source)
        artifact_id, pushed_at, source = row
        tag = tags.get(name)
        if tag is None:
            new_tags.append(
                Tag(repository=repository, name=name, artifact_id=artifact_id, pushed_at=pushed_at, pushed_at_source=source)
            )
        elif tag[1] != artifact_id:
            # Moved since Wharf last looked, by a push it did not see: now is when it saw it.
            moved.append(Tag(pk=tag[0], artifact_id=artifact_id, pushed_at=now, pushed_at_source=PushedAtSource.SEEN))
    insert(new_tags)
    Tag.objects.bulk_update(moved, ["artifact", "pushed_at", "pushed_at_source"])
    counts.tags_added, counts.tags_updated = len(new_tags), len(moved)
    if not complete:
        if new_tags or moved:  # the counts wait for the complete listing; cached views of the tags go by this
            Repository.objects.filter(pk=repository.pk).update(updated_at=now)
        return counts
    stale = [pk for n, (pk, _) in tags.items() if n not in listing.tags]
    if stale:
        Tag.objects.filter(pk__in=stale).delete()
    if listing.untagged_gone:
        gone = Artifact.objects.filter(repository=repository, digest__in=listing.untagged_gone, parent__isnull=True)
        counts.artifacts_removed = gone.count()
        gone.delete()
    counts.tags_removed = len(stale)
    refresh_repository_counts(repository)
    return counts


def _apply_with_one_retry(listing: Listing, actor: Actor, complete: bool = True) -> Counts:
    """A push notification handled at the same moment may insert the same artifact
    or tag; the loser's transaction rolls back whole, so applying again sees it."""
    try:
        return apply_listing(listing, actor=actor, complete=complete)
    except IntegrityError:
        return apply_listing(listing, actor=actor, complete=complete)


# --- runs -------------------------------------------------------------------------


@transaction.atomic
def request_sync(
    *,
    actor: Actor,
    scope: str = SyncRun.Scope.REGISTRY,
    project: Project | None = None,
    repository: str = "",
    trigger: str = SyncRun.Trigger.USER,
    user: Any = None,
) -> tuple[SyncRun, bool]:
    """Queue a sync, unless one for the same scope is queued or running already.

    Returns the run and whether it is new. The caller enqueues the task for a new
    run after commit (see `repositories.tasks.enqueue_sync`).
    """
    pending = SyncRun.objects.select_for_update().filter(
        scope=scope,
        project=project,
        repository_name=repository,
        status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING],
    )
    existing = pending.first()
    if existing is not None:
        return existing, False
    run = SyncRun.objects.create(
        scope=scope, project=project, repository_name=repository, trigger=trigger, requested_by=user
    )
    record(
        AuditAction.SYNC_REQUEST,
        actor=actor,
        project=project,
        target_type="sync",
        target_name=repository or (project.name if project else "registry"),
        details={"run": run.pk, "scope": scope, "trigger": trigger},
    )
    return run, True


def claim(run_id: int) -> SyncRun | None:
    """Move a queued run to running; None if another worker has it (or it is gone)."""
    claimed = SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.QUEUED).update(
        status=SyncRun.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    return SyncRun.objects.select_related("project").get(pk=run_id)


def execute_sync(run: SyncRun, client: RegistryClient | None = None) -> SyncRun:
    """Run a claimed sync to the end, recording counts and errors on the run."""
    client = client or registry_client()
    start_requests = client.request_count
    actor = Actor.system("sync")
    errors: list[dict[str, str]] = []
    totals = Counts()
    tags_seen = 0
    names: list[str] = []
    try:
        catalog_complete = run.scope != SyncRun.Scope.REPOSITORY
        names = client.catalog(settings.WHARF_SYNC_PAGE_SIZE) if catalog_complete else [run.repository_name]
        names = _scope_filter(run, names)
        known = _known(names)

        def apply(listing: Listing, complete: bool) -> None:
            nonlocal tags_seen
            if complete:
                errors.extend(listing.errors)
                tags_seen += len(listing.tags)
            counts = _apply_with_one_retry(listing, actor, complete)
            for key, value in vars(counts).items():
                setattr(totals, key, getattr(totals, key) + value)

        fetch_all(client, names, known, settings.WHARF_SYNC_CONCURRENCY, apply)
        removed_repos = 0
        if catalog_complete:
            stale = Repository.objects.exclude(name__in=names)
            if run.scope == SyncRun.Scope.PROJECT and run.project is not None:
                stale = stale.filter(project=run.project)
            removed_repos = stale.count()
            stale.delete()
        _finish(run, SyncRun.Status.SUCCEEDED, client, start_requests, totals, errors, names, tags_seen, removed_repos)
    except RegistryError as exc:
        errors.append({"where": "registry", "message": str(exc)})
        message = (
            stored(
                gettext_noop(
                    "The registry at %(url)s could not be reached or failed: %(detail)s. "
                    "Repositories not yet read keep their rows, and no repository was removed."
                ),
                url=settings.REGISTRY_URL,
                detail=str(exc),
            )
            if exc.transient
            else stored(gettext_noop("The registry refused the sync: %(detail)s."), detail=str(exc))
        )
        _finish(run, SyncRun.Status.FAILED, client, start_requests, totals, errors, names, tags_seen, 0, message)
    except Exception as exc:  # a bug must still end the run visibly, not leave it running
        log.exception("sync run %s crashed", run.pk)
        errors.append({"where": "wharf", "message": repr(exc)[:MAX_STORED_TEXT]})
        _finish(run, SyncRun.Status.FAILED, client, start_requests, totals, errors, names, tags_seen, 0,
                stored(gettext_noop("The sync stopped on an internal error: %(detail)s"), detail=repr(exc)))
    return run


def _finish(
    run: SyncRun,
    status: str,
    client: RegistryClient,
    start_requests: int,
    totals: Counts,
    errors: list[dict[str, str]],
    names: list[str],
    tags_seen: int,
    removed_repos: int,
    message: Stored | None = None,
) -> None:
    run.status = status
    run.finished_at = timezone.now()
    run.requests = client.request_count - start_requests
    run.repositories_seen = len(names)
    run.repositories_removed = removed_repos
    run.tags_seen = tags_seen
    for key, value in vars(totals).items():
        setattr(run, key, value)
    run.errors = errors[:MAX_RUN_ERRORS]
    if message is None:
        counts = {
            "repositories": len(names),
            "tags": tags_seen,
            "added": totals.artifacts_added,
            "removed": totals.artifacts_removed,
            "errors": len(errors),
        }
        message = (
            stored(
                gettext_noop(
                    "%(repositories)s repositories, %(tags)s tags; "
                    "%(added)s artifacts added, %(removed)s removed; %(errors)s errors"
                ),
                **counts,
            )
            if errors
            else stored(
                gettext_noop("%(repositories)s repositories, %(tags)s tags; %(added)s artifacts added, %(removed)s removed"),
                **counts,
            )
        )
    run.message, run.message_i18n = message.text, message.data
    run.save()
    metrics.sync_finished(run)


def sync_now(**kwargs: Any) -> SyncRun:
    """Queue and run a sync in this process (commands, tests, benchmarks)."""
    run, _ = request_sync(actor=kwargs.pop("actor", Actor.system("sync")), **kwargs)
    claimed = claim(run.pk)
    if claimed is None:
        run.refresh_from_db()
        return run
    started = time.perf_counter()
    execute_sync(claimed)
    log.info("sync %s done in %.2fs", claimed.pk, time.perf_counter() - started)
    return claimed
