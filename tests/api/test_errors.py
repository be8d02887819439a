"""API errors are JSON with the request id; bad query values are 400s naming the
parameter, in words, each message once; `/api/v1/` lists the API's resources."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.throttling import UserRateThrottle

from accounts.models import Team
from replication.models import RegistryEndpoint, ReplicationRule, ReplicationRun
from repositories.models import Label, RecycleBinEntry, RetentionRun
from repositories.services.errors import RegistryActionFailed
from tests.api.conftest import RepoRows
from tests.api.scanning_rows import make_report
from tests.conftest import World
from webhooks.models import Webhook

# --- helpers ------------------------------------------------------------------------------


def messages_in(body: Any) -> list[str]:
    """Every message string of an error body (the request id is not a message)."""
    if isinstance(body, dict):
        return [m for key, value in body.items() if key != "request_id" for m in messages_in(value)]
    if isinstance(body, list):
        return [m for value in body for m in messages_in(value)]
    return [str(body)]


def assert_worded(body: Any) -> None:
    """No DRF "Ensure this field has at least 1 elements." and no message twice."""
    messages = messages_in(body)
    assert not [m for m in messages if "elements" in m or m.startswith("Ensure this field has")], body
    assert len(messages) == len(set(messages)), body


def assert_json_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["detail"]
    assert body["request_id"] == response["X-Request-ID"]
    return body


@pytest.fixture
def sysadmin(world: World) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(world.users["sysadmin"])
    return client


# --- 500 and 404 --------------------------------------------------------------------------


def test_unhandled_exception_in_an_api_view_is_a_json_500_with_the_request_id(
    sysadmin: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr("accounts.api.me.MeView.get", explode)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = sysadmin.get("/api/v1/me/", headers={"X-Request-ID": "req-42"})

    body = assert_json_error(response, 500)
    assert body["request_id"] == "req-42"
    assert "fire" not in body["detail"]  # the cause is logged, not shown
    logged = [r for r in caplog.records if r.exc_info and "req-42" in r.getMessage()]
    assert logged and "the disk is on fire" in str(logged[0].exc_info[1])


def test_server_error_page_outside_the_api_is_html_showing_the_request_id(
    sysadmin: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr("accounts.views.users.UserSearchForm", explode)
    response = sysadmin.get("/users/", headers={"X-Request-ID": "page-7"})
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "page-7" in response.content.decode()


@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/v1/projects/acme/nothing/", "/api/elsewhere"])
def test_unknown_api_path_is_a_json_404(sysadmin: Client, path: str) -> None:
    assert_json_error(sysadmin.get(path), 404)


def test_unknown_page_is_an_html_404_showing_the_request_id(sysadmin: Client) -> None:
    response = sysadmin.get("/no-such-page/", headers={"X-Request-ID": "lost-1"})
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "lost-1" in response.content.decode()


def test_errors_raised_by_drf_carry_the_request_id(sysadmin: Client) -> None:
    assert_json_error(Client().get("/api/v1/me/"), 401)
    assert_json_error(sysadmin.get("/api/v1/projects/no-such-project/"), 404)


def test_wrong_method_is_a_json_405(sysadmin: Client) -> None:
    assert_json_error(sysadmin.delete("/api/v1/me/"), 405)


def test_unacceptable_media_type_is_a_json_406(sysadmin: Client) -> None:
    assert_json_error(sysadmin.get("/api/v1/projects/", headers={"Accept": "application/xml"}), 406)


def test_csv_export_answers_its_errors_in_json(sysadmin: Client) -> None:
    response = sysadmin.get("/api/v1/audit-events/export/", {"since": "notadate"})
    assert response.status_code == 400
    assert response.json() == {"since": ["Enter a valid date."]}


def test_unsupported_body_type_is_a_json_415(sysadmin: Client) -> None:
    response = sysadmin.post("/api/v1/tokens/", "name=x", content_type="text/plain")
    assert_json_error(response, 415)


def test_throttled_request_is_a_json_429(sysadmin: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    class OnePerMinute(UserRateThrottle):
        rate = "1/min"

    monkeypatch.setattr("accounts.api.me.MeView.throttle_classes", [OnePerMinute])
    assert sysadmin.get("/api/v1/me/").status_code == 200
    assert_json_error(sysadmin.get("/api/v1/me/"), 429)


# --- the index ----------------------------------------------------------------------------


def test_api_root_lists_its_resources_and_each_answers_a_sysadmin(sysadmin: Client) -> None:
    response = sysadmin.get("/api/v1/")
    assert response.status_code == 200
    body = response.json()
    resources = body["resources"]
    assert {"projects", "users", "audit-events", "sync-runs", "me", "tokens", "robots"} <= set(resources)
    for url in [*resources.values(), body["schema"], body["docs"]]:
        assert url.startswith("http://testserver/")
        assert sysadmin.get(url).status_code == 200, url


def test_api_root_answers_before_login() -> None:
    assert Client().get("/api/v1/").status_code == 200


# --- unreadable query values: a sweep over the schema --------------------------------------

GARBAGE = "not-a-valid-value"


def _typed_query_parameters() -> list[tuple[str, str, str]]:
    """(operation id, path, parameter) for every GET operation of the schema and each
    of its query parameters that has a type to parse: integer, number, boolean, date,
    date-time, or a fixed set of values (enum). Read from the schema, so a new
    endpoint or filter is swept without being listed here."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    cases = []
    for path, operations in schema["paths"].items():
        operation = operations.get("get")
        if not operation:
            continue
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            spec = parameter.get("schema", {})
            items = spec.get("items", {})
            typed = (
                spec.get("type") in ("integer", "number", "boolean")
                or spec.get("format") in ("date", "date-time")
                or "enum" in spec
                or "enum" in items
            )
            if typed:
                cases.append((operation["operationId"], path, parameter["name"]))
    return cases


