"""The whole tag list of a big repository is counted from the repository's kept `tag_count`:
past the exact count's bound the page shows it as an estimate and runs no count; below the
bound, and for any filtered list, the rows are counted."""

from __future__ import annotations

from typing import Any

from portal import keyset
from portal.keyset import EXACT_COUNT_LIMIT, Total
from repositories.models import Repository, Tag
from tests.conftest import World
from tests.pages.repository_content import make_content

URL = "/projects/acme/repositories/app/"


def test_a_known_count_past_the_bound_is_the_estimate_and_runs_no_query(
    world: World, django_assert_num_queries: Any
) -> None:
    content = make_content(world.private)
    tags = Tag.objects.filter(repository=content.repository)

    with django_assert_num_queries(0):
        assert keyset.count(tags, known=EXACT_COUNT_LIMIT + 1) == Total(EXACT_COUNT_LIMIT + 1, False)
    assert keyset.count(tags, known=EXACT_COUNT_LIMIT) == Total(6, True)  # within the bound: counted


def test_the_whole_tag_list_past_the_bound_shows_the_kept_count_as_about(world: World) -> None:
    content = make_content(world.private)
    Repository.objects.filter(pk=content.repository.pk).update(tag_count=123_456)
    client = world.client("guest")

    response = client.get(URL)
    assert response.context["total"] == Total(123_456, False)
    count = response.content.decode().split('id="tag-count">', 1)[1].split("</p>", 1)[0]
    assert "about" in count and "123,456" in count
    # A filtered list is counted, whatever the repository holds.
    assert client.get(URL, {"tag": "v1"}).context["total"] == Total(3, True)
    assert client.get(URL, {"accessories": "only"}).context["total"] == Total(0, True)
