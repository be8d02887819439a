"""Reading the audit log over the API: filters, keyset pages and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from django.utils import timezone

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from audit.services import record
from tests.conftest import World


def _record_many(world: World, count: int) -> list[int]:
    return [
        record(
            AuditAction.MEMBER_ADD if i % 2 else AuditAction.PROJECT_UPDATE,
            actor=Actor.for_user(world.users["padmin"] if i % 3 else world.users["sysadmin"]),
            project=world.private,
            target_type="user",
            target_name=f"target-{i}",
        ).pk
        for i in range(count)
    ]


def _walk(client: Any, url: str) -> tuple[list[int], int]:
    ids: list[int] = []
    pages = 0
    while url:
        body = client.get(url).json()
        ids += [e["id"] for e in body["results"]]
        url = body["next"]
        pages += 1
    return ids, pages


def test_project_events_come_newest_first_in_keyset_pages(world: World, api: Any) -> None:
    ids = _record_many(world, 120)
    client = api("guest")

    seen, pages = _walk(client, "/api/v1/projects/acme/audit-events/?page_size=50")

    assert seen == sorted(ids, reverse=True)
    assert pages == 3


def test_next_link_keeps_filters_and_uses_a_cursor(world: World, api: Any) -> None:
    _record_many(world, 12)
    client = api("guest")

    body = client.get("/api/v1/projects/acme/audit-events/?action=member.add&page_size=2").json()

    assert body["next"].startswith("http://testserver/api/v1/projects/acme/audit-events/?")
    assert "action=member.add" in body["next"] and "cursor=" in body["next"]
    assert body["count_exact"] is True
    assert body["count"] == AuditEvent.objects.filter(project=world.private, action="member.add").count()
    second = client.get(body["next"]).json()
    assert max(e["id"] for e in second["results"]) < min(e["id"] for e in body["results"])
    older = client.get(f"/api/v1/projects/acme/audit-events/?action=member.add&page_size=2&before={body['results'][-1]['id']}")
    assert older.json()["results"] == second["results"]  # an old `before` link still works


def test_last_page_has_no_next(world: World, api: Any) -> None:
    _record_many(world, 3)

    body = api("guest").get("/api/v1/projects/acme/audit-events/").json()

    assert body["next"] is None
    assert len(body["results"]) == 3


def test_project_events_exclude_other_projects_and_global_events(world: World, api: Any) -> None:
    record(AuditAction.PROJECT_UPDATE, actor=Actor.system(), project=world.private, target_name="mine")
    record(AuditAction.PROJECT_UPDATE, actor=Actor.system(), project=world.public, target_name="other")
    record(AuditAction.USER_CREATE, actor=Actor.system(), target_name="global")

    body = api("guest").get("/api/v1/projects/acme/audit-events/").json()

    assert [e["target_name"] for e in body["results"]] == ["mine"]
    assert body["results"][0]["project_name"] == "acme"


def test_system_log_has_every_event(world: World, api: Any) -> None:
    client = api("sysadmin")  # logging in writes a user.login event too
    record(AuditAction.PROJECT_UPDATE, actor=Actor.system(), project=world.public, target_name="other")
    record(AuditAction.USER_CREATE, actor=Actor.system(), target_name="global")

    body = client.get("/api/v1/audit-events/").json()

    assert [e["target_name"] for e in body["results"]] == ["global", "other", "sysadmin"]


def test_filters_by_actor_action_and_target(world: World, api: Any) -> None:
    _record_many(world, 12)
    client = api("guest")
    url = "/api/v1/projects/acme/audit-events/"

    by_actor = client.get(url, {"actor": "sysadmin"}).json()["results"]
    by_action = client.get(url, {"action": "member.add"}).json()["results"]
    by_target = client.get(url, {"target": "target-7"}).json()["results"]

    assert {e["actor_name"] for e in by_actor} == {"sysadmin"} and len(by_actor) == 4
    assert {e["action"] for e in by_action} == {"member.add"} and len(by_action) == 6
    assert [e["target_name"] for e in by_target] == ["target-7"]


def test_filters_by_day(world: World, api: Any) -> None:
    record(AuditAction.PROJECT_UPDATE, actor=Actor.system(), project=world.private, target_name="today")
    client = api("guest")
    today = timezone.localdate()
    url = "/api/v1/projects/acme/audit-events/"

    assert len(client.get(url, {"since": today.isoformat()}).json()["results"]) == 1
    assert len(client.get(url, {"until": (today - timedelta(days=1)).isoformat()}).json()["results"]) == 0


def test_export_streams_the_filtered_events_as_csv(world: World, api: Any) -> None:
    _record_many(world, 12)

    response = api("maintainer").get("/api/v1/projects/acme/audit-events/export/", {"action": "member.add"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-acme-')
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 6
    assert {r["action"] for r in rows} == {"member.add"}
    assert [int(r["id"]) for r in rows] == sorted((int(r["id"]) for r in rows), reverse=True)


def test_export_answers_a_csv_client(world: World, api: Any) -> None:
    response = api("maintainer").get("/api/v1/projects/acme/audit-events/export/", HTTP_ACCEPT="text/csv")

    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode().startswith("id,created_at,")


def test_refused_export_is_json_even_when_csv_was_asked_for(world: World, api: Any) -> None:
    response = api("developer").get("/api/v1/projects/acme/audit-events/export/?format=csv")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"] == "Your role in acme does not allow this."


def test_system_export_is_for_system_admins(world: World, api: Any) -> None:
    client = api("sysadmin")

    response = client.get("/api/v1/audit-events/export/")

    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 1 + AuditEvent.objects.count()
