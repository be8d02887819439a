"""Scans and retention runs emit their events where they are recorded, with the real
registry behind them; the critical-found event goes only with a critical finding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from audit.context import Actor
from repositories.models import ScanReport, SyncRun, Tag
from repositories.services import retention, retention_runs, scanning
from repositories.services.projects import create_project
from repositories.services.sync import sync_now
from tests.retention_runs.helpers import rule, seed
from tests.scanning.support import image_of, load_fixture_database, push_image
from tests.vulns import images
from webhooks import services
from webhooks.models import Delivery

pytestmark = [pytest.mark.slow, pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]

ACTOR = Actor.system("test")
SCAN_EVENTS = ["scan.completed", "scan.failed", "scan.critical_found"]


def test_a_scan_emits_completed_and_critical_found(wharf_registry: Any, tmp_path: Path) -> None:
    project = create_project(actor=ACTOR, name="acme", is_public=False, description="")
    hook = services.create_webhook(actor=ACTOR, project=project, name="sec", url="http://127.0.0.1:9/", events=SCAN_EVENTS)
    load_fixture_database(tmp_path)
    push_image(wharf_registry.client(), "acme/debian", image_of(images.debian_image()), tag="v1")
    assert sync_now().status == SyncRun.Status.SUCCEEDED
    artifact = Tag.objects.select_related("artifact").get(repository__name="acme/debian", name="v1").artifact
    report = scanning.scan_now(artifact, actor=ACTOR)
    assert report.status == ScanReport.Status.SUCCEEDED, report.error

    deliveries = {d.event: d for d in Delivery.objects.filter(webhook=hook)}
    assert report.counts["critical"] > 0  # the fixtures' Debian image has a 9.8
    assert set(deliveries) == {"scan.completed", "scan.critical_found"}
    body = deliveries["scan.completed"].payload
    assert body["type"] == "SCANNING_COMPLETED"
    [resource] = body["event_data"]["resources"]
    assert resource["digest"] == artifact.digest and resource["tag"] == "v1"
    assert resource["scan_overview"]["summary"] == report.counts and resource["scan_overview"]["report_id"] == report.pk


def test_a_retention_run_emits_its_end_with_counts(wharf_registry: Any) -> None:
    project = create_project(actor=ACTOR, name="acme", is_public=False, description="")
    hook = services.create_webhook(
        actor=ACTOR, project=project, name="ret", url="http://127.0.0.1:9/", events=["retention.finished"], format="cloudevents"
    )
    seed(wharf_registry, "acme/app", {"v1": 5, "v2": 1})
    retention.save_policy(
        project, ACTOR, enabled=True, schedule="", allow_empty_repository=False, rules=[rule(n=1, repos=["app"])]
    )
    run = retention_runs.run_now(project, ACTOR, dry_run=False)
    [delivery] = Delivery.objects.filter(webhook=hook)
    data = delivery.payload["data"]["retention"]
    assert delivery.payload["type"] == "io.wharf.retention.finished"
    assert (data["run_id"], data["deleted"], data["status"], data["dry_run"]) == (run.pk, 1, "succeeded", False)
