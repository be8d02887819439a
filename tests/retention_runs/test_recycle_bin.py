"""The recycle bin against the real registry: restores pull whole, garbage collection is explained."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditAction, AuditEvent
from repositories.models import Artifact, Project, RecycleBinEntry, Tag
from repositories.services import retention, retention_runs
from repositories.services.artifacts import delete_artifact, delete_tag
from repositories.services.recycle import GC_MESSAGE, restore
from tests.retention_runs.helpers import ACTOR, rule, seed
from tests.support import skopeo
from tests.support.images import build_image, push
from tests.support.registry import REGISTRY_BINARY

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def delete_v1_by_retention(server: Any) -> RecycleBinEntry:
    seed(server, "acme/app", {"v1": 5, "v2": 1})
    project = Project.objects.get(name="acme")
    retention.save_policy(project, ACTOR, enabled=True, schedule="", allow_empty_repository=False, rules=[rule(n=1)])
    run = retention_runs.run_now(project, ACTOR, dry_run=False)
    assert run.artifacts_deleted == 1, run.message
    assert server.client().tags("acme/app") == ["v2"]
    return RecycleBinEntry.objects.get()


def test_an_artifact_restored_from_the_recycle_bin_pulls_whole_again(wharf_registry: Any, tmp_path: Path) -> None:
    entry = delete_v1_by_retention(wharf_registry)
    assert skopeo.inspect(wharf_registry, "acme/app:v1") is None
    restore(entry, actor=ACTOR)
    skopeo.pull_to_dir(wharf_registry, "acme/app:v1", tmp_path / "pulled")
    assert (tmp_path / "pulled" / "manifest.json").read_bytes() == bytes(entry.manifest)
    assert wharf_registry.client().tags("acme/app") == ["v1", "v2"]
    assert Tag.objects.get(name="v1").artifact.digest == entry.digest
    entry.refresh_from_db()
    assert entry.restored_at is not None and entry.restored_by == "test"
    assert AuditEvent.objects.get(action=AuditAction.RECYCLE_RESTORE).target_name == f"acme/app@{entry.digest}"
    with pytest.raises(ValidationError, match="undone already"):
        restore(entry, actor=ACTOR)


def test_a_restore_after_garbage_collection_says_the_layers_are_gone(wharf_registry: Any) -> None:
    entry = delete_v1_by_retention(wharf_registry)
    wharf_registry.stop()
    subprocess.run(
        [REGISTRY_BINARY, "garbage-collect", str(wharf_registry.config_path)],
        check=True, capture_output=True, timeout=60,
    )
    wharf_registry.start()
    with pytest.raises(ValidationError, match="garbage collection has removed its layers; it cannot be restored"):
        restore(entry, actor=ACTOR)
    assert GC_MESSAGE.endswith("it cannot be restored.")
    entry.refresh_from_db()
    assert entry.restored_at is None
    assert wharf_registry.client().tags("acme/app") == ["v2"]
    assert not Tag.objects.filter(name="v1").exists()


def test_a_restore_never_moves_a_tag_pushed_again_since(wharf_registry: Any) -> None:
    entry = delete_v1_by_retention(wharf_registry)
    newer = push(wharf_registry.client(), "acme/app", build_image(), tag="v1")
    with pytest.raises(ValidationError, match="`v1` now point at another image"):
        restore(entry, actor=ACTOR)
    assert wharf_registry.client().head_manifest("acme/app", "v1") == newer


def test_a_manual_artifact_delete_goes_to_the_recycle_bin_and_comes_back(wharf_registry: Any) -> None:
    client = wharf_registry.client()
    image = build_image()
    push(client, "acme/app", image, tag="a")
    push(client, "acme/app", image, tag="b")
    seed(wharf_registry, "acme/app", {"other": 1})
    delete_artifact(Tag.objects.get(name="a").artifact, actor=ACTOR)
    entry = RecycleBinEntry.objects.get()
    assert (entry.kind, entry.source, sorted(entry.tags)) == ("artifact", "manual", ["a", "b"])
    assert AuditEvent.objects.get(action=AuditAction.ARTIFACT_DELETE).details["recycle_bin_entry"] == entry.pk
    restore(entry, actor=ACTOR)
    assert client.tags("acme/app") == ["a", "b", "other"]
    assert sorted(Artifact.objects.get(digest=image.digest).tags.values_list("name", flat=True)) == ["a", "b"]


def test_a_manual_tag_delete_is_undone_by_re_tagging(wharf_registry: Any) -> None:
    client = wharf_registry.client()
    image = build_image()
    push(client, "acme/app", image, tag="v2")
    push(client, "acme/app", image, tag="v3")
    seed(wharf_registry, "acme/app", {})
    delete_tag(Tag.objects.get(name="v2"), actor=ACTOR)
    entry = RecycleBinEntry.objects.get()
    assert (entry.kind, list(entry.tags), entry.digest) == ("tag", ["v2"], image.digest)
    restore(entry, actor=ACTOR)
    assert client.tags("acme/app") == ["v2", "v3"]
    assert client.head_manifest("acme/app", "v2") == image.digest
    assert Tag.objects.get(name="v2").artifact.digest == image.digest


def test_a_failed_manual_delete_leaves_nothing_in_the_recycle_bin(wharf_registry: Any) -> None:
    from repositories.services.artifacts import RegistryActionFailed

    seed(wharf_registry, "acme/app", {"v1": 1})
    wharf_registry.stop()
    with pytest.raises(RegistryActionFailed):
        delete_artifact(Artifact.objects.get(), actor=ACTOR)
    assert not RecycleBinEntry.objects.exists()
