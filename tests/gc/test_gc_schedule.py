"""The GC schedule (page, API, beat task) and gc.finished webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.utils import timezone

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from repositories.models import GcRun, GcSchedule, RetentionRun
from repositories.services import gc
from tests.support.images import build_image, push
from webhooks import services as webhooks
from webhooks.models import Delivery

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

SUNDAY_3AM = timezone.make_aware(datetime(2026, 12, 6, 3, 0))  # a Sunday


@pytest.fixture
def own_registry(wharf_registry: Any, settings: Any) -> Any:
    settings.WHARF_REGISTRY_CONFIG = str(wharf_registry.config_path)
    return wharf_registry


def test_a_system_admin_sets_the_schedule_on_the_page_and_a_bad_cron_is_a_field_error(world: Any) -> None:
    admin = world.client("sysadmin")
    bad = admin.post("/gc/schedule/", {"schedule-enabled": "on", "schedule-schedule": "every sunday"})
    assert bad.status_code == 200 and "gc-schedule-form" in bad.content.decode()
    assert "is-invalid" in bad.content.decode() and not GcSchedule.objects.exists()
    empty = admin.post("/gc/schedule/", {"schedule-enabled": "on", "schedule-schedule": ""})
    assert "Give a cron expression" in empty.content.decode()
    saved = admin.post("/gc/schedule/", {"schedule-enabled": "on", "schedule-schedule": "0 3 * * 0"})
    assert saved.status_code == 302
    row = GcSchedule.objects.get()
    assert (row.enabled, row.schedule, row.dry_run, row.updated_by) == (
        True,
        "0 3 * * 0",
        False,
        world.users["sysadmin"],
    )
    event = AuditEvent.objects.get(action=AuditAction.GC_SCHEDULE)
    assert event.actor_name == "sysadmin" and event.details["after"]["schedule"] == "0 3 * * 0"
    assert "Runs <code>0 3 * * 0</code>" in admin.get("/gc/").content.decode()


def test_only_system_admins_read_or_change_the_schedule(world: Any) -> None:
    for persona in ("padmin", "developer", "outsider"):
        client = world.client(persona)
        assert client.post("/gc/schedule/", {"schedule-schedule": "0 3 * * 0"}).status_code == 403
        assert client.get("/api/v1/gc-schedule/").status_code == 403
        put = client.put(
            "/api/v1/gc-schedule/", {"enabled": False, "schedule": ""}, content_type="application/json"
        )
        assert put.status_code == 403
    assert (
        not GcSchedule.objects.exists()
        and not AuditEvent.objects.filter(action=AuditAction.GC_SCHEDULE).exists()
    )


def test_the_api_reads_and_replaces_the_schedule_and_names_a_bad_field(world: Any) -> None:
    admin = world.client("sysadmin")
    assert admin.get("/api/v1/gc-schedule/").json()["enabled"] is False
    bad = admin.put(
        "/api/v1/gc-schedule/", {"enabled": True, "schedule": "61 * * * *"}, content_type="application/json"
    )
    assert bad.status_code == 400 and "schedule" in bad.json()
    body = {"enabled": True, "schedule": "0 3 * * 0", "dry_run": True}
    ok = admin.put("/api/v1/gc-schedule/", body, content_type="application/json")
    assert ok.status_code == 200, ok.content
    assert ok.json() | body == ok.json() and ok.json()["updated_by"] == "sysadmin"


def test_the_beat_queues_a_due_minute_once_and_skips_with_a_reason_when_busy(
    own_registry: Any, world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    gc.save_schedule(actor=Actor.system("t"), enabled=True, schedule="0 3 * * 0", dry_run=True)
    assert gc.due_gc(SUNDAY_3AM.replace(hour=4)) is None  # not due
    run = gc.due_gc(SUNDAY_3AM)
    assert run is not None and (run.trigger, run.dry_run) == (GcRun.Trigger.SCHEDULE, True)
    assert gc.due_gc(SUNDAY_3AM) is None, "the same minute is queued once"
    run.status = GcRun.Status.SUCCEEDED
    run.save()
    RetentionRun.objects.create(project=world.private, status=RetentionRun.Status.RUNNING)
    assert gc.due_gc(SUNDAY_3AM.replace(day=13)) is None
    assert "retention run" in GcSchedule.objects.get().last_skipped_reason
    assert "Skipped" in world.client("sysadmin").get("/gc/").content.decode()


def test_the_scheduled_task_runs_the_collector(
    own_registry: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from repositories.tasks import scheduled_gc

    push(own_registry.client(), "acme/app", build_image(), tag="v1")  # an empty registry has nothing to mark
    gc.save_schedule(actor=Actor.system("t"), enabled=True, schedule="* * * * *", dry_run=True)
    with django_capture_on_commit_callbacks(execute=True):
        scheduled_gc()
    run = GcRun.objects.get()
    assert (run.status, run.trigger) == (GcRun.Status.SUCCEEDED, GcRun.Trigger.SCHEDULE), run.message


@pytest.fixture
def allow_private(settings: Any) -> None:
    settings.WHARF_WEBHOOKS_ALLOW_PRIVATE = True


@pytest.mark.usefixtures("allow_private")
def test_a_finished_gc_is_sent_to_system_webhooks_only(own_registry: Any, world: Any) -> None:
    system = webhooks.create_webhook(
        actor=Actor.system("t"),
        project=None,
        name="ops",
        url="http://127.0.0.1:9/",
        events=["gc.finished"],
        format="cloudevents",
    )
    with pytest.raises(Exception, match=r"Only system webhooks receive gc\.finished"):
        webhooks.create_webhook(
            actor=Actor.system("t"),
            project=world.private,
            name="p",
            url="http://127.0.0.1:9/",
            events=["gc.finished"],
        )
    push(own_registry.client(), "acme/app", build_image(), tag="v1")
    run = gc.claim_gc(gc.request_gc(actor=Actor.system("t"), dry_run=True).pk)
    assert run is not None
    gc.execute_gc(run)
    [delivery] = Delivery.objects.filter(webhook=system)
    assert delivery.payload["type"] == "io.wharf.gc.finished"
    data = delivery.payload["data"]["gc"]
    assert (data["run_id"], data["status"], data["dry_run"]) == (run.pk, "succeeded", True)


def test_only_the_system_webhook_form_offers_gc_finished(world: Any) -> None:
    assert 'value="gc.finished"' in world.client("sysadmin").get("/webhooks/").content.decode()
    assert (
        'value="gc.finished"' not in world.client("padmin").get("/projects/acme/webhooks/").content.decode()
    )
