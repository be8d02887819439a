"""Storing what was read from the registry onto rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db.models import Max, Sum

from repositories.models import Artifact, PushedAtSource, Repository, Tag
from repositories.registry.manifests import ImageConfig
from repositories.services.content import Fetched, _created, refresh_repository_counts
from repositories.services.sync import _estimated_push_time
from tests.factories import ProjectFactory


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


def _expected_counts(repository: Any) -> dict[str, Any]:
    """The counts as separate ORM aggregates: what the single UPDATE must equal."""
    top = Artifact.objects.filter(repository=repository, parent__isnull=True)
    totals = top.aggregate(size=Sum("size"), pulls=Sum("pull_count"), last_pull=Max("last_pull_at"))
    return {
        "tag_count": repository.tags.count(),
        "artifact_count": top.count(),
        "size": totals["size"] or 0,
        "pull_count": totals["pulls"] or 0,
        "last_pull_at": totals["last_pull"],
        "last_push_at": repository.tags.aggregate(last=Max("pushed_at"))["last"],
    }


def _counts(repository: Any) -> dict[str, Any]:
    return Repository.objects.filter(pk=repository.pk).values(
        "tag_count", "artifact_count", "size", "pull_count", "last_pull_at", "last_push_at"
    )[0]


@pytest.mark.django_db
def test_repository_counts_are_its_rows_aggregates_index_children_left_out() -> None:
    project = ProjectFactory(name="counts")
    repository = Repository.objects.create(name="counts/app", project=project, tag_count=99, size=5)
    other = Repository.objects.create(name="counts/other", project=project)
    when = datetime(2026, 3, 1, tzinfo=UTC)
    index = Artifact.objects.create(
        repository=repository, digest="sha256:" + "1" * 64, size=100, pull_count=3
    )
    Artifact.objects.create(
        repository=repository,
        digest="sha256:" + "2" * 64,
        size=40,
        pull_count=7,
        parent=index,
        last_pull_at=when + timedelta(days=9),
    )
    image = Artifact.objects.create(
        repository=repository, digest="sha256:" + "3" * 64, size=20, pull_count=1, last_pull_at=when
    )
    Artifact.objects.create(repository=other, digest="sha256:" + "4" * 64, size=1000, pull_count=50)
    Tag.objects.create(repository=repository, name="v1", artifact=index, pushed_at=when)
    Tag.objects.create(repository=repository, name="v2", artifact=image, pushed_at=when + timedelta(hours=2))
    Tag.objects.create(
        repository=repository, name="v2-alias", artifact=image, pushed_at=when - timedelta(days=1)
    )

    refresh_repository_counts(repository)
    counts = _counts(repository)
    assert counts == _expected_counts(repository)
    assert counts == {
        "tag_count": 3,
        "artifact_count": 2,
        "size": 120,
        "pull_count": 4,
        "last_pull_at": when,
        "last_push_at": when + timedelta(hours=2),
    }


@pytest.mark.django_db
def test_an_emptied_repository_counts_zero_and_never() -> None:
    repository = Repository.objects.create(
        name="counts/empty",
        project=ProjectFactory(name="counts-empty"),
        tag_count=4,
        artifact_count=2,
        size=9,
        pull_count=3,
        last_pull_at=datetime(2026, 1, 1, tzinfo=UTC),
        last_push_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    refresh_repository_counts(repository)
    assert _counts(repository) == {
        "tag_count": 0,
        "artifact_count": 0,
        "size": 0,
        "pull_count": 0,
        "last_pull_at": None,
        "last_push_at": None,
    }


@pytest.mark.django_db
def test_repository_counts_are_one_statement(django_assert_num_queries: Any) -> None:
    repository = Repository.objects.create(name="counts/one", project=ProjectFactory(name="counts-one"))
    with django_assert_num_queries(1):
        refresh_repository_counts(repository)