CASES = _typed_query_parameters()


@pytest.fixture
def path_values(world: World, content: dict[str, RepoRows]) -> dict[str, str]:
    """A real object for every path parameter of the swept operations."""
    rows = content["acme"]
    report = make_report(rows.image)
    run = RetentionRun.objects.create(
        project=world.private, status=RetentionRun.Status.SUCCEEDED, finished_at=timezone.now()
    )
    label = Label.objects.create(project=world.private, name="qa")
    project_hook = Webhook.objects.create(project=world.private, name="ci", url="https://ci.example.com/hook")
    system_hook = Webhook.objects.create(project=None, name="ops", url="https://ops.example.com/hook")
    team = Team.objects.create(name="platform")
    endpoint = RegistryEndpoint.objects.create(name="dr", url="http://127.0.0.1:9")
    rule = ReplicationRule.objects.create(name="r", endpoint=endpoint)
    replication_run = ReplicationRun.objects.create(rule=rule, trigger="manual", status="failed")
    return {
        "project_name": world.private.name,
        "repository_name": rows.app.name,
        "digest": rows.image.digest,
        "report_id": str(report.pk),
        "run_id": str(replication_run.pk),  # /api/v1/replication-runs/{run_id}/items/
        "project:run_id": str(run.pk),  # a project's retention run
        "id": str(label.pk),  # the only swept `{id}`: a project's label
        "project:webhook_id": str(project_hook.pk),
        "webhook_id": str(system_hook.pk),
        "team_id": str(team.pk),
    }


def fill_path(path: str, values: dict[str, str]) -> str:
    """`path` with its parameters filled; a project's own object where it differs (`project:`)."""
    in_project = path.startswith("/api/v1/projects/")
    return re.sub(
        r"\{(\w+)\}", lambda m: values.get(f"project:{m.group(1)}" if in_project else "", values[m.group(1)]), path
    )


def test_the_sweep_covers_the_filters_it_was_written_for() -> None:
    swept = {(operation, name) for operation, _, name in CASES}
    assert {
        ("projects_list", "is_public"),
        ("projects_list", "ordering"),
        ("projects_list", "page_size"),
        ("audit_events_list", "since"),
        ("audit_events_list", "before"),
        ("users_list", "is_active"),
        ("repositories_artifacts_scans_findings_list", "fixable"),
        ("projects_recycle_bin_list", "restored"),
        ("projects_retention_runs_list", "dry_run"),
    } <= swept


