"""Work on a second connection (`repositories.services.overlap`): where it runs, that it
answers what the caller's own connection would, and the preview's and the advice's use of it.

The overlapped path needs committed rows (a second connection sees nothing else), so those
tests use `transaction=True`; the inline path is the one every test inside a transaction takes,
and the only one on SQLite (in-process: a thread would only compete for the GIL). Every test
runs on both databases: on SQLite the "overlapped" ones check that it stays inline and that the
answers are the same.
"""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from repositories.models import Artifact, ArtifactBlob, Project, Tag
from repositories.services import retention, usage
from repositories.services.overlap import Beside, may_overlap
from repositories.services.retention_advisor import PendingAdvice, advice_for, start_advice
from tests.retention_runs.helpers import rows, rule


def _overlaps() -> bool:
    """Whether this database runs work beside (PostgreSQL: another process)."""
    return connection.vendor == "postgresql"


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
    assert not connection.in_atomic_block and may_overlap() is _overlaps()
    if not _overlaps():
        assert Beside(lambda: Project.objects.count()).result() == 0  # inline, same answer
        return
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
    assert beside.overlapped is _overlaps()
    with pytest.raises(LookupError, match="no such thing"):
        beside.result()


@pytest.mark.django_db
def test_sqlite_never_runs_work_beside(monkeypatch: pytest.MonkeyPatch) -> None:
    wrapper = connections[DEFAULT_DB_ALIAS]
    monkeypatch.setattr(wrapper, "in_atomic_block", False)  # as outside the test's transaction
    # SQLite runs in this process: a second thread would compete with this one for the GIL.
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


# --- the bytes freed in two steps (`usage.ProjectFreeing`, `PendingAdvice`) -------------------------


def _blobs(artifact: Artifact, *blobs: tuple[str, int]) -> None:
    ArtifactBlob.objects.bulk_create(ArtifactBlob(artifact=artifact, digest=d, size=s) for d, s in blobs)


def _shared_storage() -> tuple[Project, dict[str, Artifact]]:
    """Five artifacts of `acme` and one of `other`, with blobs that are each artifact's own,
    shared inside acme (by two, by all five), and shared with the other project."""
    project = Project.objects.create(name="acme")
    made = rows(project, "app", {"v1": 50, "v2": 40, "v3": 30, "v4": 20, "v5": 10})
    other = rows(Project.objects.create(name="other"), "lib", {"x": 5})["x"]
    for index, artifact in enumerate(made.values()):
        _blobs(artifact, (f"sha256:own{index}", 100 + index), ("sha256:base", 5_000))
    _blobs(made["v1"], ("sha256:v1v2", 700), ("sha256:elsewhere", 9_000))
    _blobs(made["v2"], ("sha256:v1v2", 700))
    _blobs(made["v3"], ("sha256:v3v5", 300))
    _blobs(made["v5"], ("sha256:v3v5", 300))
    _blobs(other, ("sha256:elsewhere", 9_000), ("sha256:ownx", 1))
    return project, made


def _temporary_table_left() -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT to_regclass('pg_temp.wharf_exclusive_blobs')")
            return cursor.fetchone()[0] is not None
        cursor.execute("SELECT COUNT(*) FROM sqlite_temp_master WHERE name = 'wharf_exclusive_blobs'")
        return bool(cursor.fetchone()[0])


def _check_freeing(project: Project, made: dict[str, Artifact]) -> None:
    everything = [a.pk for a in made.values()]
    for kept_tags in ([], ["v5"], ["v1"], ["v3", "v4"], ["v1", "v2", "v3", "v4", "v5"]):
        kept = [made[t].pk for t in kept_tags]
        deleted = [pk for pk in everything if pk not in kept]
        freeing = usage.ProjectFreeing(project)
        freeing.send(kept, len(deleted))
        assert freeing.result() == usage.would_free(deleted, with_children=False), kept_tags
    # By hand: keeping v3 and v4 frees v1, v2 and v5's own blobs and the one v1 and v2 share;
    # not `base` (v3 has it), not `v3v5` (v3 is kept), not `elsewhere` (the other project's).
    freeing = usage.ProjectFreeing(project)
    freeing.send([made["v3"].pk, made["v4"].pk], 3)
    assert freeing.result() == usage.Freed(size=100 + 101 + 104 + 700, blob_count=4, artifact_count=3)
    assert not _temporary_table_left()


@pytest.mark.django_db
def test_the_two_step_sum_equals_would_free_inline() -> None:
    _check_freeing(*_shared_storage())


