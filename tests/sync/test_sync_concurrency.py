"""A full sync spreads one repository's tags over the pool, and still reads each digest once."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from repositories.models import Artifact, SyncRun, Tag
from repositories.services import sync
from repositories.services.sync import _chunks, sync_now
from tests.support.images import build_image, push
from tests.sync.test_sync_requests import _log_offset, _requests

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_chunks_give_every_thread_several_and_stay_bounded() -> None:
    tags = [f"t{i:03d}" for i in range(10)]
    assert [len(c) for c in _chunks(tags, 4)] == [4, 4, 2]  # never below MIN_TAGS_PER_CHUNK
    assert [len(c) for c in _chunks([f"t{i}" for i in range(640)], 16)] == [10] * 64
    big = [str(i) for i in range(20_000)]
    assert {len(c) for c in _chunks(big, 16)} == {sync.TAGS_PER_CHUNK}
    assert [t for c in _chunks(big, 16) for t in c] == big


def test_one_repository_is_read_by_several_threads_at_once(wharf_registry, settings, monkeypatch) -> None:
    settings.WHARF_SYNC_CONCURRENCY = 4
    client = wharf_registry.client()
    image = build_image()
    for i in range(8):
        push(client, "proj/big", image, tag=f"v{i}")
    # Two chunks of the one repository must be in flight together: read one after the
    # other (a thread per repository), the second never reaches the barrier in time.
    together = threading.Barrier(2, timeout=10)
    calls = iter(range(1_000_000))
    original = sync.fetch_tags

    def fetch_tags_together(*args: Any, **kwargs: Any) -> sync.Listing:
        if next(calls) < 2:  # the first two chunks meet here; later ones pass
            together.wait()
        return original(*args, **kwargs)

    monkeypatch.setattr(sync, "fetch_tags", fetch_tags_together)
    run = sync_now()
    assert (run.status, run.tags_seen, run.errors) == (SyncRun.Status.SUCCEEDED, 8, [])
    assert Tag.objects.filter(repository__name="proj/big").count() == 8


def test_tags_sharing_a_digest_in_different_chunks_read_it_once(wharf_registry, settings) -> None:
    settings.WHARF_SYNC_CONCURRENCY = 4  # 12 tags: three chunks of four, each with all three digests
    client = wharf_registry.client()
    images = [build_image(labels={"n": str(n)}) for n in range(3)]
    for i in range(12):
        push(client, "proj/shared", images[i % 3], tag=f"t{i:02d}")
    since = _log_offset(wharf_registry)
    run = sync_now()
    assert (run.status, run.tags_seen, run.artifacts_added) == (SyncRun.Status.SUCCEEDED, 12, 3)
    seen = _requests(wharf_registry, since, run.requests)
    blob_reads = sorted(uri for method, uri, _ in seen if "/blobs/" in uri)
    assert blob_reads == sorted(f"/v2/proj/shared/blobs/{image.config.digest}" for image in images)
    manifest_reads: Sequence[str] = [uri for method, uri, _ in seen if "/manifests/" in uri]
    assert len(manifest_reads) == 12 and run.requests == 1 + 1 + 12 + 3
    assert all(a.details_synced for a in Artifact.objects.filter(repository__name="proj/shared"))
    assert {t.name: t.artifact.labels["n"] for t in Tag.objects.select_related("artifact")} == {
        f"t{i:02d}": str(i % 3) for i in range(12)
    }


def test_a_big_repository_is_written_in_parts_and_ends_whole(wharf_registry, settings, monkeypatch) -> None:
    settings.WHARF_SYNC_CONCURRENCY = 2  # 40 tags: ten chunks of four
    monkeypatch.setattr(sync, "PARTIAL_APPLY_TAGS", 8)
    client = wharf_registry.client()
    images = [build_image(labels={"n": str(n)}) for n in range(20)]
    for i in range(40):
        push(client, "proj/huge", images[i % 20], tag=f"t{i:02d}")
    removed = build_image(labels={"n": "removed"})
    push(client, "proj/huge", removed, tag="zz-removed")
    assert sync_now().status == SyncRun.Status.SUCCEEDED
    # Wharf forgets everything but the tag about to go; the registry drops that tag.
    Tag.objects.exclude(name="zz-removed").delete()
    Artifact.objects.exclude(digest=removed.digest).delete()
    client.delete_manifest("proj/huge", removed.digest)
    parts: list[bool] = []
    original = sync.apply_listing

    def recording(listing: sync.Listing, *, actor: Any, complete: bool = True) -> sync.Counts:
        parts.append(complete)
        return original(listing, actor=actor, complete=complete)

    monkeypatch.setattr(sync, "apply_listing", recording)
    run = sync_now()
    assert parts.count(False) >= 2 and parts[-1] is True, parts
    # Counted once; each tag on its image (a tag whose digest another part fetched is
    # written with the complete listing); removals only once the listing is complete.
    assert (run.status, run.tags_seen, run.tags_added, run.artifacts_added, run.artifacts_updated) == (
        SyncRun.Status.SUCCEEDED,
        40,
        40,
        20,
        0,
    )
    assert run.tags_removed == 1 and not Tag.objects.filter(name="zz-removed").exists()
    assert {t.name: t.artifact.labels["n"] for t in Tag.objects.select_related("artifact")} == {
        f"t{i:02d}": str(i % 20) for i in range(40)
    }
    assert all(a.details_synced for a in Artifact.objects.exclude(digest=removed.digest))
