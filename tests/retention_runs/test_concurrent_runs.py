"""Real runs with several deletions in flight and bookkeeping per chunk, against the real registry.

The guarantees are those of a run one deletion at a time: exactly the plan is deleted,
every deletion has its recycle-bin entry and audit event (the chain still verifies), a
moved tag saves its artifact, a registry that goes away stops the run with its reason
and loses no entry, and an entry restores. Run on both databases.
"""

from __future__ import annotations

import threading
from itertools import pairwise
from typing import Any

import pytest

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from audit.services import Entry, record, record_many, verify_chain
from repositories.models import Artifact, Project, RecycleBinEntry, Repository, RetentionRun, Tag
from repositories.models import RetentionRunItem as Item
from repositories.registry.errors import RegistryError
from repositories.services import recycle, retention, retention_runs
from tests.retention_runs.helpers import ACTOR, rule, runs_client, seed
from tests.support.images import build_image, push

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

# v00 is the oldest; the policy keeps the two most recently pushed (v10, v11).
AGES = {f"v{n:02d}": 40 - n for n in range(12)}
KEPT = ["v10", "v11"]


@pytest.fixture
def concurrent(settings: Any) -> None:
    """Eight workers and chunks of three, so a run of ten deletions spans four chunks."""
    settings.WHARF_RETENTION_CONCURRENCY = 8
    settings.WHARF_RETENTION_CHUNK_SIZE = 3
    settings.WHARF_RETENTION_DELETE_ATTEMPTS = 2
    settings.WHARF_RETENTION_RETRY_SECONDS = 0.01


@pytest.fixture
def acme(wharf_registry: Any, concurrent: None) -> Project:
    seed(wharf_registry, "acme/app", AGES)
    project = Project.objects.get(name="acme")
    retention.save_policy(
        project, ACTOR, enabled=True, schedule="", allow_empty_repository=False, rules=[rule(n=2)]
    )
    return project


def planned(run: RetentionRun) -> set[tuple[str, str]]:
    return set(run.items.filter(action=Item.Action.DELETE).values_list("repository_name", "digest"))


def deleted(run: RetentionRun) -> set[tuple[str, str]]:
    return set(run.items.filter(outcome=Item.Outcome.DELETED).values_list("repository_name", "digest"))


def test_a_concurrent_run_deletes_exactly_its_dry_runs_plan(acme: Project, wharf_registry: Any) -> None:
    dry = retention_runs.run_now(acme, ACTOR, dry_run=True)
    real = retention_runs.run_now(acme, ACTOR, dry_run=False)
    assert real.status == RetentionRun.Status.SUCCEEDED, real.message
    assert len(planned(dry)) == 10
    assert deleted(real) == planned(dry) == planned(real)
    assert sorted(wharf_registry.client().tags("acme/app")) == KEPT
    assert sorted(Tag.objects.filter(repository__name="acme/app").values_list("name", flat=True)) == KEPT
    assert (real.artifacts_deleted, real.tags_deleted, real.artifacts_failed, real.artifacts_skipped) == (10, 10, 0, 0)
    entries = RecycleBinEntry.objects.filter(run=real)
    assert {("acme/app", e.digest) for e in entries} == deleted(real), "one entry per deletion"
    events = AuditEvent.objects.filter(action=AuditAction.RETENTION_DELETE)
    assert {e.target_name.split("@")[1] for e in events} == {d for _, d in deleted(real)}
    assert {e.details["recycle_bin_entry"] for e in events} == {e.pk for e in entries}


@pytest.mark.parametrize("workers", [1, 8])
def test_chunks_of_several_repositories_are_all_recorded_and_counted(
    acme: Project, wharf_registry: Any, settings: Any, workers: int
) -> None:
    """The chunks run on across repositories (one deletes while the run records the one
    before): every outcome, entry and audit event lands, and each repository's counts are
    refreshed once its last chunk is recorded."""
    settings.WHARF_RETENTION_CONCURRENCY = workers
    seed(wharf_registry, "acme/api", {f"a{n:02d}": 30 - n for n in range(7)})
    real = retention_runs.run_now(acme, ACTOR, dry_run=False)
    assert real.status == RetentionRun.Status.SUCCEEDED, real.message
    assert len(deleted(real)) == 15 and deleted(real) == planned(real)
    assert {name for name, _ in deleted(real)} == {"acme/app", "acme/api"}
    for name in ("acme/app", "acme/api"):
        assert len(wharf_registry.client().tags(name)) == 2
        repository = Repository.objects.get(name=name)
        assert (repository.tag_count, repository.artifact_count) == (2, 2), name
    assert not real.items.filter(outcome=Item.Outcome.PENDING).exists()
    assert RecycleBinEntry.objects.filter(run=real).count() == 15
    assert AuditEvent.objects.filter(action=AuditAction.RETENTION_DELETE).count() == 15
    assert verify_chain()[1] is None


