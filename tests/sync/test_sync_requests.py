"""What a full sync asks the registry, read from the real registry's own request log."""

from __future__ import annotations

import re
import time
from contextlib import ExitStack

import pytest

from repositories.models import SyncRun, Tag
from repositories.services.registry import registry_client
from repositories.services.sync import sync_now
from tests.support.images import build_image, push
from tests.support.registry import RegistryServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

_COMPLETED = re.compile(
    r'msg="response completed.*?http\.request\.method=(\S+) http\.request\.remoteaddr="([^"]+)" '
    r'http\.request\.uri="?([^"\s]+)'  # logfmt quotes a URI with a query string
)


def _log_offset(server: RegistryServer) -> int:
    return server.log_path.stat().st_size


def _requests(server: RegistryServer, since: int, expected: int) -> list[tuple[str, str, str]]:
    """(method, uri, client address) of every request answered after `since` bytes of log.

    The registry logs a request just after answering it, so the last lines may lag the
    client by a moment: wait (briefly) until `expected` are there.
    """
    deadline = time.monotonic() + 5
    while True:
        with server.log_path.open("rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        found = [(m[1], m[3], m[2]) for m in _COMPLETED.finditer(text)]
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_unchanged_registry_costs_tag_lists_and_one_head_per_tag(wharf_registry) -> None:
    client = wharf_registry.client()
    for i in range(3):
        push(client, f"proj/app{i}", build_image(), tag="v1")
        push(client, f"proj/app{i}", build_image(), tag="v2")
    assert sync_now().status == SyncRun.Status.SUCCEEDED
    since = _log_offset(wharf_registry)
    run = sync_now()
    assert run.status == SyncRun.Status.SUCCEEDED and run.tags_seen == 6
    seen = sorted((method, uri) for method, uri, _ in _requests(wharf_registry, since, run.requests))
    tag_lists = [("GET", f"/v2/proj/app{i}/tags/list") for i in range(3)]
    heads = [("HEAD", f"/v2/proj/app{i}/manifests/{tag}") for i in range(3) for tag in ("v1", "v2")]
    assert seen == sorted([("GET", "/v2/_catalog?n=100"), *tag_lists, *heads])
    assert run.requests == len(seen) == 1 + 3 + 6


def test_tag_moved_to_a_new_digest_is_found_by_head_and_fetched(wharf_registry) -> None:
    client = wharf_registry.client()
    first, moved = build_image(labels={"n": "1"}), build_image(labels={"n": "2"})
    push(client, "proj/app", first, tag="latest")
    push(client, "proj/app", first, tag="stable")
    sync_now()
    push(client, "proj/app", moved, tag="latest")
    since = _log_offset(wharf_registry)
    run = sync_now()
    assert (run.status, run.tags_updated, run.artifacts_added) == (SyncRun.Status.SUCCEEDED, 1, 1)
    latest = Tag.objects.get(name="latest").artifact
    assert latest.digest == moved.digest and latest.details_synced and latest.labels == {"n": "2"}
    assert Tag.objects.get(name="stable").artifact.digest == first.digest
    seen = sorted((method, uri) for method, uri, _ in _requests(wharf_registry, since, run.requests))
    assert seen == sorted(
        [
            ("GET", "/v2/_catalog?n=100"),
            ("GET", "/v2/proj/app/tags/list"),
            ("HEAD", "/v2/proj/app/manifests/latest"),
            ("HEAD", "/v2/proj/app/manifests/stable"),
            # The new digest, by digest (what HEAD named), then its config; nothing of the known one.
            ("GET", f"/v2/proj/app/manifests/{moved.digest}"),
            ("GET", f"/v2/proj/app/blobs/{moved.config.digest}"),
        ]
    )


def test_client_pool_holds_the_sync_concurrency(wharf_registry, settings) -> None:
    # Above the client's default of 20 connections, so the setting is what makes room.
    settings.WHARF_SYNC_CONCURRENCY = 24
    image = build_image()
    push(wharf_registry.client(), "proj/app", image, tag="v1")
    wharf = registry_client()
    since = _log_offset(wharf_registry)
    with ExitStack() as stack:
        # Each open stream holds its connection: a smaller pool would time out waiting.
        streams = [
            stack.enter_context(wharf.open_blob("proj/app", image.config.digest)) for _ in range(24)
        ]
        assert all(stream.size for stream in streams)
    addresses = {address for *_, address in _requests(wharf_registry, since, 24)}
    assert len(addresses) == 24, "every request in flight had its own connection"
