"""Retention runs against the real registry: what they delete, what they refuse to, and failures."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from audit.models import AuditAction, AuditEvent
from repositories.models import Artifact, Project, RecycleBinEntry, RetentionRun, Tag
from repositories.models import RetentionRunItem as Item
from repositories.services import retention, retention_runs
from tests.retention_runs.helpers import ACTOR, rule, runs_client, seed
from tests.support.images import build_image, push

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

AGES = {"v1": 5, "v2": 4, "v3": 3, "v4": 2, "release-1": 9}


def policy(project: Project, rules: list[dict[str, Any]], **kwargs: Any) -> None:
    retention.save_policy(
        project, ACTOR, enabled=True, schedule="", allow_empty_repository=kwargs.get("allow_empty", False), rules=rules
    )


@pytest.fixture
def fast_retries(settings: Any) -> None:
    settings.WHARF_RETENTION_DELETE_ATTEMPTS = 2
    settings.WHARF_RETENTION_RETRY_SECONDS = 0.01


@pytest.fixture
def one_at_a_time(settings: Any) -> None:
    """Deletions one by one and a chunk per item: for tests that assert an exact order of outcomes."""
    settings.WHARF_RETENTION_CONCURRENCY = 1
    settings.WHARF_RETENTION_CHUNK_SIZE = 1


@pytest.fixture
def acme(wharf_registry: Any) -> Project:
    """acme/app with v1..v4 and release-1, acme/other with two tags no rule matches."""
    seed(wharf_registry, "acme/app", AGES)
    seed(wharf_registry, "acme/other", {"a": 30, "b": 40})
    project = Project.objects.get(name="acme")
    policy(project, [rule(n=2, repos=["app"]), rule("always", None, repos=["app"], tags=["release-*"])])
    return project


def test_a_run_leaves_exactly_the_tags_the_policy_keeps(acme: Project, wharf_registry: Any) -> None:
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    assert run.status == RetentionRun.Status.SUCCEEDED, run.message
    client = wharf_registry.client()
    assert client.tags("acme/app") == ["release-1", "v3", "v4"]
    assert client.tags("acme/other") == ["a", "b"]
    assert sorted(Tag.objects.filter(repository__name="acme/app").values_list("name", flat=True)) == [
        "release-1", "v3", "v4"
    ]
    assert (run.artifacts_deleted, run.tags_deleted, run.artifacts_failed) == (2, 2, 0)
    assert {e.target_name.split("@")[0] for e in AuditEvent.objects.filter(action=AuditAction.RETENTION_DELETE)} == {
        "acme/app"
    }
    entries = RecycleBinEntry.objects.filter(run=run)
    assert sorted(tag for e in entries for tag in e.tags) == ["v1", "v2"]
    assert all(e.source == RecycleBinEntry.Source.RETENTION for e in entries)


def test_a_dry_run_plans_exactly_what_a_real_run_then_deletes(acme: Project) -> None:
    dry = retention_runs.run_now(acme, ACTOR, dry_run=True)
    real = retention_runs.run_now(acme, ACTOR, dry_run=False)
    def rows(items: Any) -> set[tuple[str, str, tuple[str, ...]]]:
        return {(i.repository_name, i.digest, tuple(i.tags)) for i in items}

    planned = rows(dry.items.filter(action=Item.Action.DELETE))
    deleted = rows(real.items.filter(outcome=Item.Outcome.DELETED))
    assert planned == deleted and len(planned) == 2


def test_a_tag_moved_after_the_evaluation_is_not_deleted(
    acme: Project, wharf_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluate = retention_runs.evaluate_for_run
    newer = build_image()

    def evaluate_then_push(run: RetentionRun) -> Any:
        evaluation = evaluate(run)
        push(wharf_registry.client(), "acme/app", newer, tag="v1")  # someone pushes v1 meanwhile
        return evaluation

    monkeypatch.setattr(retention_runs, "evaluate_for_run", evaluate_then_push)
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    outcomes = {tuple(i.tags): (i.outcome, i.error) for i in run.items.filter(action=Item.Action.DELETE)}
    assert outcomes[("v1",)][0] == Item.Outcome.SKIPPED_MOVED
    assert "`v1` (now " + newer.digest in outcomes[("v1",)][1]
    assert outcomes[("v2",)][0] == Item.Outcome.DELETED
    assert wharf_registry.client().head_manifest("acme/app", "v1") == newer.digest
    assert run.status == RetentionRun.Status.SUCCEEDED


def test_a_tag_pushed_onto_a_doomed_digest_after_evaluation_saves_it(
    acme: Project, wharf_registry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluate = retention_runs.evaluate_for_run
    doomed = Tag.objects.get(name="v2").artifact

    def evaluate_then_tag(run: RetentionRun) -> Any:
        evaluation = evaluate(run)
        client = wharf_registry.client()
        client.put_manifest("acme/app", "hotfix", bytes(doomed.manifest), doomed.media_type)
        return evaluation

    monkeypatch.setattr(retention_runs, "evaluate_for_run", evaluate_then_tag)
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    item = run.items.get(digest=doomed.digest)
    assert item.outcome == Item.Outcome.SKIPPED_MOVED and "`hotfix`" in item.error
    assert "hotfix" in wharf_registry.client().tags("acme/app")
    assert "v2" in wharf_registry.client().tags("acme/app")


def test_the_registry_stopping_mid_run_fails_the_run_with_consistent_outcomes(
    acme: Project, wharf_registry: Any, monkeypatch: pytest.MonkeyPatch, fast_retries: None, one_at_a_time: None
) -> None:
    seed(wharf_registry, "acme/app", {"v0": 8, "v00": 7})  # four deletions planned now
    client = runs_client(monkeypatch)
    delete = client.delete_manifest

    def delete_then_stop(*args: Any, **kwargs: Any) -> bool:
        result = delete(*args, **kwargs)
        wharf_registry.stop()  # the registry goes away after the first deletion
        return result

    monkeypatch.setattr(client, "delete_manifest", delete_then_stop)
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    assert run.status == RetentionRun.Status.FAILED
    assert "could not be reached" in run.message
    items = list(run.items.filter(action=Item.Action.DELETE).order_by("id"))
    assert [i.outcome for i in items] == [
        Item.Outcome.DELETED, Item.Outcome.FAILED, Item.Outcome.NOT_ATTEMPTED, Item.Outcome.NOT_ATTEMPTED
    ]
    assert items[1].error and items[1].attempts == 2
    remaining = set(Artifact.objects.filter(repository__name="acme/app").values_list("digest", flat=True))
    assert items[0].digest not in remaining
    assert {i.digest for i in items[1:]} <= remaining, "rows stay for everything not deleted"
    assert list(RecycleBinEntry.objects.values_list("digest", flat=True)) == [items[0].digest]
    assert (run.artifacts_deleted, run.artifacts_failed) == (1, 1)
    wharf_registry.start()
    assert set(wharf_registry.client().tags("acme/app")) == {
        t for i in items[1:] for t in i.tags
    } | {"v3", "v4", "release-1"}


@pytest.mark.django_db(transaction=True)
def test_a_stop_request_ends_the_run_between_deletions(
    acme: Project, monkeypatch: pytest.MonkeyPatch, wharf_registry: Any, one_at_a_time: None
) -> None:
    """The stop is asked, as the page asks it, on another connection while the first deletion
    is under way (deletes run in a worker thread), so the test's data is committed."""
    client = runs_client(monkeypatch)
    delete = client.delete_manifest

    def delete_then_ask_to_stop(*args: Any, **kwargs: Any) -> bool:
        result = delete(*args, **kwargs)
        try:
            retention_runs.request_stop(RetentionRun.objects.get(status=RetentionRun.Status.RUNNING))
        finally:
            connection.close()  # this worker thread's own connection
        return result

    monkeypatch.setattr(client, "delete_manifest", delete_then_ask_to_stop)
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    assert run.status == RetentionRun.Status.STOPPED
    outcomes = list(run.items.filter(action=Item.Action.DELETE).order_by("id").values_list("outcome", flat=True))
    assert outcomes == [Item.Outcome.DELETED, Item.Outcome.NOT_ATTEMPTED]
    assert len(wharf_registry.client().tags("acme/app")) == 4


