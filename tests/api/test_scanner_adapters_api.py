"""`/api/v1/scanner-adapters/` (system admins only) and requesting a scan by a
registered adapter through `POST .../artifacts/{digest}/scans/`, against the fake
adapter of `tests/scanning/test_harbor_adapter.py`."""

# The shared fixtures are imported, so tests naming them as arguments "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from audit.models import AuditAction, AuditEvent
from repositories.models import ScannerAdapter, ScanReport
from repositories.services import scanner_adapters
from tests.api.conftest import JsonClient, RepoRows
from tests.conftest import PERSONAS, World
from tests.scanning.adapter_registry_support import (  # noqa: F401  (fixtures are used by name)
    ADAPTER,
    FakeAdapter,
    fake_adapter,
    token_key,
    unreachable,
)
from tests.scanning.support import ACTOR

URL = "/api/v1/scanner-adapters/"
SECRET = "Bearer adapter-s3cret"
Api = Callable[[str], JsonClient]


@pytest.fixture
def adapter(world: World, fake_adapter: FakeAdapter) -> ScannerAdapter:
    return scanner_adapters.register("trivy", ADAPTER, SECRET, ACTOR)


def scans_url(rows: RepoRows, digest: str | None = None) -> str:
    return f"/api/v1/repositories/{rows.app.name}/-/artifacts/{digest or rows.image.digest}/scans/"


# --- the permission matrix: system admins only -------------------------------------

OTHERS = [p for p in PERSONAS if p not in ("sysadmin", "anonymous")]
CALLS: list[tuple[str, str, dict[str, Any] | None, int]] = [
    ("get", "", None, 200),
    ("post", "", {"name": "clair", "url": "http://clair.test"}, 201),
    ("get", "{id}/", None, 200),
    ("patch", "{id}/", {"enabled": False}, 200),
    ("post", "{id}/refresh/", None, 200),
    ("delete", "{id}/", None, 204),
]


