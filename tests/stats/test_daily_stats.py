"""Daily statistics recorded from what a real sync stored, the page that charts them and
the API that returns the series, on both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from repositories.models import Artifact, Project, ProjectDailyStats, RegistryEvent, ScanReport
from repositories.services import stats
from repositories.services.sync import sync_now
from repositories.services.usage import project_usage
from repositories.tasks import record_daily_stats
from tests.support.assets import mentions_a_cdn, off_site_assets
from tests.support.images import build_image, make_layer, push

pytestmark = [pytest.mark.django_db]


def _event(n: int, action: str, repository: str, at: Any) -> None:
    RegistryEvent.objects.create(
        event_id=f"{action}-{repository}-{n}-{at:%j}", action=action, repository=repository, received_at=at
    )


@pytest.fixture
def acme_images(world: Any, wharf_registry: Any) -> Project:
    """acme/a and acme/b share a base layer; three pushes and two pulls today, one pull yesterday."""
    base = make_layer()
    client = wharf_registry.client()
    push(client, "acme/a", build_image(layer_blobs=[base, make_layer()], labels={"n": "a"}), tag="v1")
    push(client, "acme/b", build_image(layer_blobs=[base, make_layer()], labels={"n": "b"}), tag="v1")
    assert sync_now().status == "succeeded"
    now = timezone.now()
    for n in range(3):
        _event(n, "push", "acme/a", now)
    for n in range(2):
        _event(n, "pull", "acme/b", now)
    _event(0, "push", "pub/x", now)  # another project's
    _event(0, "pull", "acme/a", now - timedelta(days=1))
    artifact = Artifact.objects.get(repository__name="acme/a")
    ScanReport.objects.create(artifact=artifact, status="succeeded", counts={"critical": 2, "high": 1})
    return world.private


@pytest.mark.slow
def test_record_daily_writes_storage_events_and_findings_and_completes_yesterday(
    acme_images: Project,
) -> None:
    acme = acme_images
    yesterday = timezone.localdate() - timedelta(days=1)
    ProjectDailyStats.objects.create(project=acme, day=yesterday, pushes=0, pulls=0, logical_bytes=5)
    assert stats.record_daily() == Project.objects.count()
    row = ProjectDailyStats.objects.get(project=acme, day=timezone.localdate())
    usage = project_usage(acme)
    assert (row.logical_bytes, row.unique_bytes) == (usage.logical_size, usage.unique_size)
    assert row.unique_bytes < row.logical_bytes, "the shared base layer counts once"
    assert (row.artifacts, row.pushes, row.pulls) == (2, 3, 2)
    assert row.findings == {"critical": 2, "high": 1, "medium": 0, "low": 0, "unknown": 0}
    before = ProjectDailyStats.objects.get(project=acme, day=yesterday)
    assert (before.pulls, before.logical_bytes) == (1, 5), "yesterday's events completed, its storage kept"
    record_daily_stats()  # the beat task: rewrites today's row, never a second one
    assert ProjectDailyStats.objects.filter(project=acme).count() == 2


@pytest.mark.slow
def test_the_page_charts_the_series_with_tables_and_gaps(acme_images: Project, world: Any) -> None:
    stats.record_daily()
    page = world.client("limited").get("/projects/acme/statistics/")
    assert page.status_code == 200
    html = page.content.decode()
    for chart_id in ("storage-chart", "traffic-chart", "findings-chart"):
        assert f'id="{chart_id}"' in html
    assert html.count('<svg class="w-100 chart-svg"') == 3 and "chart-table" in html
    assert "sev-fill-critical" in html and 'title="not recorded"' in html
    today = timezone.localdate().isoformat()
    assert f"{today}: 3 pushes" in html and f"{today}: 2 critical" in html
    assert off_site_assets(html) == [] and not mentions_a_cdn(html)


def test_who_sees_the_statistics_page_and_api(world: Any) -> None:
    for persona, code in [
        ("outsider", 404),
        ("limited", 200),
        ("guest", 200),
        ("padmin", 200),
        ("sysadmin", 200),
    ]:
        client = world.client(persona)
        assert client.get("/projects/acme/statistics/").status_code == code, persona
        assert client.get("/api/v1/projects/acme/statistics/").status_code == code, persona
    assert world.client("outsider").get("/projects/pub/statistics/").status_code == 200
    assert world.client("outsider").get("/api/v1/projects/pub/statistics/").status_code == 200
    assert Client().get("/projects/acme/statistics/").status_code == 302, "anonymous: to the login page"


def test_bad_spans_are_a_message_on_the_page_and_a_400_in_the_api(world: Any) -> None:
    client = world.client("developer")
    page = client.get("/projects/acme/statistics/?days=abc")
    assert (
        page.status_code == 200
        and "Choose a span of 7, 30, 90, 365 days; showing 30." in page.content.decode()
    )
    for bad in ("0", "367", "x", "-1"):
        answer = client.get(f"/api/v1/projects/acme/statistics/?days={bad}")
        assert answer.status_code == 400 and "days" in answer.json(), bad


def test_the_api_returns_the_series_oldest_first_with_null_gaps(world: Any) -> None:
    acme = world.private
    today = timezone.localdate()
    ProjectDailyStats.objects.create(
        project=acme,
        day=today,
        artifacts=4,
        logical_bytes=300,
        unique_bytes=200,
        pushes=5,
        pulls=7,
        findings={"critical": 1},
    )
    body = world.client("guest").get("/api/v1/projects/acme/statistics/?days=3").json()
    assert body["project"] == "acme" and body["days"] == 3
    first, _middle, last = body["series"]
    assert first["recorded"] is False and first["logical_bytes"] is None and first["findings"] is None
    assert last["day"] == today.isoformat() and last["recorded"] is True
    assert (last["logical_bytes"], last["unique_bytes"], last["pushes"], last["pulls"]) == (300, 200, 5, 7)
    assert last["findings"]["critical"] == 1 and last["findings"]["low"] == 0


def test_the_page_reads_a_year_in_a_few_queries(world: Any, django_assert_max_num_queries: Any) -> None:
    acme = world.private
    today = timezone.localdate()
    ProjectDailyStats.objects.bulk_create(
        [
            ProjectDailyStats(project=acme, day=today - timedelta(days=i), logical_bytes=i, pushes=i)
            for i in range(365)
        ]
    )
    client = world.client("developer")
    with django_assert_max_num_queries(12):
        assert client.get("/projects/acme/statistics/?days=365").status_code == 200


def test_retention_deletions_per_run_are_charted_for_those_who_see_retention(world: Any) -> None:
    from repositories.models import RetentionRun

    now = timezone.now()
    for i, (deleted, tags) in enumerate([(3, 4), (0, 1), (7, 7)]):
        RetentionRun.objects.create(
            project=world.private,
            status="succeeded",
            finished_at=now,
            created_at=now - timedelta(hours=3 - i),
            artifacts_deleted=deleted,
            tags_deleted=tags,
        )
    RetentionRun.objects.create(
        project=world.private, status="succeeded", finished_at=now, dry_run=True, artifacts_deleted=9
    )
    labels = [label for label, _, _ in stats.retention_deletions(world.private)]
    assert len(labels) == 3 and labels[0].startswith("#") and "(dry" not in "".join(labels)
    guest = world.client("guest").get("/projects/acme/statistics/").content.decode()
    assert 'id="retention-chart"' in guest and ": 7 artifacts deleted" in guest
    limited = world.client("limited").get("/projects/acme/statistics/").content.decode()
    assert 'id="retention-chart"' not in limited, "the limited guest does not see retention"