def test_a_policy_that_would_empty_a_repository_keeps_its_latest_artifact(acme: Project, wharf_registry: Any) -> None:
    policy(acme, [rule(n=1, repos=["app"], tags=["no-such-*"])])
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    assert run.status == RetentionRun.Status.SUCCEEDED, run.message
    assert wharf_registry.client().tags("acme/app") == ["v4"]
    floor = run.items.get(action=Item.Action.SKIP)
    assert floor.tags == ["v4"] and "may not empty a repository" in floor.reason


def test_an_index_goes_with_its_children_and_comes_back_with_them(wharf_registry: Any) -> None:
    from repositories.services.recycle import restore
    from repositories.services.sync import sync_now
    from tests.support.images import build_index

    client = wharf_registry.client()
    index = build_index([build_image(architecture="amd64"), build_image(architecture="arm64")])
    push(client, "acme/multi", index, tag="old")
    seed(wharf_registry, "acme/multi", {"new": 0})
    project = Project.objects.get(name="acme")
    Tag.objects.filter(name="old").update(pushed_at=Tag.objects.get(name="new").pushed_at.replace(year=2020))
    policy(project, [rule(n=1)])
    run = retention_runs.run_now(project, ACTOR, dry_run=False)
    assert run.status == RetentionRun.Status.SUCCEEDED, run.message
    assert run.artifacts_deleted == 3, "the index and both children"
    assert client.tags("acme/multi") == ["new"]
    assert all(client.head_manifest("acme/multi", c.digest) is None for c in index.children)
    entry = RecycleBinEntry.objects.get()
    assert entry.digest == index.digest and len(entry.children) == 2
    restore(entry, actor=ACTOR)
    assert client.tags("acme/multi") == ["new", "old"]
    assert all(client.head_manifest("acme/multi", c.digest) == c.digest for c in index.children)
    assert sync_now().artifacts_added == 0, "the restored rows match the registry"