@pytest.mark.parametrize(("method", "path", "body", "admin_status"), CALLS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_only_system_admins_may_use_the_scanner_adapter_endpoints(
    api: Api, adapter: ScannerAdapter, persona: str, method: str, path: str, body: Any, admin_status: int
) -> None:
    response = api(persona).request(method, URL + path.format(id=adapter.pk), body)

    expected = {"sysadmin": admin_status, "anonymous": 401}.get(persona, 403)
    assert response.status_code == expected, response.content
    if persona != "sysadmin":
        assert ScannerAdapter.objects.filter(pk=adapter.pk, enabled=True).exists()
        assert not ScannerAdapter.objects.filter(name="clair").exists()


# --- the resource -----------------------------------------------------------------


def test_registering_answers_the_metadata_and_never_the_auth_header(api: Api, world: World, fake_adapter: FakeAdapter) -> None:
    response = api("sysadmin").post(URL, {"name": "trivy", "url": ADAPTER, "auth": SECRET})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["metadata"]["scanner"] == {"name": "Trivy", "vendor": "Aqua Security", "version": "0.50.0"}
    assert body["has_auth"] is True and body["created_by"] == "sysadmin" and "auth" not in body
    for answer in (response, api("sysadmin").get(URL), api("sysadmin").get(f"{URL}{body['id']}/")):
        assert "s3cret" not in answer.content.decode()
    assert ScannerAdapter.objects.get().auth_header == SECRET
    event = AuditEvent.objects.get(action=AuditAction.SCANNER_ADAPTER_ADD)
    assert event.actor_name == "sysadmin" and "s3cret" not in str(event.details)


def test_an_unreachable_adapter_is_a_400_on_url_and_is_not_saved(api: Api, world: World, unreachable: None) -> None:
    response = api("sysadmin").post(URL, {"name": "trivy", "url": ADAPTER})

    assert response.status_code == 400
    assert "unreachable" in " ".join(response.json()["url"])
    assert not ScannerAdapter.objects.exists()


def test_patch_disables_and_delete_removes_with_audit_rows(api: Api, adapter: ScannerAdapter) -> None:
    client = api("sysadmin")

    assert client.patch(f"{URL}{adapter.pk}/", {"enabled": False}).json()["enabled"] is False
    assert client.delete(f"{URL}{adapter.pk}/").status_code == 204

    assert not ScannerAdapter.objects.exists()
    events = AuditEvent.objects.filter(actor_name="sysadmin", target_type="scanner_adapter").order_by("id")
    actions = list(events.values_list("action", flat=True))
    assert actions == [AuditAction.SCANNER_ADAPTER_UPDATE, AuditAction.SCANNER_ADAPTER_REMOVE]


def test_refresh_stores_the_adapters_new_metadata(api: Api, adapter: ScannerAdapter, fake_adapter: FakeAdapter) -> None:
    fake_adapter.metadata = {**fake_adapter.metadata, "scanner": {"name": "Trivy", "vendor": "Aqua", "version": "0.51.0"}}

    response = api("sysadmin").post(f"{URL}{adapter.pk}/refresh/")

    assert response.status_code == 200
    assert response.json()["metadata"]["scanner"]["version"] == "0.51.0"


# --- requesting a scan by an adapter ------------------------------------------------


def test_requesting_an_adapter_scan_runs_it_and_stores_a_harbor_adapter_report(
    api: Api,
    adapter: ScannerAdapter,
    content: dict[str, RepoRows],
    token_key: None,
    fake_adapter: FakeAdapter,
    django_capture_on_commit_callbacks: Any,
) -> None:
    rows = content["acme"]

    with django_capture_on_commit_callbacks(execute=True):
        response = api("maintainer").post(scans_url(rows), {"adapter": adapter.pk})

    assert response.status_code == 202, response.content
    assert response.json() == {"adapter": adapter.pk, "adapter_name": "trivy", "digest": rows.image.digest, "status": "queued"}
    report = ScanReport.objects.get(artifact=rows.image)
    assert (report.scanner, report.status, report.requested_by.username) == ("harbor-adapter", "succeeded", "maintainer")
    assert report.findings.count() == 3
    scan_request = fake_adapter.scan_requests[0]
    assert scan_request["artifact"]["repository"] == rows.app.name
    assert scan_request["registry"]["authorization"].startswith("Bearer ")
    assert all(r.headers["Authorization"] == SECRET for r in fake_adapter.requests)
    listed = api("maintainer").get(scans_url(rows))
    assert [r["scanner"] for r in listed.json()["results"]] == ["harbor-adapter"]
    assert "s3cret" not in listed.content.decode()


def test_without_adapter_the_builtin_scan_is_still_queued(
    api: Api, adapter: ScannerAdapter, content: dict[str, RepoRows]
) -> None:
    response = api("maintainer").post(scans_url(content["acme"]))

    assert response.status_code == 202
    assert ScanReport.objects.get().scanner == "builtin"


@pytest.mark.parametrize("state", ["disabled", "unknown"])
def test_a_disabled_or_unknown_adapter_is_a_400_on_adapter(
    api: Api, adapter: ScannerAdapter, content: dict[str, RepoRows], state: str, fake_adapter: FakeAdapter
) -> None:
    adapter_id = adapter.pk if state == "disabled" else adapter.pk + 1000
    scanner_adapters.set_enabled(adapter, False, ACTOR)
    asked = len(fake_adapter.requests)

    response = api("maintainer").post(scans_url(content["acme"]), {"adapter": adapter_id})

    assert response.status_code == 400
    assert "adapter" in response.json()
    assert not ScanReport.objects.exists() and len(fake_adapter.requests) == asked


def test_an_index_cannot_be_scanned_by_an_adapter(api: Api, adapter: ScannerAdapter, content: dict[str, RepoRows]) -> None:
    rows = content["acme"]

    response = api("maintainer").post(scans_url(rows, rows.index.digest), {"adapter": adapter.pk})

    assert response.status_code == 400
    assert "images" in " ".join(response.json()["adapter"])


@pytest.mark.parametrize(("persona", "expected"), [("developer", 403), ("outsider", 404), ("anonymous", 401)])
def test_an_adapter_scan_needs_run_scans(
    api: Api, adapter: ScannerAdapter, content: dict[str, RepoRows], persona: str, expected: int
) -> None:
    response = api(persona).post(scans_url(content["acme"]), {"adapter": adapter.pk})

    assert response.status_code == expected
    assert not ScanReport.objects.exists()
