"""List pages say which filter value they could not read, show the list without
it, and never fail on it."""

from __future__ import annotations

import pytest

from tests.api.conftest import fill_project
from tests.conftest import World


@pytest.mark.parametrize(
    ("url", "query", "label"),
    [
        ("/projects/", {"sort": "bogus"}, "Sort by"),
        ("/projects/", {"page": "abc"}, "Page"),
        ("/users/", {"q": "x" * 300}, "Search"),
        ("/projects/acme/repositories/", {"sort": "bogus"}, "Sort"),
    ],
)
def test_unreadable_filter_value_is_named_inline(
    world: World, url: str, query: dict[str, str], label: str
) -> None:
    fill_project(world.private)
    response = world.client("sysadmin").get(url, query)
    assert response.status_code == 200
    text = response.content.decode()
    assert "This filter was not applied." in text
    assert label in text


def test_readable_filters_show_no_warning(world: World) -> None:
    response = world.client("sysadmin").get("/projects/", {"sort": "-name"})
    assert "This filter was not applied." not in response.content.decode()
