"""Rows made once per test module and shared by its tests, as Django's `setUpTestData`.

The permission matrices run thousands of tests against the same personas and projects;
making them again for each test was a good part of the suite's time. `module_rows`
opens a transaction around the whole module and a fixture built on it makes its rows
inside; each test then runs in a savepoint of that transaction (pytest-django's
`TestCase`), so what a test writes is rolled back after it, and the module's rows are
rolled back after the module. A test gets a deep copy of the shared model instances
(as `setUpTestData` does), so one test's in-memory changes cannot reach the next.

Shared rows must not change what any test sees: a fixture's rows are shared only when
every test of the module that uses the database asks for that fixture (`shares`), and
never in a module with a test that needs commits (`transaction=True`,
`transactional_db`, `live_server`). Otherwise the fixture makes its rows per test, as
before.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from django.db import connection, transaction
from django.test import override_settings

T = TypeVar("T")

# The fast hasher the suite's autouse fixture sets per test is not in force yet while
# module fixtures run.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _needs_commits(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    names = getattr(item, "fixturenames", ())
    return any(name in names for name in ("transactional_db", "live_server", "django_db_reset_sequences"))


def _uses_database(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return item.get_closest_marker("django_db") is not None or "db" in names or "_django_db_helper" in names


class ModuleRows:
    """The module's transaction, opened by the first `make(build)`, which runs `build` in it."""

    def __init__(self, blocker: Any, items: list[pytest.Item]) -> None:
        self._blocker = blocker
        self._items = [item for item in items if _uses_database(item)]
        self._atomic: Any = None

    def shares(self, fixture: str) -> bool:
        """Whether every test of the module that uses the database asks for `fixture`."""
        return all(fixture in getattr(item, "fixturenames", ()) for item in self._items)

    def make(self, build: Callable[[], T]) -> T:
        # A module fixture is set up before its first test's own transaction (pytest sets
        # up wider scopes first), so this transaction is the outer one.
        with self._blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
            if self._atomic is None:
                self._atomic = transaction.atomic()
                self._atomic.__enter__()
            return build()

    def roll_back(self) -> None:
        if self._atomic is None:
            return
        with self._blocker.unblock():
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)
            _clean_gin_pending_lists()
        self._atomic = None


def _clean_gin_pending_lists() -> None:
    """PostgreSQL keeps what is added to a GIN index (the trigram searches') in a pending
    list that every search reads whole until a vacuum or a 4 MB list merges it. Rows a
    module made at once (5,000 tag names) and rolled back left such a list behind, and
    the next modules' tag queries read it: 0.4 s each, 3.4 -> 37 s for
    tests/api/test_tag_cursor_pages.py. Merged here, as a vacuum would."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE a.amname = 'gin' AND n.nspname = current_schema()"
        )


@pytest.fixture(scope="module")
def module_rows(
    request: pytest.FixtureRequest, django_db_setup: None, django_db_blocker: Any
) -> Iterator[ModuleRows | None]:
    """The module's shared rows (None when a test of the module needs commits)."""
    module = request.node.obj  # type: ignore[attr-defined]
    items = [item for item in request.session.items if getattr(item, "module", None) is module]
    if any(_needs_commits(item) for item in items):
        yield None
        return
    rows = ModuleRows(django_db_blocker, items)
    try:
        yield rows
    finally:
        rows.roll_back()


def shared(module_rows: ModuleRows | None, fixture: str, build: Callable[[], T]) -> T | None:
    """For a module-scoped fixture: `build()`'s rows made once in the module's transaction
    when every database test of the module asks for `fixture`, else None."""
    if module_rows is None or not module_rows.shares(fixture):
        return None
    return module_rows.make(build)


def fresh(made: T | None, build: Callable[[], T]) -> T:
    """For the test's fixture: its own copy of the module's rows, or `build()`'s rows
    made for this test alone when the module does not share them."""
    return build() if made is None else copy.deepcopy(made)
