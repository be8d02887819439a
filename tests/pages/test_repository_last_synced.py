"""A repository's page says when Wharf last synced it, by whichever run covered it
(a full, project or repository sync), and a newer registry notification if any."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from repositories.models import RegistryEvent, SyncRun
from tests.pages.repository_content import make_content

URL = "/projects/acme/repositories/app/"


@pytest.fixture
def content(world):
    return make_content(world.private)


def run(scope: str, *, hours_ago: float, status: str = SyncRun.Status.SUCCEEDED, **fields) -> SyncRun:
    finished = timezone.now() - timedelta(hours=hours_ago)
    return SyncRun.objects.create(
        scope=scope, status=status, created_at=finished - timedelta(minutes=1), started_at=finished, finished_at=finished, **fields
    )


def _line(response) -> str:
    html = response.content.decode()
    return html.split('id="last-synced"', 1)[1].split("</div>", 1)[0]


def test_never_synced_when_no_run_covered_it(world, content):
    line = _line(world.client("guest").get(URL))

    assert 'data-last-synced="never"' in line and "Never synced" in line


def test_a_full_sync_covers_every_repository(world, content):
    full = run(SyncRun.Scope.REGISTRY, hours_ago=2)

    line = _line(world.client("guest").get(URL))

    assert f'data-last-synced="{full.pk}"' in line
    assert f"#{full.pk}, full sync" in line and "2\xa0hours ago" in line


def test_a_project_sync_covers_its_repositories_only(world, content):
    own = run(SyncRun.Scope.PROJECT, hours_ago=3, project=world.private)
    run(SyncRun.Scope.PROJECT, hours_ago=1, project=world.public)

    line = _line(world.client("guest").get(URL))

    assert f"#{own.pk}, project sync" in line


def test_a_repository_sync_covers_itself_only(world, content):
    own = run(SyncRun.Scope.REPOSITORY, hours_ago=5, project=world.private, repository_name="acme/app")
    run(SyncRun.Scope.REPOSITORY, hours_ago=1, project=world.private, repository_name="acme/other")

    line = _line(world.client("guest").get(URL))

    assert f"#{own.pk}, repository sync" in line


def test_the_newest_covering_succeeded_run_wins_and_failed_or_pending_ones_do_not_count(world, content):
    run(SyncRun.Scope.REGISTRY, hours_ago=10)
    newest = run(SyncRun.Scope.REPOSITORY, hours_ago=4, project=world.private, repository_name="acme/app")
    run(SyncRun.Scope.PROJECT, hours_ago=1, project=world.private, status=SyncRun.Status.FAILED)
    SyncRun.objects.create(scope=SyncRun.Scope.REGISTRY, status=SyncRun.Status.RUNNING)

    line = _line(world.client("guest").get(URL))

    assert f"#{newest.pk}, repository sync" in line


def test_a_notification_newer_than_the_last_sync_is_named(world, content):
    run(SyncRun.Scope.REGISTRY, hours_ago=3)
    RegistryEvent.objects.create(event_id="e-old", action="push", repository="acme/app", received_at=timezone.now() - timedelta(hours=5))
    RegistryEvent.objects.create(event_id="e-new", action="pull", repository="acme/app", received_at=timezone.now() - timedelta(minutes=10))
    RegistryEvent.objects.create(event_id="e-else", action="push", repository="acme/other")

    line = _line(world.client("guest").get(URL))

    assert "last registry notification (pull)" in line and "10\xa0minutes ago" in line


def test_a_notification_older_than_the_last_sync_is_not_shown(world, content):
    RegistryEvent.objects.create(event_id="e-old", action="push", repository="acme/app", received_at=timezone.now() - timedelta(hours=5))
    run(SyncRun.Scope.REGISTRY, hours_ago=1)

    assert "data-last-event" not in _line(world.client("guest").get(URL))


def test_a_notification_is_named_even_when_never_synced(world, content):
    RegistryEvent.objects.create(event_id="e", action="push", repository="acme/app")

    line = _line(world.client("guest").get(URL))

    assert "Never synced" in line and "last registry notification (push)" in line


def test_only_a_system_admin_gets_a_link_to_the_run(world, content):
    full = run(SyncRun.Scope.REGISTRY, hours_ago=1)

    assert f'href="/sync/{full.pk}/"' in _line(world.client("sysadmin").get(URL))
    assert "href=" not in _line(world.client("maintainer").get(URL))


def test_the_htmx_table_rendering_does_not_read_the_sync_state(world, content):
    response = world.client("guest").get(URL, {"sort": "-pushed"}, HTTP_HX_REQUEST="true")

    assert "last_synced" not in response.context