def test_a_transient_delete_failure_is_retried_and_then_succeeds(
    acme: Project, monkeypatch: pytest.MonkeyPatch, fast_retries: None, one_at_a_time: None
) -> None:
    from repositories.registry import RegistryUnavailable

    client = runs_client(monkeypatch)
    delete = client.delete_manifest
    failures = [RegistryUnavailable("503 from a test", status=503)]

    def flaky_delete(*args: Any, **kwargs: Any) -> bool:
        if failures:
            raise failures.pop()
        return delete(*args, **kwargs)

    monkeypatch.setattr(client, "delete_manifest", flaky_delete)
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    assert run.status == RetentionRun.Status.SUCCEEDED, run.message
    first = run.items.filter(action=Item.Action.DELETE).order_by("id").first()
    assert first.outcome == Item.Outcome.DELETED and first.attempts >= 2
    assert run.artifacts_deleted == 2


def test_a_refused_delete_is_reported_and_the_others_go_on(
    acme: Project, monkeypatch: pytest.MonkeyPatch, wharf_registry: Any
) -> None:
    from repositories.registry import RegistryError

    client = runs_client(monkeypatch)
    delete = client.delete_manifest
    refused = Tag.objects.get(name="v1").artifact.digest

    def refusing_delete(repository: str, digest: str, **kwargs: Any) -> bool:
        if digest == refused:
            raise RegistryError("deletes are disabled", transient=False, status=405, code="UNSUPPORTED")
        return delete(repository, digest, **kwargs)

    monkeypatch.setattr(client, "delete_manifest", refusing_delete)
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    assert run.status == RetentionRun.Status.FAILED and "1 deletion(s) failed" in run.message
    failed = run.items.get(digest=refused)
    assert failed.outcome == Item.Outcome.FAILED and "deletes are disabled" in failed.error
    assert run.items.filter(outcome=Item.Outcome.DELETED).count() == 1
    assert Artifact.objects.filter(digest=refused).exists(), "its rows stay"
    assert not RecycleBinEntry.objects.filter(digest=refused).exists()
    assert "v1" in wharf_registry.client().tags("acme/app")
