"""The system audit log and a project's Logs tab: filters, keyset pages, CSV."""

from __future__ import annotations

import csv
import io

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from audit.services import record


def _events(world, count, **kwargs):
    for i in range(count):
        record(
            kwargs.get("action", AuditAction.PROJECT_UPDATE),
            actor=Actor.for_user(world.users[kwargs.get("actor", "padmin")]),
            project=kwargs.get("project", world.private),
            target_type="project",
            target_name=kwargs.get("target", f"t{i}"),
            details={"n": i},
        )


def _csv(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_audit_log_lists_the_newest_events_first(world):
    _events(world, 3)

    response = world.client("sysadmin").get("/audit/")

    # The newest event is the admin's own login (force_login sends the signal).
    assert [e.target_name for e in response.context["events"]] == ["sysadmin", "t2", "t1", "t0"]


def test_audit_log_filters_by_actor_and_action(world):
    _events(world, 2, actor="padmin")
    _events(world, 2, actor="maintainer", action=AuditAction.MEMBER_ADD)

    response = world.client("sysadmin").get("/audit/", {"actor": "maintainer", "action": "member.add"})

    assert {(e.actor_name, e.action) for e in response.context["events"]} == {("maintainer", "member.add")}
    assert len(response.context["events"]) == 2


def test_audit_log_older_link_keeps_the_filters_and_pages_by_id(world):
    _events(world, 60, actor="maintainer")
    _events(world, 3, actor="padmin")
    client = world.client("sysadmin")

    first = client.get("/audit/", {"actor": "maintainer"})
    older_url = first.context["older_url"]
    second = client.get("/audit/" + older_url)

    assert len(first.context["events"]) == 50
    assert "actor=maintainer" in older_url and "cursor=" in older_url
    assert len(second.context["events"]) == 10
    assert all(e.actor_name == "maintainer" for e in second.context["events"])
    assert max(e.pk for e in second.context["events"]) < min(e.pk for e in first.context["events"])
    assert second.context["older_url"] is None


def test_audit_log_invalid_dates_show_an_error_not_everything(world):
    _events(world, 2)

    response = world.client("sysadmin").get("/audit/", {"since": "2030-01-02", "until": "2030-01-01"})

    assert response.context["events"] == []
    assert "The end date is before the start date." in response.content.decode()


def test_audit_log_htmx_filter_gets_only_the_table(world):
    _events(world, 2)

    response = world.client("sysadmin").get("/audit/", {"actor": "padmin"}, HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert body.lstrip().startswith('<div id="audit-events"')
    assert "/audit/export.csv?actor=padmin" in body


def test_audit_details_are_compact_and_escaped(world):
    record(
        AuditAction.PROJECT_UPDATE,
        actor=Actor.for_user(world.users["padmin"]),
        project=world.private,
        details={"description": {"to": "<img src=x onerror=alert(1)>"}},
    )

    body = world.client("sysadmin").get("/audit/").content.decode()

    assert "<img src=x" not in body
    assert "{&quot;description&quot;:{&quot;to&quot;:&quot;&lt;img src=x onerror=alert(1)&gt;&quot;}}" in body


def test_audit_export_streams_csv_honouring_the_filters(world):
    _events(world, 3, actor="padmin")
    _events(world, 2, actor="maintainer")

    response = world.client("sysadmin").get("/audit/export.csv", {"actor": "maintainer"})

    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert rows[0][0] == "id"
    assert [row[3] for row in rows[1:]] == ["maintainer", "maintainer"]


def test_audit_export_refuses_invalid_filters(world):
    response = world.client("sysadmin").get("/audit/export.csv", {"since": "nonsense"})

    assert response.status_code == 400


def test_project_logs_show_only_that_project(world):
    _events(world, 2, project=world.private, target="in-acme")
    _events(world, 2, project=world.public, target="in-pub")

    response = world.client("guest").get("/projects/acme/logs/")

    assert {e.target_name for e in response.context["events"]} == {"in-acme"}
    assert "export.csv" not in response.content.decode()  # guests may not export


def test_project_logs_export_only_that_project(world):
    _events(world, 2, project=world.private, target="in-acme")
    _events(world, 2, project=world.public, target="in-pub")

    response = world.client("maintainer").get("/projects/acme/logs/export.csv")

    assert response["Content-Disposition"] == 'attachment; filename="acme-audit.csv"'
    assert {row[8] for row in _csv(response)[1:]} == {"in-acme"}


def test_project_logs_show_the_export_link_to_maintainers(world):
    body = world.client("maintainer").get("/projects/acme/logs/").content.decode()

    assert "/projects/acme/logs/export.csv" in body


def test_project_logs_filter_by_action(world):
    _events(world, 2, action=AuditAction.MEMBER_ADD)
    _events(world, 2, action=AuditAction.PROJECT_UPDATE)

    response = world.client("guest").get("/projects/acme/logs/", {"action": "member.add"})

    assert [e.action for e in response.context["events"]] == ["member.add", "member.add"]
    assert AuditEvent.objects.filter(project_id=world.private.pk).count() == 4
