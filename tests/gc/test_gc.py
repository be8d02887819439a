"""Garbage collection of Wharf's own registry, against the real `docker-registry` binary."""

from __future__ import annotations

from pathlib import Path

import pytest

from accounts.registry_auth.grants import Principal, compute_grants
from accounts.registry_auth.scopes import parse_scopes
from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from repositories.models import GcRun, Project, RetentionRun, Tag
from repositories.services import gc
from tests.support.images import BuiltManifest, build_image, make_layer, push
from tests.support.skopeo import pull_to_dir

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def _blob_file(storage: Path, digest: str) -> Path:
    hex_digest = digest.split(":", 1)[1]
    return storage / "docker" / "registry" / "v2" / "blobs" / "sha256" / hex_digest[:2] / hex_digest / "data"


@pytest.fixture
def own_registry(wharf_registry, settings):
    """The test registry's config is the one Wharf runs (as `registry_config` writes it)."""
    settings.WHARF_REGISTRY_CONFIG = str(wharf_registry.config_path)
    return wharf_registry


@pytest.fixture
def kept_and_deleted(own_registry) -> tuple[BuiltManifest, BuiltManifest]:
    """team/app:keep [base, k] stays; team/app:drop [base, d] is deleted (its blobs stay on disk)."""
    base = make_layer()
    keep = build_image(layer_blobs=[base, make_layer()], labels={"n": "keep"})
    drop = build_image(layer_blobs=[base, make_layer()], labels={"n": "drop"})
    client = own_registry.client()
    push(client, "team/app", keep, tag="keep")
    push(client, "team/app", drop, tag="drop")
    client.delete_manifest("team/app", drop.digest)
    return keep, drop


def _run(**kwargs: bool) -> GcRun:
    run = gc.request_gc(actor=Actor.system("admin"), **kwargs)
    claimed = gc.claim_gc(run.pk)
    assert claimed is not None
    return gc.execute_gc(claimed)


def test_gc_removes_the_deleted_images_unique_blobs_and_the_kept_image_still_pulls(
    own_registry, kept_and_deleted, tmp_path
) -> None:
    keep, drop = kept_and_deleted
    storage = own_registry.storage
    unique = [drop.digest, drop.config.digest, drop.layers[1].digest]
    assert all(_blob_file(storage, d).exists() for d in unique), "a delete leaves blobs on disk"

    dry = _run(dry_run=True)
    assert dry.status == GcRun.Status.SUCCEEDED, dry.message
    assert all(_blob_file(storage, d).exists() for d in unique), "a dry run removes nothing"
    expected_bytes = len(drop.raw) + drop.config.size + drop.layers[1].size
    assert (dry.blobs_removed, dry.bytes_removed) == (3, expected_bytes)

    real = _run(dry_run=False)
    assert real.status == GcRun.Status.SUCCEEDED, real.message
    assert (real.blobs_removed, real.bytes_removed) == (3, expected_bytes)
    assert not any(_blob_file(storage, d).exists() for d in unique)
    for blob in (keep.config, *keep.layers):
        assert _blob_file(storage, blob.digest).exists(), "the kept image's blobs, the shared layer too, stay"
    pull_to_dir(own_registry, "team/app:keep", tmp_path / "pulled")
    assert (tmp_path / "pulled" / "manifest.json").exists()
    ends = AuditEvent.objects.filter(action=AuditAction.GC_END).order_by("id")
    assert [e.details["bytes_removed"] for e in ends] == [expected_bytes, expected_bytes]
    assert AuditEvent.objects.filter(action=AuditAction.GC_REQUEST).count() == 2


def test_gc_refuses_a_registry_config_that_is_not_wharfs_own(own_registry, settings, tmp_path) -> None:
    settings.WHARF_REGISTRY_CONFIG = str(tmp_path / "missing.yml")
    with pytest.raises(gc.GcRefused, match="Wharf collects garbage only in the registry it runs itself"):
        gc.request_gc(actor=Actor.system())
    other = tmp_path / "other.yml"
    other.write_text(own_registry.config_path.read_text())
    settings.WHARF_REGISTRY_CONFIG = str(other)
    settings.REGISTRY_URL = "http://127.0.0.1:1"
    with pytest.raises(gc.GcRefused, match="not the config of Wharf's registry"):
        gc.request_gc(actor=Actor.system())
    assert not GcRun.objects.exists() and not AuditEvent.objects.filter(action=AuditAction.GC_REQUEST).exists()


def test_gc_never_starts_beside_another_gc_or_a_retention_run(own_registry, world) -> None:
    first = gc.request_gc(actor=Actor.system())
    with pytest.raises(gc.GcRefused, match="already queued or running"):
        gc.request_gc(actor=Actor.system())
    first.status = GcRun.Status.SUCCEEDED
    first.save()
    RetentionRun.objects.create(project=world.private, status=RetentionRun.Status.RUNNING)
    with pytest.raises(gc.GcRefused, match="retention run"):
        gc.request_gc(actor=Actor.system())


def test_no_push_or_delete_is_granted_while_gc_sweeps(world) -> None:
    developer = Principal.for_user(world.users["developer"])
    scopes = parse_scopes(["repository:acme/app:pull,push"])
    assert compute_grants(developer, scopes)[0].access.actions == ("pull", "push")
    gc.cache.set(gc.PUSH_FREEZE_KEY, 1)
    try:
        assert compute_grants(developer, scopes)[0].access.actions == ("pull",)
        assert compute_grants(developer, parse_scopes(["repository:acme/app:pull"]))[0].access.actions == ("pull",)
    finally:
        gc.cache.delete(gc.PUSH_FREEZE_KEY)


def test_a_retention_run_deletes_nothing_while_a_gc_is_active(wharf_registry) -> None:
    from repositories.services import retention, retention_runs
    from tests.retention_runs.helpers import ACTOR, rule, seed

    seed(wharf_registry, "acme/app", {"v1": 5, "v2": 1})
    acme = Project.objects.get(name="acme")
    retention.save_policy(acme, ACTOR, enabled=True, schedule="", allow_empty_repository=False, rules=[rule(n=1)])
    GcRun.objects.create(status=GcRun.Status.RUNNING, dry_run=False)
    run = retention_runs.run_now(acme, ACTOR, dry_run=False)
    assert run.status == RetentionRun.Status.FAILED and "garbage collection" in run.message
    assert run.artifacts_deleted == 0 and Tag.objects.filter(repository__name="acme/app").count() == 2


def test_a_gc_refused_in_the_worker_records_english_and_shows_in_the_readers_language(
    own_registry, world, settings, tmp_path
) -> None:
    """The worker runs in English; the run's record keeps the message's id and parameters,
    so a zh-Hans reader of the GC page reads it in Chinese, the path verbatim."""
    from django.utils import translation

    from repositories.templatetags.stored_text import in_language

    run = gc.request_gc(actor=Actor.system())
    settings.WHARF_REGISTRY_CONFIG = str(tmp_path / "missing.yml")
    with translation.override("zh-hans"):  # a request's language must not leak into the record
        gc.execute_gc(run)
    run.refresh_from_db()
    assert run.status == GcRun.Status.FAILED
    assert run.message.startswith(f"No registry config at {tmp_path / 'missing.yml'}: Wharf collects garbage")
    assert run.message_i18n["id"].startswith("No registry config at %(path)s")
    with translation.override("zh-hans"):
        shown = str(in_language(run, "message"))
    assert "Wharf collects" not in shown and f'<span translate="no">{tmp_path / "missing.yml"}</span>' in shown