@pytest.mark.parametrize(("operation", "path", "parameter"), CASES, ids=[f"{o}-{p}" for o, _, p in CASES])
def test_unreadable_query_value_is_a_400_naming_the_parameter(
    sysadmin: Client, path_values: dict[str, str], operation: str, path: str, parameter: str
) -> None:
    url = fill_path(path, path_values)
    response = sysadmin.get(url, {parameter: GARBAGE})
    assert response.status_code == 400, (url, response.content[:300])
    body = response.json()
    assert parameter in body, body
    assert_worded(body)


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("/api/v1/projects/", {"page_size": "abc"}),
        ("/api/v1/projects/", {"page": "abc"}),
        ("/api/v1/projects/", {"page_size": "0"}),
        ("/api/v1/audit-events/", {"page_size": "-3"}),
        ("/api/v1/audit-events/", {"since": "2026-13-45"}),
        ("/api/v1/projects/", {"ordering": "password"}),
        ("/api/v1/users/", {"is_superuser": "perhaps"}),
        ("/api/v1/projects/acme/retention-runs/", {"status": "exploded"}),
    ],
)
def test_named_examples_of_bad_query_values(sysadmin: Client, url: str, query: dict[str, str]) -> None:
    response = sysadmin.get(url, query)
    assert response.status_code == 400
    assert set(response.json()) == set(query)
    assert_worded(response.json())


def test_readable_values_still_filter(sysadmin: Client, world: World) -> None:
    body = sysadmin.get("/api/v1/projects/", {"is_public": "true", "page_size": "1"}).json()
    assert [p["name"] for p in body["results"]] == ["pub"]
    body = sysadmin.get("/api/v1/projects/", {"is_public": "0"}).json()
    assert [p["name"] for p in body["results"]] == ["acme"]


def test_a_page_past_the_end_stays_a_404(sysadmin: Client) -> None:
    # A list still paged by number (the long lists page by cursor and refuse `page`: 400).
    assert_json_error(sysadmin.get("/api/v1/sync-runs/", {"page": "99"}), 404)
    assert sysadmin.get("/api/v1/projects/", {"page": "99"}).status_code == 400


def test_a_page_number_on_a_cursor_list_is_a_400_that_says_to_follow_the_links(sysadmin: Client) -> None:
    response = sysadmin.get("/api/v1/projects/", {"page": "2"})
    assert response.status_code == 400
    assert "cursor" in str(response.json()["page"])