@pytest.mark.django_db(transaction=True)
def test_the_two_step_sum_equals_would_free_on_a_second_connection() -> None:
    project, made = _shared_storage()
    probe = usage.ProjectFreeing(project)
    assert probe._work.overlapped is _overlaps()  # the path under test, on PostgreSQL
    probe.cancel()  # else its thread would wait for a kept set, holding its connection
    _check_freeing(project, made)


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_sum_ends_its_thread_and_answers_nothing() -> None:
    project, _ = _shared_storage()
    freeing = usage.ProjectFreeing(project)
    assert freeing._work.overlapped is _overlaps()
    freeing.cancel()
    with pytest.raises(RuntimeError, match="without send"):
        freeing.result()  # the thread ended (join returned), its table dropped with its connection


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("keep", [1, 4])  # fewer kept than deleted (the two steps), and more
def test_the_pending_advice_equals_the_advice_of_the_evaluation(keep: int) -> None:
    project, _ = _shared_storage()
    data = {"rules": [rule("latest_pushed_n", keep)]}
    pending = PendingAdvice(project)
    pending.start()
    evaluation = retention.preview(project, data)
    got = pending.after(evaluation)()
    with transaction.atomic():
        expected = advice_for(project, evaluation)
    assert got == expected and got.deleted_artifacts == 5 - keep and got.bytes_freed > 0
    with pytest.raises(RuntimeError):
        pending.after(evaluation)


@pytest.mark.django_db
def test_a_pending_advice_never_started_sums_the_deleted() -> None:
    project, _ = _shared_storage()
    evaluation = retention.preview(project, {"rules": [rule("latest_pushed_n", 2)]})
    assert PendingAdvice(project).after(evaluation)() == advice_for(project, evaluation)


@pytest.mark.django_db(transaction=True)
def test_the_api_preview_with_advice_outside_a_transaction_answers_the_inline_figures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The request path as served (no transaction: on PostgreSQL the candidates and the
    two-step sum run beside), against the same advice computed inline."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from repositories.services import retention_advisor

    started: list[bool] = []

    class Spy(usage.ProjectFreeing):
        def __init__(self, project: Project) -> None:
            super().__init__(project)
            started.append(self._work.overlapped)

    monkeypatch.setattr(retention_advisor, "ProjectFreeing", Spy)
    project, _ = _shared_storage()
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "x")
    client = Client()
    client.force_login(admin)
    data = {"enabled": True, "schedule": "", "allow_empty_repository": False, "rules": [rule("latest_pushed_n", 2)]}
    response = client.post(
        "/api/v1/projects/acme/retention-policy/preview/?advice=true", data, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    advice = response.json()["advice"]
    with transaction.atomic():
        expected = advice_for(project, retention.preview(project, data))
    assert (advice["bytes_freed"], advice["blobs_freed"], advice["deleted_artifacts"]) == (
        expected.bytes_freed, expected.blobs_freed, 3,
    )
    # v1-v3's own blobs and the one v1 and v2 share; not v3's shared with v5 (kept), nor
    # `base` (kept by v4 and v5), nor `elsewhere` (the other project's).
    assert expected.bytes_freed == 100 + 101 + 102 + 700
    assert started == ([True] if _overlaps() else [])  # the two steps, beside, where they run


@pytest.mark.django_db(transaction=True)
def test_an_advised_preview_hands_its_evaluation_over_and_begins_the_sum_before_reading() -> None:
    """`advised_preview` keeps no reference to the evaluation while the caller's block runs,
    so the caller's `del` frees it before the advice is awaited (the database finishes the
    sum meanwhile); and the sum is begun before the candidates are read."""
    from repositories.services import retention_advisor

    project, _ = _shared_storage()
    data = {"rules": [rule("latest_pushed_n", 1)]}
    order: list[str] = []
    real_preview, real_start = retention_advisor.evaluate_policy, retention_advisor.PendingAdvice.start

    def preview(*args: Any, **kwargs: Any) -> Any:
        order.append("preview")
        return real_preview(*args, **kwargs)

    def start(self: PendingAdvice) -> None:
        order.append("start")
        real_start(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(retention_advisor, "evaluate_policy", preview)
        patch.setattr(retention_advisor.PendingAdvice, "start", start)
        with retention_advisor.advised_preview(project, data) as (evaluation, finish):
            # This name and getrefcount's argument: no other holder (the generator's frame was one).
            assert sys.getrefcount(evaluation) == 2
            del evaluation
            assert finish is not None
            advice = finish()
    assert order == ["start", "preview"]
    assert advice.deleted_artifacts == 4 and advice.bytes_freed > 0
