"""Responses are released so keep-alive connections are reused, not reopened per request."""

from __future__ import annotations

import pytest

from repositories.registry.transport import KeepAliveTransport
from tests.support.images import build_image, push
from tests.support.registry import unique_repo

pytestmark = pytest.mark.slow


def test_head_and_small_responses_reuse_one_connection(registry, monkeypatch) -> None:
    opened: list[object] = []
    real_open = KeepAliveTransport._open

    def counting_open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(args)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(KeepAliveTransport, "_open", counting_open)
    client = registry.client()
    repo = unique_repo()
    push(client, repo, build_image(), tag="v1")
    opened.clear()
    for _ in range(10):
        assert client.head_manifest(repo, "v1") is not None
        assert client.head_manifest(repo, "missing") is None
    assert len(opened) <= 1, f"{len(opened)} connections opened for 20 sequential requests"