def test_retention_preview_refuses_an_unreadable_detail_flag(sysadmin: Client, world: World) -> None:
    response = sysadmin.post(
        "/api/v1/projects/acme/retention-policy/preview/?detail=maybe",
        json.dumps({"rules": []}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"detail"}


# --- bad bodies: messages in words, under the field to blame --------------------------------


def post_json(client: Client, url: str, data: Any, method: str = "post") -> Any:
    return getattr(client, method)(url, json.dumps(data), content_type="application/json")


@pytest.mark.parametrize(
    ("method", "url", "data", "field", "message"),
    [
        ("post", "/api/v1/projects/acme/robots/", {"name": "ci", "permissions": []}, "permissions", None),
        (
            "post",
            "/api/v1/robots/",
            {"name": "mirror", "permissions": ["pull"], "projects": []},
            "projects",
            "Choose at least one project.",
        ),
        ("post", "/api/v1/robots/", {"name": "mirror", "permissions": [], "projects": ["acme"]}, "permissions", None),
        ("post", "/api/v1/tokens/", {"name": "ci", "scopes": []}, "scopes", "Choose at least one scope."),
        ("post", "/api/v1/tokens/", {"name": "ci", "scopes": ["api"] * 11}, "scopes", "Give at most 10 scopes."),
        ("post", "/api/v1/repositories/acme/app/-/tags/bulk-delete/", {"tags": []}, "tags", "Name at least one tag."),
        (
            "post",
            "/api/v1/repositories/acme/app/-/tags/bulk-delete/",
            {"tags": [f"t{i}" for i in range(1001)]},
            "tags",
            None,
        ),
    ],
)
def test_bad_lists_are_refused_in_words_under_their_field(
    sysadmin: Client,
    content: dict[str, RepoRows],
    method: str,
    url: str,
    data: Any,
    field: str,
    message: str | None,
) -> None:
    response = post_json(sysadmin, url, data, method)
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert set(body) == {field}
    assert_worded(body)
    if message:
        assert body[field] == [message]


def test_robot_update_errors_name_the_api_field(sysadmin: Client, world: World) -> None:
    created = post_json(sysadmin, "/api/v1/projects/acme/robots/", {"name": "ci", "permissions": ["pull"]})
    url = f"/api/v1/projects/acme/robots/{created.json()['id']}/"
    response = post_json(sysadmin, url, {"permissions": []}, "patch")
    assert response.status_code == 400
    assert set(response.json()) == {"permissions"}


def _request_serializers() -> list[type]:
    from rest_framework import serializers

    found: list[type] = []
    pending: list[type] = [serializers.Serializer]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in ("accounts", "audit", "repositories", "portal"):
            found.append(cls)
    return found


def test_no_list_field_of_the_api_speaks_of_elements() -> None:
    """Every list-valued field with a size limit words it itself, so a new one cannot
    bring back DRF's "Ensure this field has at least 1 elements."."""
    from rest_framework import serializers

    def walk(serializer: Any, where: str) -> list[str]:
        problems = []
        for name, field in serializer.fields.items():
            if isinstance(field, serializers.ListSerializer):
                field = field.child
            if isinstance(field, serializers.Serializer):
                problems += walk(field, f"{where}.{name}")
                continue
            if isinstance(field, (serializers.ListField, serializers.MultipleChoiceField)):
                active = [
                    key
                    for key, on in (
                        ("min_length", getattr(field, "min_length", None) is not None),
                        ("max_length", getattr(field, "max_length", None) is not None),
                        ("empty", not field.allow_empty),
                    )
                    if on
                ]
                problems += [
                    f"{where}.{name}: {key}" for key in active if "elements" in str(field.error_messages[key])
                ]
        return problems

    problems: list[str] = []
    for cls in _request_serializers():
        try:
            instance = cls()
        except TypeError:
            continue
        problems += walk(instance, cls.__qualname__)
    assert not problems


# --- conflicts, too large, registry failures: raised as ApiError, answered with the request id ---


def test_stopping_a_finished_run_is_a_json_409_with_the_request_id(sysadmin: Client, world: World) -> None:
    run = RetentionRun.objects.create(
        project=world.private, status=RetentionRun.Status.SUCCEEDED, finished_at=timezone.now()
    )

    response = sysadmin.post(f"/api/v1/projects/acme/retention-runs/{run.pk}/stop/")

    assert assert_json_error(response, 409)["detail"] == "This run has succeeded already."


def test_restoring_a_restored_entry_is_a_409_with_its_code_and_the_request_id(
    sysadmin: Client, world: World
) -> None:
    entry = RecycleBinEntry.objects.create(
        project=world.private,
        repository_name="acme/app",
        digest="sha256:" + "a" * 64,
        media_type="application/vnd.oci.image.manifest.v1+json",
        manifest=b"{}",
        tags={"v1": "2026-01-01T00:00:00+00:00"},
        source=RecycleBinEntry.Source.RETENTION,
        restored_at=timezone.now(),
    )

    response = sysadmin.post(f"/api/v1/projects/acme/recycle-bin/{entry.pk}/restore/")

    assert assert_json_error(response, 409)["code"] == "restored"


def test_a_trivy_report_over_the_limit_is_a_json_413_with_the_request_id(
    sysadmin: Client, content: dict[str, RepoRows], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("repositories.api.scanning.MAX_TRIVY_REPORT_BYTES", 10)
    image = content["acme"].image
    url = f"/api/v1/repositories/{image.repository.name}/-/artifacts/{image.digest}/trivy-reports/"

    response = post_json(sysadmin, url, {"SchemaVersion": 2, "Results": []})

    assert "at most" in assert_json_error(response, 413)["detail"]


@pytest.mark.parametrize(("transient", "status"), [(True, 503), (False, 502)])
@pytest.mark.parametrize("target", ["tag", "artifact"])
def test_a_registry_failure_is_a_json_502_or_503_with_the_request_id(
    sysadmin: Client,
    content: dict[str, RepoRows],
    monkeypatch: pytest.MonkeyPatch,
    transient: bool,
    status: int,
    target: str,
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RegistryActionFailed("The registry said no.", transient=transient)

    monkeypatch.setattr(f"repositories.api.{target}s.delete_{target}", refuse)
    rows = content["acme"]
    url = {
        "tag": f"/api/v1/repositories/{rows.app.name}/-/tags/v1/",
        "artifact": f"/api/v1/repositories/{rows.app.name}/-/artifacts/{rows.image.digest}/",
    }[target]

    response = sysadmin.delete(url)

    assert assert_json_error(response, status)["detail"] == "The registry said no."
