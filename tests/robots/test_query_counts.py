"""The robots lists cost the same few queries whether a project has 1 robot or 30."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.api.conftest import JsonClient
from tests.conftest import World
from tests.robots.helpers import make_robot, make_system_robot


def _count(django_assert_max_num_queries: Any, fetch: Callable[[], Any]) -> int:
    with django_assert_max_num_queries(50) as context:
        assert fetch().status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize(
    ("persona", "url"),
    [("padmin", "/projects/acme/robots/"), ("developer", "/projects/acme/robots/")],
)
def test_robots_tab_queries_do_not_grow_with_robots(
    world: World, django_assert_max_num_queries: Any, persona: str, url: str
) -> None:
    client = world.client(persona)
    make_robot(world, "pull", name="r0")
    one = _count(django_assert_max_num_queries, lambda: client.get(url))
    for index in range(1, 30):
        make_robot(world, "pull", "push", name=f"r{index}", repository_patterns=["a-*"])
    many = _count(django_assert_max_num_queries, lambda: client.get(url))
    assert many == one
    assert many <= 12


def test_system_robots_page_queries_do_not_grow(world: World, django_assert_max_num_queries: Any) -> None:
    client = world.client("sysadmin")
    make_system_robot(world, "acme", name="s0")
    one = _count(django_assert_max_num_queries, lambda: client.get("/robots/"))
    for index in range(1, 20):
        make_system_robot(world, "acme", "pub", name=f"s{index}")
    assert _count(django_assert_max_num_queries, lambda: client.get("/robots/")) == one


def test_robots_api_list_queries_do_not_grow(
    world: World, api: Callable[[str], JsonClient], django_assert_max_num_queries: Any
) -> None:
    client = api("developer")
    make_robot(world, "pull", name="r0")
    one = _count(django_assert_max_num_queries, lambda: client.get("/api/v1/projects/acme/robots/"))
    for index in range(1, 30):
        make_robot(world, "pull", name=f"r{index}")
    assert _count(django_assert_max_num_queries, lambda: client.get("/api/v1/projects/acme/robots/")) == one
    assert one <= 8
