"""Run records without a registry: one active run per project, claims, schedules, dry runs, purges."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from repositories.models import RecycleBinEntry, RetentionPolicy, RetentionRun, RetentionRunItem
from repositories.services import recycle, retention, retention_runs
from tests.factories import ProjectFactory
from tests.retention_runs.helpers import ACTOR, immutable, rows, rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def project() -> Any:
    project = ProjectFactory(name="acme")
    retention.save_policy(
        project, ACTOR, enabled=True, schedule="0 3 * * *", allow_empty_repository=False, rules=[rule(n=2)]
    )
    return project


def test_a_run_needs_a_saved_policy() -> None:
    with pytest.raises(ValidationError, match="no retention policy"):
        retention_runs.request_run(ProjectFactory(name="acme"), ACTOR, dry_run=True)


def test_a_second_request_returns_the_run_already_queued(project: Any) -> None:
    first, created = retention_runs.request_run(project, ACTOR, dry_run=False)
    second, created_again = retention_runs.request_run(project, ACTOR, dry_run=True)
    assert created and not created_again and second.pk == first.pk
    assert first.policy["rules"][0]["n"] == 2, "the run keeps a snapshot of the policy"


def test_the_database_refuses_two_active_runs_of_one_project(project: Any) -> None:
    RetentionRun.objects.create(project=project, status=RetentionRun.Status.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        RetentionRun.objects.create(project=project)


def test_two_claims_of_one_run_only_one_succeeds(project: Any) -> None:
    run, _ = retention_runs.request_run(project, ACTOR, dry_run=True)
    claims = [retention_runs.claim_run(run.pk), retention_runs.claim_run(run.pk)]
    assert claims[0] is not None and claims[0].status == RetentionRun.Status.RUNNING
    assert claims[1] is None


def test_a_dry_run_lists_what_it_would_delete_and_deletes_nothing(project: Any) -> None:
    made = rows(project, "app", {"v1": 5, "v2": 4, "v3": 3, "v4": 2})
    run = retention_runs.run_now(project, ACTOR, dry_run=True)
    assert run.status == RetentionRun.Status.SUCCEEDED, run.message
    items = RetentionRunItem.objects.filter(run=run)
    assert sorted(i.digest for i in items) == sorted([made["v1"].digest, made["v2"].digest])
    assert {i.outcome for i in items} == {RetentionRunItem.Outcome.DRY_RUN}
    assert all(i.reason == "deleted: retained by no rule" for i in items)
    assert (run.artifacts_evaluated, run.artifacts_kept, run.artifacts_planned, run.artifacts_deleted) == (4, 2, 2, 0)
    assert made["v1"].__class__.objects.count() == 4
    actions = list(AuditEvent.objects.filter(project=project).values_list("action", flat=True))
    assert AuditAction.RETENTION_RUN_START in actions and AuditAction.RETENTION_RUN_END in actions


def test_protected_and_floor_artifacts_are_recorded_as_skipped_with_reasons(project: Any) -> None:
    rows(project, "app", {"v1": 5, "v2": 4})
    rows(project, "solo", {"only": 9})
    retention.save_immutable_rules(project, ACTOR, rules=[immutable(tags=["v1"])], revert_protected_overwrites=False)
    retention.save_policy(project, ACTOR, enabled=True, schedule="", allow_empty_repository=False,
                          rules=[rule(n=1, tags=["nothing-*"])])
    run = retention_runs.run_now(project, ACTOR, dry_run=True)
    skipped = {i.tags[0]: i.reason for i in run.items.filter(action=RetentionRunItem.Action.SKIP)}
    assert skipped["v1"].startswith("protected: immutable rule 1")
    assert skipped["only"].startswith("kept: the policy may not empty a repository")
    assert [i.tags for i in run.items.filter(action=RetentionRunItem.Action.DELETE)] == [["v2"]]
    assert run.policy["immutable"]["rules"][0]["tags"]["include"] == ["v1"], "the run records the rules in force"


def test_a_queued_run_that_is_stopped_never_starts(project: Any) -> None:
    run, _ = retention_runs.request_run(project, ACTOR, dry_run=True)
    retention_runs.request_stop(run)
    assert run.status == RetentionRun.Status.STOPPED
    assert retention_runs.claim_run(run.pk) is None


def test_the_schedule_queues_a_due_policy_once_per_minute(project: Any) -> None:
    due = timezone.make_aware(datetime(2026, 11, 29, 3, 0, 20))
    assert retention_runs.due_runs(due - timedelta(minutes=1)) == []
    runs = retention_runs.due_runs(due)
    assert [r.trigger for r in runs] == [RetentionRun.Trigger.SCHEDULE]
    RetentionRun.objects.update(status=RetentionRun.Status.SUCCEEDED)
    assert retention_runs.due_runs(due + timedelta(seconds=30)) == [], "same minute: not again"


def test_a_disabled_policy_is_not_scheduled(project: Any) -> None:
    RetentionPolicy.objects.update(enabled=False)
    assert retention_runs.due_runs(timezone.make_aware(datetime(2026, 11, 29, 3, 0))) == []


def test_expired_recycle_bin_entries_are_purged_and_audited(project: Any) -> None:
    now = timezone.now()
    for days in (-1, 1):
        RecycleBinEntry.objects.create(
            project=project, repository_name="acme/app", digest="sha256:" + "a" * 64, media_type="x",
            manifest=b"{}", source=RecycleBinEntry.Source.MANUAL, expires_at=now + timedelta(days=days),
        )
    assert recycle.purge_expired(now) == 1
    assert RecycleBinEntry.objects.count() == 1
    assert AuditEvent.objects.get(action=AuditAction.RECYCLE_PURGE).details == {"entries": 1}


def test_recycle_bin_entries_expire_after_the_configured_days(project: Any, settings: Any) -> None:
    settings.WHARF_RECYCLE_BIN_DAYS = 3
    entry = RecycleBinEntry.objects.create(
        project=project, repository_name="acme/app", digest="sha256:" + "a" * 64, media_type="x",
        manifest=b"{}", source=RecycleBinEntry.Source.MANUAL,
    )
    assert timedelta(days=2, hours=23) < entry.expires_at - timezone.now() <= timedelta(days=3)


def test_the_task_runs_a_queued_run_once_it_is_committed(project: Any, django_capture_on_commit_callbacks: Any) -> None:
    from repositories.tasks import enqueue_retention, run_retention

    rows(project, "app", {"v1": 5, "v2": 4, "v3": 3})
    run, _ = retention_runs.request_run(project, ACTOR, dry_run=True)
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_retention(run)
    run.refresh_from_db()
    assert run.status == RetentionRun.Status.SUCCEEDED and run.artifacts_planned == 1
    run_retention(run.pk)  # a second delivery of the task finds nothing to claim
    assert RetentionRun.objects.get(pk=run.pk).finished_at == run.finished_at


def test_the_beat_task_queues_and_runs_due_policies(project: Any, django_capture_on_commit_callbacks: Any) -> None:
    from repositories.tasks import scheduled_retention

    RetentionPolicy.objects.update(schedule="* * * * *")
    with django_capture_on_commit_callbacks(execute=True):
        scheduled_retention()
    (run,) = RetentionRun.objects.all()
    assert (run.trigger, run.dry_run, run.status) == ("schedule", False, RetentionRun.Status.SUCCEEDED)
