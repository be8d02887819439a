"""Work on a second connection (`repositories.services.overlap`): where it runs, that it
answers what the caller's own connection would, and the preview's and the advice's use of it.

The overlapped path needs committed rows (a second connection sees nothing else), so those
tests use `transaction=True`; the inline path is the one every test inside a transaction takes.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from repositories.models import Artifact, Project, Tag
from repositories.services import retention
from repositories.services.overlap import Beside, may_overlap
from repositories.services.retention_advisor import advice_for, start_advice
from tests.retention_runs.helpers import rows, rule


def _where() -> tuple[int, Any]:
    """This thread, and the database connection object it uses."""
    connection.ensure_connection()
    return threading.get_ident(), connection.connection


@pytest.mark.django_db
def test_inside_a_transaction_the_work_runs_inline_when_asked_for() -> None:
    # A test's transaction holds rows no other connection sees: so must a request's.
    assert connection.in_atomic_block and not may_overlap()
    calls: list[tuple[int, Any]] = []
    beside = Beside(lambda: calls.append(_where()) or len(calls))
    assert not beside.overlapped
    assert calls == []  # nothing ran yet
    assert beside.result() == 1 and beside.result() == 1  # once, whatever the calls
    assert calls == [_where()]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_work_runs_on_another_thread_and_connection() -> None:
    connection.ensure_connection()
    assert not connection.in_atomic_block and may_overlap()
    release = threading.Event()
    seen: list[Any] = []

    def work() -> int:
        seen.append(_where())
        seen.append(connections[DEFAULT_DB_ALIAS])  # the thread's own wrapper, to look at after
        release.wait(5)
        return Project.objects.count()

    Project.objects.create(name="committed")
    beside = Beside(work)
    assert beside.overlapped
    release.set()  # it was waiting, so this thread went on while it ran
    assert beside.result() == 1  # a committed row is seen from the other connection
    (thread, raw), wrapper = seen
    assert thread != threading.get_ident() and raw is not connection.connection
    assert wrapper.connection is None  # closed when the work ended: nothing else would close it


@pytest.mark.django_db(transaction=True)
def test_an_error_in_the_thread_is_raised_by_result() -> None:
    def fail() -> int:
        raise LookupError("no such thing")

    beside = Beside(fail)
    assert beside.overlapped
    with pytest.raises(LookupError, match="no such thing"):
        beside.result()


@pytest.mark.django_db
def test_a_private_in_memory_sqlite_database_is_never_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    wrapper = connections[DEFAULT_DB_ALIAS]
    monkeypatch.setattr(wrapper, "in_atomic_block", False)  # as outside the test's transaction
    monkeypatch.setitem(wrapper.settings_dict, "NAME", ":memory:")
    # SQLite's `:memory:` is one connection's own database: another connection would see an
    # empty one. Every other database (PostgreSQL, a file) is shared.
    assert may_overlap() is (connection.vendor != "sqlite")


def _project_with_history() -> Project:
    project = Project.objects.create(name="acme")
    rows(project, "app", {"v1": 30, "v2": 20, "v3": 10, "v4": 1})
    rows(project, "svc", {"a": 5, "b": 3})
    # Times with and without fractions of a second, and a pull: PostgreSQL's text form of
    # each (`...:07+00`, `...:07.000001+00`) must read back as the same instant.
    whole = datetime(2026, 3, 1, 8, 30, 7, tzinfo=UTC)
    Artifact.objects.filter(tags__name="v1").update(pushed_at=whole)
    Tag.objects.filter(name="v1").update(pushed_at=whole, last_pull_at=whole + timedelta(microseconds=1))
    Tag.objects.filter(name="a").update(last_pull_at=timezone.now() - timedelta(days=1))
    return project


@pytest.mark.django_db(transaction=True)
def test_candidates_read_on_two_connections_equal_those_read_on_one() -> None:
    project = _project_with_history()
    overlapped = retention.candidates_for(project)
    with transaction.atomic():  # the inline path: one connection
        assert not may_overlap()
        inline = retention.candidates_for(project)
    assert overlapped == inline and len(inline) == 6
    v1 = next(c for c in inline if c.tags and c.tags[0].name == "v1")
    assert v1.pushed_at == datetime(2026, 3, 1, 8, 30, 7, tzinfo=UTC)
    assert v1.tags[0].pulled_at == datetime(2026, 3, 1, 8, 30, 7, 1, tzinfo=UTC)
    for candidate in inline:
        row = Artifact.objects.get(pk=candidate.ref)
        assert candidate.pushed_at == row.pushed_at and candidate.pushed_at.tzinfo is not None


@pytest.mark.django_db(transaction=True)
def test_the_advice_summed_on_a_second_connection_equals_the_inline_one() -> None:
    project = _project_with_history()
    evaluation = retention.preview(project, {"rules": [rule("latest_pushed_n", 1)]})
    assert sum(1 for d in evaluation.artifacts if not d.kept) == 4
    finish = start_advice(project, evaluation)
    overlapped = finish()
    with transaction.atomic():
        inline = advice_for(project, evaluation)
    assert overlapped == inline and overlapped.deleted_artifacts == 4
