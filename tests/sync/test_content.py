"""Storing what was read from the registry onto rows."""

from __future__ import annotations

from datetime import UTC, datetime

from repositories.models import PushedAtSource
from repositories.registry.manifests import ImageConfig
from repositories.services.content import Fetched, _created
from repositories.services.sync import _estimated_push_time


def test_naive_creation_times_in_image_configs_are_read_as_utc() -> None:
    config = ImageConfig(created=datetime(2026, 1, 2, 3, 4, 5), os="linux", architecture="amd64")
    expected = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert _created(config) == expected
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert _estimated_push_time(Fetched(digest="d", config=config), now) == (expected, PushedAtSource.CREATED)


def test_push_time_estimate_never_lies_in_the_future() -> None:
    config = ImageConfig(created=datetime(2030, 1, 1, tzinfo=UTC), os="linux", architecture="amd64")
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert _estimated_push_time(Fetched(digest="d", config=config), now) == (now, PushedAtSource.SEEN)


def test_without_a_created_time_the_estimate_is_when_the_sync_saw_it() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert _estimated_push_time(Fetched(digest="d"), now) == (now, PushedAtSource.SEEN)
