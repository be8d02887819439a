"""`/metrics` scraped after real work and parsed with prometheus_client's own parser:
requests by view and status, token grants and refusals, notification lag, webhook
deliveries, sync runs, retention deletions, scans, and the per-project gauges; who
may scrape; and multiprocess mode adding up what several processes counted."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from audit.context import Actor
from portal.metrics import scrape_registry
from repositories.models import Repository, ScanReport, SyncRun, Tag
from repositories.services import retention, retention_runs, scanning
from repositories.services.projects import create_project
from repositories.services.sync import sync_now
from tests.conftest import World
from tests.retention_runs.helpers import rule, seed
from tests.scanning.support import image_of, load_fixture_database, push_image
from tests.sync.test_notifications import SECRET, event, post
from tests.vulns import images
from tests.webhooks.receiver import Receiver
from webhooks import services as webhooks

ACTOR = Actor.system("test")
TOKEN = "metrics-token-for-tests"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(autouse=True)
def _metrics_settings(settings: Any) -> None:
    settings.WHARF_METRICS_TOKEN = TOKEN
    settings.WHARF_METRICS_ALLOWED_ADDRESSES = []


def scrape(client: Client | None = None) -> Samples:
    response = (client or Client()).get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.mark.django_db
def test_requests_tokens_notifications_and_webhooks_are_counted(
    world: World, receiver: Receiver, settings: Any, monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.WHARF_NOTIFY_SECRET = SECRET
    settings.WHARF_WEBHOOKS_ALLOW_PRIVATE = True
    monkeypatch.setattr("repositories.tasks.fill_artifact_details.delay", lambda pk: None)
    webhooks.create_webhook(actor=ACTOR, project=world.public, name="ci", url=receiver.url, events=["artifact.pushed"])
    before = scrape()

    padmin = world.client("padmin")
    for _ in range(3):
        assert padmin.get("/projects/").status_code == 200
    assert padmin.get("/projects/no-such-project/").status_code == 404
    token_url = "/service/token?service=wharf-registry&scope=repository:pub/app:pull"
    assert Client().get(token_url).status_code == 200  # anonymous pull of a public project
    bad = base64.b64encode(b"padmin:wrong").decode()
    assert Client().get(token_url, HTTP_AUTHORIZATION=f"Basic {bad}").status_code == 401
    stamp = (timezone.now() - timedelta(seconds=3)).isoformat().replace("+00:00", "Z")
    with django_capture_on_commit_callbacks(execute=True):
        assert post([event("push", "pub/app", tag="v1") | {"timestamp": stamp}]).status_code == 200

    after = scrape()
    delta = {key: after[key] - before.get(key, 0.0) for key in after}
    assert value(delta, "wharf_http_requests_total", view="projects:list", method="GET", status="200") == 3
    assert value(delta, "wharf_http_requests_total", view="projects:detail", method="GET", status="404") == 1
    assert value(delta, "wharf_http_request_duration_seconds_count", view="projects:list") == 3
    assert value(delta, "wharf_registry_token_requests_total", outcome="granted") == 1
    assert value(delta, "wharf_registry_token_requests_total", outcome="refused") == 1
    assert value(delta, "wharf_notification_lag_seconds_count", action="push") == 1
    assert value(delta, "wharf_notification_lag_seconds_sum", action="push") >= 3
    assert value(delta, "wharf_webhook_delivery_attempts_total", outcome="succeeded") == 1
    assert len(receiver.received) == 1
    # The gauges are the database's numbers, not deltas.
    pub = Repository.objects.get(name="pub/app")
    assert value(after, "wharf_project_artifacts", project="pub") == pub.artifact_count == 1
    assert value(after, "wharf_project_storage_bytes", project="pub") == pub.size


@pytest.mark.slow
@pytest.mark.django_db
def test_sync_retention_and_scans_are_counted(wharf_registry: Any, tmp_path: Path) -> None:
    before = scrape()
    project = create_project(actor=ACTOR, name="acme", is_public=False, description="")
    seed(wharf_registry, "acme/app", {"v1": 5, "v2": 1})  # seeds with a sync of its own
    load_fixture_database(tmp_path)
    push_image(wharf_registry.client(), "acme/debian", image_of(images.debian_image()), tag="v1")
    assert sync_now().status == SyncRun.Status.SUCCEEDED
    artifact = Tag.objects.select_related("artifact").get(repository__name="acme/debian", name="v1").artifact
    assert scanning.scan_now(artifact, actor=ACTOR).status == ScanReport.Status.SUCCEEDED
    retention.save_policy(
        project, ACTOR, enabled=True, schedule="", allow_empty_repository=False, rules=[rule(n=1, repos=["app"])]
    )
    assert retention_runs.run_now(project, ACTOR, dry_run=False).artifacts_deleted == 1
    retention_runs.run_now(project, ACTOR, dry_run=True)

    after = scrape()
    delta = {key: after[key] - before.get(key, 0.0) for key in after}
    syncs = SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).count()
    assert syncs >= 2 and value(delta, "wharf_sync_runs_total", status="succeeded") == syncs
    assert value(delta, "wharf_sync_duration_seconds_count") == syncs
    assert value(delta, "wharf_scans_total", status="succeeded") == 1
    assert value(delta, "wharf_scan_duration_seconds_count") == 1
    assert value(delta, "wharf_retention_deleted_artifacts_total", project="acme") == 1
    assert value(delta, "wharf_retention_runs_total", status="succeeded", dry_run="true") == 1
    assert value(after, "wharf_scan_reports", status="succeeded") == ScanReport.objects.filter(status="succeeded").count()
    assert value(after, "wharf_scan_reports", status="queued") == 0
    acme = [r for r in Repository.objects.filter(project=project)]
    assert value(after, "wharf_project_artifacts", project="acme") == sum(r.artifact_count for r in acme) > 0
    assert value(after, "wharf_project_storage_bytes", project="acme") == sum(r.size for r in acme) > 0


@pytest.mark.django_db
def test_only_the_token_or_an_allowed_address_may_scrape(settings: Any) -> None:
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    settings.WHARF_METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 403  # neither configured: closed
    settings.WHARF_METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8"]
    assert Client().get("/metrics").status_code == 403
    assert Client(REMOTE_ADDR="10.2.3.4").get("/metrics").status_code == 200
    settings.WHARF_METRICS_ALLOWED_ADDRESSES = ["127.0.0.1"]
    assert Client().get("/metrics").status_code == 200


_WORKER = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()
from portal import metrics
metrics.webhook_delivery("failed", 0.2)
metrics.token_request(200)
"""


@pytest.mark.django_db
def test_multiprocess_mode_adds_up_every_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):  # two workers, each counting in its own process
        subprocess.run([sys.executable, "-c", _WORKER], env=env, check=True, cwd=Path(__file__).parents[2])
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    from prometheus_client import generate_latest

    text = generate_latest(scrape_registry()).decode()
    samples = {
        (s.name, frozenset(s.labels.items())): s.value for f in text_string_to_metric_families(text) for s in f.samples
    }
    assert value(samples, "wharf_webhook_delivery_attempts_total", outcome="failed") == 2
    assert value(samples, "wharf_registry_token_requests_total", outcome="granted") == 2
    assert ("wharf_scan_reports", frozenset({("status", "queued")})) in samples  # the database's gauges too


def test_make_run_gives_its_processes_an_empty_metrics_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from repositories.management.commands.serve import fresh_metrics_directory

    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"stale")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    assert fresh_metrics_directory() == str(directory)
    assert list(directory.iterdir()) == [] and os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(directory)
