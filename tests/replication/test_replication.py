"""Replication against two and three real `docker-registry` processes: push and pull
of 50 repositories (an index with two platforms and a cosign signature among them),
a remote that fails half-way and the rerun that copies only what is missing, the
on-push trigger, the schedule, keeping and deleting remote tags."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from replication.models import RegistryEndpoint, ReplicationItem, ReplicationRule, ReplicationRun
from replication.services import runs
from repositories.models import Repository, Tag
from repositories.registry.builder import build_image, push
from repositories.registry.client import RegistryClient
from repositories.services.sync import sync_now
from tests.support.flaky_proxy import FlakyProxy

from .helpers import AccessLog, notify_push, push_content

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

ADMIN = Actor.system("tests")
REPOSITORIES = 50


@pytest.fixture(autouse=True)
def _key(settings: Any) -> None:
    settings.WHARF_REPLICATION_KEYS = [Fernet.generate_key().decode()]
    settings.WHARF_REPLICATION_TIMEOUT = 5.0


def _fill(client: Any, prefix: str, count: int = REPOSITORIES) -> dict[str, Any]:
    """`count` repositories: `{prefix}/multi` holds the index, an image and its cosign
    signature; the others one small image each (`v1`)."""
    content = push_content(client, f"{prefix}/multi")
    for i in range(count - 1):
        push(client, f"{prefix}/r{i:02d}", build_image(), "v1")
    return {"content": content}


def _rule(endpoint: RegistryEndpoint, **fields: Any) -> ReplicationRule:
    defaults = {"name": "rule", "direction": "push", "repositories": "acme/**", "destination_namespace": "dr"}
    return ReplicationRule.objects.create(endpoint=endpoint, **(defaults | fields))


def _items(run: ReplicationRun, status: str) -> list[str]:
    return sorted(run.items.filter(status=status).values_list("source", flat=True))


def test_push_replication_of_50_repositories_with_an_index_and_a_signature(
    world: Any, wharf_registry: Any, registry_factory: Any, django_capture_on_commit_callbacks: Any
) -> None:
    filled = _fill(wharf_registry.client(), "acme")
    assert sync_now().status == "succeeded"
    remote = registry_factory()
    endpoint = RegistryEndpoint.objects.create(name="dr", url=remote.url)
    rule = _rule(endpoint)
    run = runs.run_now(rule, actor=ADMIN)
    assert run.status == "succeeded", run.message
    # 49 images, and in acme/multi the index and the image (its .sig comes with it)
    assert run.items_total == REPOSITORIES + 1 and run.copied == REPOSITORIES + 1 and run.failed == 0
    client = remote.client()
    content = filled["content"]
    assert client.head_manifest("dr/multi", "multi") == content.index.digest
    for child in content.index.children:
        assert client.head_manifest("dr/multi", child.digest) == child.digest
    sig = content.image.digest.replace(":", "-") + ".sig"
    assert client.head_manifest("dr/multi", sig) == content.signature.digest
    assert ReplicationItem.objects.get(run=run, source="acme/multi:v1").referrers == 1
    assert len([n for n in client.catalog() if n.startswith("dr/")]) == REPOSITORIES
    assert run.stats["blobs_uploaded"] > 0 and run.stats["bytes_uploaded"] > 0
    end = AuditEvent.objects.get(action=AuditAction.REPLICATION_RUN_END)
    assert end.details["copied"] == REPOSITORIES + 1

    # Again: everything is there by digest; the remote receives no blob.
    log = AccessLog(remote)
    log.mark()
    again = runs.run_now(rule, actor=ADMIN)
    assert again.status == "succeeded" and again.skipped == REPOSITORIES + 1 and again.copied == 0
    assert log.blob_uploads() == 0


def test_pull_replication_of_50_repositories_into_wharf(
    world: Any, wharf_registry: Any, registry_factory: Any, django_capture_on_commit_callbacks: Any
) -> None:
    remote = registry_factory()
    filled = _fill(remote.client(), "upstream")
    endpoint = RegistryEndpoint.objects.create(name="hub", url=remote.url)
    rule = _rule(endpoint, direction="pull", repositories="upstream/**", destination_namespace="mirror")
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.run_now(rule, actor=ADMIN)
    assert run.status == "succeeded", run.message
    assert run.copied == REPOSITORIES + 1
    local = wharf_registry.client()
    content = filled["content"]
    assert local.head_manifest("mirror/multi", "multi") == content.index.digest
    assert local.head_manifest("mirror/multi", content.image.digest.replace(":", "-") + ".sig")
    # Wharf shows what it pulled at once, with details read by the push path's task.
    assert Repository.objects.filter(project__name="mirror").count() == REPOSITORIES
    index_tag = Tag.objects.select_related("artifact").get(repository__name="mirror/multi", name="multi")
    assert index_tag.artifact.details_synced and index_tag.artifact.children.count() == 2


def test_a_remote_failing_half_way_fails_readably_and_the_rerun_copies_only_what_is_missing(
    world: Any, wharf_registry: Any, registry_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every request to the failing remote is retried as always, without the backoff's
    # waits (0.2 + 0.4 + 0.8 s for each failed request: most of this test's 13 s).
    monkeypatch.setattr(RegistryClient, "_backoff", lambda self, attempt, response: 0.001)
    _fill(wharf_registry.client(), "acme")
    assert sync_now().status == "succeeded"
    remote = registry_factory()
    proxy = FlakyProxy(remote.url, fail_after=REPOSITORIES // 2).start()
    try:
        endpoint = RegistryEndpoint.objects.create(name="flaky", url=proxy.url)
        rule = _rule(endpoint, concurrency=4)
        first = runs.run_now(rule, actor=ADMIN)
        assert first.status == "failed"
        assert first.failed > 0 and first.copied >= REPOSITORIES // 2 - 4
        assert f"{first.failed} of {first.items_total} failed" in first.message and "503" in first.message
        reason = first.items.filter(status="failed").first()
        # What was asked and the status (with the registry's own words when its answer had a body).
        assert reason is not None and "HTTP 503" in reason.reason and "dr/" in reason.reason
        failed_before = _items(first, "failed")
        copied_before = _items(first, "copied")

        proxy.heal()
        log = AccessLog(remote)
        log.mark()
        rerun = runs.run_now(rule, actor=ADMIN)
        assert rerun.status == "succeeded", rerun.message
        assert _items(rerun, "copied") == failed_before
        assert _items(rerun, "skipped") == copied_before
        # Only the missing items' blobs were sent (each image: a config and a layer at most).
        assert 0 < log.blob_uploads() <= 4 * len(failed_before)
        assert rerun.stats["blobs_uploaded"] == log.blob_uploads()
    finally:
        proxy.stop()


def test_an_unreachable_endpoint_fails_the_run_with_its_reason_and_tells_system_webhooks(
    world: Any, wharf_registry: Any, settings: Any
) -> None:
    from tests.support.registry import free_port
    from webhooks.models import Delivery
    from webhooks.services import create_webhook

    settings.WHARF_WEBHOOKS_ALLOW_PRIVATE = True
    create_webhook(
        actor=ADMIN, project=None, name="ops", url="http://127.0.0.1:9/hook", events=["replication.finished"]
    )
    endpoint = RegistryEndpoint.objects.create(name="gone", url=f"http://127.0.0.1:{free_port()}")
    run = runs.run_now(_rule(endpoint), actor=ADMIN)
    assert run.status == "failed" and run.items_total == 0
    assert run.message.startswith("Endpoint gone (") and "connect" in run.message.lower()
    delivery = Delivery.objects.get(event="replication.finished")
    assert "connect" in str(delivery.payload).lower() and "rule" in str(delivery.payload)


def test_on_push_replication_reaches_the_remote_within_seconds(
    world: Any, wharf_registry: Any, registry_factory: Any, django_capture_on_commit_callbacks: Any
) -> None:
    remote = registry_factory()
    endpoint = RegistryEndpoint.objects.create(name="edge", url=remote.url)
    _rule(endpoint, trigger="on_push", tags="v*")
    image = build_image()
    started = time.monotonic()
    digest = push(wharf_registry.client(), "acme/app", image, "v2")
    with django_capture_on_commit_callbacks(execute=True):
        notify_push("acme/app", digest, image.media_type, tag="v2")
    assert remote.client().head_manifest("dr/app", "v2") == digest
    assert time.monotonic() - started < 5
    run = ReplicationRun.objects.get()
    assert run.trigger == "on_push" and run.only == {"repository": "acme/app", "tag": "v2"}
    # A tag the rule's filter leaves out starts nothing.
    push(wharf_registry.client(), "acme/app", image, "nightly")
    with django_capture_on_commit_callbacks(execute=True):
        notify_push("acme/app", digest, image.media_type, tag="nightly")
    assert ReplicationRun.objects.count() == 1


def test_keep_existing_tags_and_delete_on_the_remote(
    world: Any, wharf_registry: Any, registry_factory: Any
) -> None:
    local = wharf_registry.client()
    push(local, "acme/app", build_image(), "v1")
    push(local, "acme/app", build_image(), "v2")
    assert sync_now().status == "succeeded"
    remote = registry_factory()
    other = push(remote.client(), "dr/app", build_image(), "v1")
    push(remote.client(), "dr/app", build_image(), "old")
    endpoint = RegistryEndpoint.objects.create(name="dr", url=remote.url)
    rule = _rule(endpoint, override=False, delete_remote=True)
    run = runs.run_now(rule, actor=ADMIN)
    assert run.status == "succeeded", run.message
    kept = run.items.get(source="acme/app:v1")
    assert kept.status == "skipped" and "keeps existing tags" in kept.reason
    assert remote.client().head_manifest("dr/app", "v1") == other
    assert run.items.get(source="acme/app:old").status == "deleted"
    assert remote.client().tags("dr/app") == ["v1", "v2"]


def test_scheduled_rules_are_queued_once_per_due_minute(world: Any) -> None:
    endpoint = RegistryEndpoint.objects.create(name="dr", url="http://127.0.0.1:9")
    _rule(endpoint, trigger="scheduled", schedule="30 2 * * *")
    due = timezone.make_aware(datetime(2026, 12, 6, 2, 30, 10))
    assert len(runs.due_runs(due)) == 1
    assert runs.due_runs(due) == []
    assert runs.due_runs(timezone.make_aware(datetime(2026, 12, 6, 2, 31))) == []
