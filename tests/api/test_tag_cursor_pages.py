"""The tags API pages by cursor (`portal.keyset`): following `next` from the first page,
or `previous` from the last, lists every tag once in the order asked, ties broken by name
and never-pulled tags in their own segment; bad cursors and page numbers are a 400."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from repositories.models import Artifact, Repository, Tag
from repositories.tag_lists import TAG_ORDERINGS
from tests.api.conftest import digest_of
from tests.conftest import World

URL = "/api/v1/repositories/acme/paged/-/tags/"


@pytest.fixture
def paged(world: World) -> list[Tag]:
    """23 tags on 7 artifacts (sizes and pulls repeat), a third never pulled, pushes repeating."""
    repository = Repository.objects.create(project=world.private, name="acme/paged")
    now = timezone.now()
    artifacts = Artifact.objects.bulk_create(
        Artifact(repository=repository, digest=digest_of(f"paged-{i}"), size=i % 3, pull_count=i % 2)
        for i in range(7)
    )
    return Tag.objects.bulk_create(
        Tag(
            repository=repository,
            name=f"t{(i * 7) % 23:02}",
            artifact=artifacts[i % 7],
            pushed_at=now - timedelta(hours=i % 4),
            last_pull_at=None if i % 3 == 0 else now - timedelta(minutes=i % 5),
        )
        for i in range(23)
    )


def _expected(tags: list[Tag], ordering: str) -> list[str]:
    """The order `ordering` means, computed in Python: its keys in its direction, NULL smallest."""
    keyset = TAG_ORDERINGS[ordering]

    def key(tag: Tag) -> tuple[Any, ...]:
        values = []
        for path in keyset.keys:
            value: Any = tag
            for part in path.split("__"):
                value = getattr(value, part)
            values.append((value is not None, value))
        return tuple(values)

    return [t.name for t in sorted(tags, key=key, reverse=keyset.descending)]


def _walk(client: Any, url: str | None, link: str) -> list[str]:
    names: list[str] = []
    while url:
        body = client.get(url).json()
        page = [row["name"] for row in body["results"]]
        names = names + page if link == "next" else page + names
        url = body[link]
    return names


@pytest.mark.parametrize("ordering", list(TAG_ORDERINGS))
def test_following_the_links_lists_every_tag_once_in_order(
    api: Any, paged: list[Tag], ordering: str
) -> None:
    for tag in paged:
        tag.refresh_from_db()
    expected = _expected(paged, ordering)
    client = api("guest")

    first = client.get(URL, {"ordering": ordering, "page_size": 5}).json()
    forwards = _walk(client, f"{URL}?ordering={ordering}&page_size=5", "next")
    backwards = _walk(client, first["last"], "previous")

    assert forwards == expected
    assert backwards == expected
    assert first["count"] == 23 and first["count_exact"] is True
    assert first["previous"] is None and first["first"] is None and first["next"] and first["last"]


@pytest.mark.parametrize("cursor", ["nonsense", "eyJvIjoibmFtZSJ9", "e30"])
def test_a_cursor_that_is_not_one_is_a_400_naming_it(api: Any, paged: list[Tag], cursor: str) -> None:
    response = api("guest").get(URL, {"cursor": cursor})

    assert response.status_code == 400
    assert "cursor" in response.json()["errors"] if "errors" in response.json() else "cursor" in response.json()


def test_a_cursor_of_another_ordering_is_a_400(api: Any, paged: list[Tag]) -> None:
    by_name = api("guest").get(URL, {"page_size": 5}).json()["next"]

    response = api("guest").get(by_name.replace("?", "?ordering=-size&", 1))

    assert response.status_code == 400
    assert "another ordering" in response.content.decode()


def test_a_page_number_is_a_400_that_says_to_follow_the_links(api: Any, paged: list[Tag]) -> None:
    response = api("guest").get(URL, {"page": 2})

    assert response.status_code == 400
    assert "follow `next`" in response.content.decode()