def test_the_next_chunk_deletes_while_one_waits_for_its_slowest_attempt(
    acme: Project, wharf_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two chunks delete at once: the first chunk's first DELETE is held until a DELETE of
    the second chunk has started. One chunk at a time would hold it for the whole wait."""
    doomed = sorted(Tag.objects.get(name=tag).artifact.digest for tag in AGES if tag not in KEPT)
    first, second_chunk = doomed[0], set(doomed[3:6])  # items go in digest order, three a chunk
    client = runs_client(monkeypatch)
    delete = client.delete_manifest
    started = threading.Event()
    waited: list[bool] = []

    def hold_the_first(repository: str, digest: str, **kwargs: Any) -> bool:
        if digest in second_chunk:
            started.set()
        if digest == first:
            waited.append(started.wait(10))
        return delete(repository, digest, **kwargs)

    monkeypatch.setattr(client, "delete_manifest", hold_the_first)
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    assert run.status == RetentionRun.Status.SUCCEEDED, run.message
    assert waited == [True], "the second chunk had not started while the first waited"
    assert deleted(run) == planned(run) and len(deleted(run)) == 10
    assert RecycleBinEntry.objects.filter(run=run).count() == 10
    assert verify_chain()[1] is None


def test_the_audit_chain_verifies_after_a_concurrent_run(acme: Project) -> None:
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    assert run.status == RetentionRun.Status.SUCCEEDED, run.message
    checked, broken = verify_chain()
    assert broken is None
    assert checked == AuditEvent.objects.count() > 10


def test_record_many_links_each_event_to_the_one_before(db: Any) -> None:
    actor = Actor.system("test")
    record(AuditAction.SYNC_REQUEST, actor=actor, target_name="before")
    events = record_many(
        [Entry(AuditAction.RETENTION_DELETE, target_type="artifact", target_name=f"a@{n}") for n in range(5)],
        actor=actor,
    )
    record(AuditAction.SYNC_REQUEST, actor=actor, target_name="after")
    rows = list(AuditEvent.objects.order_by("id"))
    assert [r.target_name for r in rows] == ["before", "a@0", "a@1", "a@2", "a@3", "a@4", "after"]
    assert [r.hash for r in rows[1:6]] == [e.hash for e in events]
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(rows))
    assert verify_chain() == (7, None)


def test_a_tag_moved_during_a_concurrent_run_saves_its_artifact_only(
    acme: Project, wharf_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Items go in digest order: the highest planned digest is alone in the last chunk, which
    # starts only after the first three are recorded, so its tag moves before its re-check.
    doomed = {tag: Tag.objects.get(name=tag).artifact.digest for tag in AGES if tag not in KEPT}
    last_tag = max(doomed, key=doomed.__getitem__)
    newer = build_image()
    client = runs_client(monkeypatch)
    delete = client.delete_manifest
    moved = threading.Event()

    def delete_then_move(repository: str, digest: str, **kwargs: Any) -> bool:
        result = delete(repository, digest, **kwargs)
        if not moved.is_set():
            moved.set()
            push(wharf_registry.client(), "acme/app", newer, tag=last_tag)
        return result

    monkeypatch.setattr(client, "delete_manifest", delete_then_move)
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    assert run.status == RetentionRun.Status.SUCCEEDED, run.message
    item = run.items.get(digest=doomed[last_tag])
    assert item.outcome == Item.Outcome.SKIPPED_MOVED and f"`{last_tag}` (now {newer.digest})" in item.error
    assert deleted(run) == planned(run) - {("acme/app", item.digest)}, "nothing else is spared, nothing more goes"
    assert wharf_registry.client().head_manifest("acme/app", last_tag) == newer.digest
    assert not RecycleBinEntry.objects.filter(digest=item.digest).exists(), "no entry for what was not deleted"
    assert RecycleBinEntry.objects.filter(run=run).count() == 9
    assert (run.artifacts_deleted, run.artifacts_skipped) == (9, 1)


def test_the_registry_stopping_during_a_concurrent_run_stops_it_and_keeps_every_entry(
    acme: Project, wharf_registry: Any, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    # Chunks of two: two chunks delete at once, so the chunks after the failure that are
    # never attempted must be more than the two that may have started with it.
    settings.WHARF_RETENTION_CHUNK_SIZE = 2
    client = runs_client(monkeypatch)
    delete = client.delete_manifest
    count = 0
    lock = threading.Lock()

    def delete_then_stop(*args: Any, **kwargs: Any) -> bool:
        nonlocal count
        result = delete(*args, **kwargs)
        with lock:
            count += 1
            if count == 3:  # inside the second chunk
                wharf_registry.stop()
        return result

    monkeypatch.setattr(client, "delete_manifest", delete_then_stop)
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    assert run.status == RetentionRun.Status.FAILED
    assert "could not be reached" in run.message and "unreachable" in run.message, run.message
    items = list(run.items.filter(action=Item.Action.DELETE))
    outcomes = {i.outcome for i in items}
    assert outcomes <= {Item.Outcome.DELETED, Item.Outcome.FAILED, Item.Outcome.NOT_ATTEMPTED}
    assert Item.Outcome.FAILED in outcomes and Item.Outcome.NOT_ATTEMPTED in outcomes
    gone = {i.digest for i in items if i.outcome == Item.Outcome.DELETED}
    # A DELETE in flight when the registry stopped got no answer: it may have happened.
    unanswered = {i.digest for i in items if i.outcome == Item.Outcome.FAILED and "got no answer" in i.error}
    assert len(gone) >= 3
    entries = set(RecycleBinEntry.objects.values_list("digest", flat=True))
    assert gone <= entries <= gone | unanswered, "an entry for every deletion, none for what surely stayed"
    assert not Artifact.objects.filter(digest__in=gone).exists()
    assert Artifact.objects.filter(digest__in={i.digest for i in items} - gone).count() == len(items) - len(gone)
    assert (run.artifacts_deleted, run.tags_deleted) == (len(gone), len(gone))
    wharf_registry.start()
    tags = set(wharf_registry.client().tags("acme/app"))
    survivors = {tag for i in items if i.digest not in gone for tag in i.tags}
    assert set(KEPT) <= tags <= survivors | set(KEPT), "nothing recorded as deleted is still there"
    lost = {i.digest for i in items if not set(i.tags) <= tags}
    assert lost <= entries, "whatever the registry lost can be restored"


def test_a_delete_that_gets_no_answer_keeps_its_entry_and_restores(
    acme: Project, wharf_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The registry deletes, then every answer about one digest is lost (a dropped connection,
    its retry too): the item fails, but its entry stays, and restoring it brings the image back.
    (A retry that is answered settles it: a DELETE of what is gone succeeds, `missing_ok`.)"""
    client = runs_client(monkeypatch)
    delete = client.delete_manifest
    lost: list[str] = []
    lock = threading.Lock()

    def delete_then_drop(repository: str, digest: str, **kwargs: Any) -> bool:
        delete(repository, digest, **kwargs)
        with lock:
            if not lost:
                lost.append(digest)
            if digest != lost[0]:
                return True
        raise RegistryError("connection reset by peer", transient=True)

    monkeypatch.setattr(client, "delete_manifest", delete_then_drop)
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    item = run.items.get(digest=lost[0])
    assert item.outcome == Item.Outcome.FAILED and "got no answer" in item.error, item.error
    entry = RecycleBinEntry.objects.get(run=run, digest=lost[0])
    assert wharf_registry.client().head_manifest("acme/app", item.tags[0]) is None, "the registry did delete it"
    monkeypatch.undo()
    recycle.restore(entry, actor=ACTOR)
    assert wharf_registry.client().head_manifest("acme/app", item.tags[0]) == lost[0]


def test_an_entry_of_a_concurrent_run_restores(acme: Project, wharf_registry: Any) -> None:
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    assert run.status == RetentionRun.Status.SUCCEEDED, run.message
    entry = RecycleBinEntry.objects.get(run=run, tags__has_key="v03")
    recycle.restore(entry, actor=ACTOR)
    client = wharf_registry.client()
    assert client.head_manifest("acme/app", "v03") == entry.digest
    assert sorted(client.tags("acme/app")) == ["v03", *KEPT]
    assert Tag.objects.get(repository__name="acme/app", name="v03").artifact.digest == entry.digest


def test_a_crash_in_a_worker_still_records_what_was_deleted(
    acme: Project, wharf_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = runs_client(monkeypatch)
    delete = client.delete_manifest
    calls = 0
    lock = threading.Lock()

    def delete_then_crash(*args: Any, **kwargs: Any) -> bool:
        nonlocal calls
        with lock:
            calls += 1
            crash = calls == 5
        if crash:
            raise RuntimeError("a bug")
        return delete(*args, **kwargs)

    monkeypatch.setattr(client, "delete_manifest", delete_then_crash)
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    assert run.status == RetentionRun.Status.FAILED and "internal error" in run.message
    assert not run.items.filter(outcome=Item.Outcome.PENDING).exists()
    gone = set(run.items.filter(outcome=Item.Outcome.DELETED).values_list("digest", flat=True))
    assert len(gone) >= 4
    assert set(RecycleBinEntry.objects.values_list("digest", flat=True)) >= gone
    assert not Artifact.objects.filter(digest__in=gone).exists()
    assert {t for i in run.items.filter(digest__in=gone) for t in i.tags}.isdisjoint(
        wharf_registry.client().tags("acme/app")
    )
