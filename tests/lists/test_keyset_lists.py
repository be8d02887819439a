"""Every long list pages by cursor (`portal.keyset`), page and API alike: walked forwards
from the first page or backwards from the last, in every offered order, it shows every
row exactly once and in the list's order, although rows are added between the pages
(sort values anywhere in the list, repeats and NULLs included): an OFFSET page would
repeat or skip rows then. Cursors from another list or order are refused (API: 400) or
start again (page)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from portal import keyset
from tests.conftest import World

from .specs import SPECS, ListSpec, scope, url

ROWS = 7  # plus the rows the world has (users, projects)
API_PAGE = 4
PAGE_SIZES = [
    "repositories.views.projects.PROJECTS_PER_PAGE",
    "repositories.views.repositories.REPOSITORIES_PER_PAGE",
    "repositories.views.scans.FINDINGS_PER_PAGE",
    "repositories.views.retention_runs.RUNS_PER_PAGE",
    "repositories.views.retention_runs.ITEMS_PER_PAGE",
    "repositories.views.recycle.ENTRIES_PER_PAGE",
    "accounts.views.robot_pages.ROBOTS_PER_PAGE",
    "accounts.views.users.USERS_PER_PAGE",
    "webhooks.views.DELIVERIES_SHOWN",
]


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    for target in PAGE_SIZES:
        monkeypatch.setattr(target, 4)


def _fill(world: World, spec: ListSpec, rng: random.Random) -> None:
    for k in range(ROWS):
        spec.make(world, rng, k)


def _api_pages(client: Any, first: str, params: dict[str, Any], link: str, grow: Any) -> list[list[Any]]:
    """The pages from `first` on, following `link` ("next" or "previous"), calling `grow`
    between pages."""
    response = client.get(first, params)
    assert response.status_code == 200, response.content
    body = response.json()
    pages = [body["results"]]
    while body[link]:
        grow()
        body = client.get(body[link]).json()
        pages.append(body["results"])
        assert len(pages) < 100, (first, params, [len(p) for p in pages][:10], pages[-3:])
    return pages


def _api_keys(pages: list[list[Any]], key: str) -> list[Any]:
    return [row[key] for page in pages for row in page]


def _grower(world: World, spec: ListSpec, rng: random.Random, added: Any, turns: int = 3) -> Any:
    """Adds one row at each of the first `turns` page turns (the lists stay short)."""
    left = [turns]

    def grow() -> None:
        if left[0] > 0:
            left[0] -= 1
            spec.make(world, rng, next(added))

    return grow


def _check(seen: list[Any], clean: list[Any], where: str) -> None:
    assert len(seen) == len(set(seen)), (where, "a row was shown twice")
    originals = set(clean)
    assert [k for k in seen if k in originals] == clean, (where, "a row was skipped or out of order")


@pytest.mark.parametrize("spec", [s for s in SPECS if s.api], ids=lambda s: s.name)
def test_api_list_shows_every_row_once_while_rows_are_added(world: World, api: Any, spec: ListSpec) -> None:
    rng = random.Random(spec.name)
    _fill(world, spec, rng)
    client = api(spec.user)
    address = url(world, spec.api or "")
    added = iter(range(1000, 100_000))
    for order in spec.api_orders:
        params: dict[str, Any] = {"page_size": API_PAGE} | ({"ordering": order} if order else {})
        clean = _api_keys(_api_pages(client, address, params, "next", lambda: None), spec.api_key)
        assert len(clean) >= ROWS and len(clean) == len(set(clean)), (spec.name, order)

        forward = _api_pages(client, address, params, "next", _grower(world, spec, rng, added))
        _check(_api_keys(forward, spec.api_key), clean, f"{spec.name} {order} forward")

        # Backwards from the last page; new rows since the clean walk are left out of the check.
        clean = _api_keys(_api_pages(client, address, params, "next", lambda: None), spec.api_key)
        last = client.get(address, params).json()["last"]
        backward = _api_pages(client, last, {}, "previous", _grower(world, spec, rng, added))
        _check(_api_keys(list(reversed(backward)), spec.api_key), clean, f"{spec.name} {order} backward")


def _page_walk(
    client: Any, address: str, params: dict[str, Any], direction: str, grow: Any
) -> list[list[Any]]:
    response = client.get(address, params)
    assert response.status_code == 200, (address, params)
    page = response.context["page"]
    if direction == "previous":
        response = client.get(address, params | {"cursor": page.last} if page.last else params)
        page = response.context["page"]
    pages = [[row.pk for row in page.rows]]
    while getattr(page, direction):
        grow()
        response = client.get(address, params | {"cursor": getattr(page, direction)})
        assert response.status_code == 200
        page = response.context["page"]
        pages.append([row.pk for row in page.rows])
        assert len(pages) < 100
    return pages


@pytest.mark.parametrize("spec", [s for s in SPECS if s.page], ids=lambda s: s.name)
def test_page_shows_every_row_once_while_rows_are_added(
    world: World, small_pages: None, spec: ListSpec
) -> None:
    rng = random.Random(spec.name)
    _fill(world, spec, rng)
    client = world.client(spec.user)
    address = url(world, spec.page or "")
    added = iter(range(1000, 100_000))
    for sort in spec.page_sorts:
        params = {"sort": sort} if sort else {}
        clean = [k for page in _page_walk(client, address, params, "next", lambda: None) for k in page]
        assert len(clean) >= ROWS, (spec.name, sort)

        forward = _page_walk(client, address, params, "next", _grower(world, spec, rng, added))
        _check([k for page in forward for k in page], clean, f"{spec.name} {sort} forward")

        clean = [k for page in _page_walk(client, address, params, "next", lambda: None) for k in page]
        backward = _page_walk(client, address, params, "previous", _grower(world, spec, rng, added))
        _check([k for page in reversed(backward) for k in page], clean, f"{spec.name} {sort} backward")


@pytest.mark.parametrize("spec", [s for s in SPECS if s.api], ids=lambda s: s.name)
def test_api_refuses_a_cursor_of_another_list_or_a_page_number(
    world: World, api: Any, spec: ListSpec
) -> None:
    client = api(spec.user)
    scope(world)
    address = url(world, spec.api or "")
    foreign = keyset.encode(keyset.Ordering("elsewhere", ("id",)), keyset.Position(values=(1,)))
    response = client.get(address, {"cursor": foreign})
    assert response.status_code == 400, (spec.name, response.content)
    assert "cursor" in response.content.decode()
    assert client.get(address, {"cursor": "not-a-cursor"}).status_code == 400
    assert client.get(address, {"page": 2}).status_code == 400
