"""The permission matrix of the scanning endpoints: each persona against the private
project `acme` and the public project `pub`.

Written out by hand from the role table in `accounts/permissions.py` (VIEW_SCANS:
every role, and anyone on a public project; RUN_SCANS: Maintainer and up;
MANAGE_ALLOWLIST and UPDATE_PROJECT: Project Admin), not computed from it, so a
change to the table or to an endpoint's permission shows up here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from repositories.models import AllowlistEntry, OsvImport, ScanReport
from repositories.vulns.inventory.packages import DEB
from tests.api.conftest import RepoRows, body_without_request_id
from tests.api.scanning_rows import finding, make_report, sbom_for
from tests.conftest import MATRIX_PERSONAS, PERSONAS, World, row_of
from tests.support.shared_rows import fresh, shared

Table = dict[str, tuple[int, int]]  # persona: (status on private `acme`, on public `pub`)

VIEW_SCANS: Table = {
    "sysadmin": (200, 200),
    "padmin": (200, 200),
    "maintainer": (200, 200),
    "developer": (200, 200),
    "guest": (200, 200),
    "limited": (200, 200),
    "outsider": (404, 200),
    "anonymous": (401, 401),
}
RUN_SCANS_202: Table = {
    "sysadmin": (202, 202),
    "padmin": (202, 202),
    "maintainer": (202, 202),
    "developer": (403, 403),
    "guest": (403, 403),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}
RUN_SCANS_201: Table = {
    "sysadmin": (201, 201),
    "padmin": (201, 201),
    "maintainer": (201, 201),
    "developer": (403, 403),
    "guest": (403, 403),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}
PROJECT_ADMIN_WRITE_201: Table = {
    "sysadmin": (201, 201),
    "padmin": (201, 201),
    "maintainer": (403, 403),
    "developer": (403, 403),
    "guest": (403, 403),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}
PROJECT_ADMIN_WRITE_200: Table = {
    "sysadmin": (200, 200),
    "padmin": (200, 200),
    "maintainer": (403, 403),
    "developer": (403, 403),
    "guest": (403, 403),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}
PROJECT_ADMIN_WRITE_204: Table = {
    "sysadmin": (204, 204),
    "padmin": (204, 204),
    "maintainer": (403, 403),
    "developer": (403, 403),
    "guest": (403, 403),
    "limited": (403, 403),
    "outsider": (404, 403),
    "anonymous": (401, 401),
}

TRIVY_REPORT = {
    "SchemaVersion": 2,
    "ArtifactName": "whatever",
    "Results": [
        {
            "Target": "debian 12",
            "Type": "debian",
            "Vulnerabilities": [
                {"VulnerabilityID": "CVE-2099-0001", "PkgName": "openssl", "InstalledVersion": "3.0.1", "Severity": "HIGH"}
            ],
        }
    ],
}


@dataclass
class Scanned:
    """Per project: the image's built-in report and its allowlist entry."""

    rows: RepoRows
    report: ScanReport
    entry: AllowlistEntry


@pytest.fixture(scope="module")
def _module_scanned(module_rows: Any, _module_content: dict[str, RepoRows] | None) -> dict[str, Scanned] | None:
    return shared(module_rows, "scanned", lambda: _make_scanned(_module_content)) if _module_content else None


@pytest.fixture
def scanned(content: dict[str, RepoRows], _module_scanned: dict[str, Scanned] | None) -> dict[str, Scanned]:
    """Made once per module when it can be (tests/support/shared_rows.py)."""
    return fresh(_module_scanned, lambda: _make_scanned(content))


def _make_scanned(content: dict[str, RepoRows]) -> dict[str, Scanned]:
    out = {}
    for name, rows in content.items():
        sbom = sbom_for(rows.image, [(DEB, "openssl", "3.0.1"), (DEB, "zlib1g", "1.2.13")])
        report = make_report(rows.image, [finding("CVE-2099-0001", "openssl", fixed="3.0.2")], sbom=sbom)
        entry = AllowlistEntry.objects.create(
            project=rows.app.project, vulnerability_id="CVE-2099-9999", reason="not reachable"
        )
        out[name] = Scanned(rows=rows, report=report, entry=entry)
    return out


@pytest.fixture(autouse=True)
def _no_scan_task(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Requested scans are queued, never run: the matrix is about who may ask."""
    started: list[int] = []
    monkeypatch.setattr("repositories.tasks.run_scan.delay", started.append)
    return started


def _base(s: Scanned, project: str) -> str:
    return f"/api/v1/repositories/{project}/app/-/artifacts/{s.rows.image.digest}"


@dataclass
class Endpoint:
    name: str
    method: str
    path: Callable[[Scanned, str], str]
    table: Table
    body: dict[str, Any] = field(default_factory=dict)


ENDPOINTS = [
    Endpoint("list reports", "GET", lambda s, p: f"{_base(s, p)}/scans/", VIEW_SCANS),
    Endpoint("retrieve report", "GET", lambda s, p: f"{_base(s, p)}/scans/{s.report.pk}/", VIEW_SCANS),
    Endpoint("list findings", "GET", lambda s, p: f"{_base(s, p)}/scans/{s.report.pk}/findings/", VIEW_SCANS),
    Endpoint(
        "export findings", "GET", lambda s, p: f"{_base(s, p)}/scans/{s.report.pk}/findings/export/?format=csv",
        VIEW_SCANS,
    ),
    Endpoint("download sbom", "GET", lambda s, p: f"{_base(s, p)}/sbom/", VIEW_SCANS),
    Endpoint(
        "compare", "GET", lambda s, p: f"/api/v1/repositories/{p}/app/-/compare/?from=v1&to=latest", VIEW_SCANS
    ),
    Endpoint("list project allowlist", "GET", lambda s, p: f"/api/v1/projects/{p}/allowlist/", VIEW_SCANS),
    Endpoint(
        "retrieve project allowlist entry", "GET",
        lambda s, p: f"/api/v1/projects/{p}/allowlist/{s.entry.pk}/", VIEW_SCANS,
    ),
    Endpoint("read scan settings", "GET", lambda s, p: f"/api/v1/projects/{p}/scan-settings/", VIEW_SCANS),
    Endpoint("request scan", "POST", lambda s, p: f"{_base(s, p)}/scans/", RUN_SCANS_202),
    Endpoint("upload trivy report", "POST", lambda s, p: f"{_base(s, p)}/trivy-reports/", RUN_SCANS_201, TRIVY_REPORT),
    Endpoint(
        "add to project allowlist", "POST", lambda s, p: f"/api/v1/projects/{p}/allowlist/",
        PROJECT_ADMIN_WRITE_201, {"vulnerability_id": "CVE-2099-0001", "reason": "accepted"},
    ),
    Endpoint(
        "change project allowlist entry", "PATCH", lambda s, p: f"/api/v1/projects/{p}/allowlist/{s.entry.pk}/",
        PROJECT_ADMIN_WRITE_200, {"reason": "still not reachable"},
    ),
    Endpoint(
        "remove project allowlist entry", "DELETE", lambda s, p: f"/api/v1/projects/{p}/allowlist/{s.entry.pk}/",
        PROJECT_ADMIN_WRITE_204,
    ),
    Endpoint(
        "change scan settings", "PATCH", lambda s, p: f"/api/v1/projects/{p}/scan-settings/",
        PROJECT_ADMIN_WRITE_200, {"scan_on_push": True},
    ),
]


def test_every_table_covers_every_persona() -> None:
    for endpoint in ENDPOINTS:
        assert set(endpoint.table) == set(PERSONAS), endpoint.name


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name.replace(" ", "_"))
def test_scanning_endpoint_status(
    endpoint: Endpoint, persona: str, project: str, scanned: dict[str, Scanned], api: Any
) -> None:
    expected = endpoint.table[row_of(persona)][0 if project == "acme" else 1]

    response = api(persona).request(endpoint.method, endpoint.path(scanned[project], project), endpoint.body or None)

    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response["Content-Type"] == "application/json"
        assert "detail" in response.json()


def test_refused_writes_change_nothing(scanned: dict[str, Scanned], api: Any) -> None:
    s = scanned["pub"]
    guest = api("guest")

    guest.post(f"{_base(s, 'pub')}/scans/")
    guest.post(f"{_base(s, 'pub')}/trivy-reports/", TRIVY_REPORT)
    guest.post("/api/v1/projects/pub/allowlist/", {"vulnerability_id": "CVE-2099-0001", "reason": "x"})
    guest.delete(f"/api/v1/projects/pub/allowlist/{s.entry.pk}/")
    api("maintainer").patch("/api/v1/projects/pub/scan-settings/", {"scan_on_push": True})

    assert list(ScanReport.objects.filter(artifact=s.rows.image)) == [s.report]
    assert list(AllowlistEntry.objects.filter(project=s.rows.app.project)) == [s.entry]
    assert api("guest").get("/api/v1/projects/pub/scan-settings/").json() == {"scan_on_push": False}


# persona: status, for endpoints outside any project
ANY_USER = {p: 200 for p in PERSONAS} | {"anonymous": 401}
SYSADMIN_ONLY = {p: 403 for p in PERSONAS} | {"sysadmin": 200, "anonymous": 401}
SYSADMIN_ONLY_201 = {p: 403 for p in PERSONAS} | {"sysadmin": 201, "anonymous": 401}


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_anyone_signed_in_may_read_the_system_allowlist(persona: str, world: World, api: Any) -> None:
    AllowlistEntry.objects.create(vulnerability_id="CVE-2099-0042", reason="everywhere")

    response = api(persona).get("/api/v1/allowlist/")

    assert response.status_code == ANY_USER[row_of(persona)], response.content


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_system_admins_may_add_to_the_system_allowlist(persona: str, world: World, api: Any) -> None:
    response = api(persona).post("/api/v1/allowlist/", {"vulnerability_id": "CVE-2099-0042", "reason": "x"})

    assert response.status_code == SYSADMIN_ONLY_201[row_of(persona)], response.content
    assert AllowlistEntry.objects.filter(project=None).exists() == (persona == "sysadmin")


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_system_admins_may_change_or_remove_system_allowlist_entries(
    persona: str, world: World, api: Any
) -> None:
    entry = AllowlistEntry.objects.create(vulnerability_id="CVE-2099-0042", reason="everywhere")
    client = api(persona)

    changed = client.patch(f"/api/v1/allowlist/{entry.pk}/", {"reason": "changed"})
    removed = client.delete(f"/api/v1/allowlist/{entry.pk}/")

    assert changed.status_code == SYSADMIN_ONLY[row_of(persona)], changed.content
    assert removed.status_code == (204 if persona == "sysadmin" else SYSADMIN_ONLY[row_of(persona)])
    assert AllowlistEntry.objects.filter(pk=entry.pk).exists() == (persona != "sysadmin")


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_system_admins_may_list_osv_imports(persona: str, world: World, api: Any) -> None:
    run = OsvImport.objects.create(source="/srv/osv/all.zip", status=OsvImport.Status.SUCCEEDED)

    listed = api(persona).get("/api/v1/osv-imports/")
    read = api(persona).get(f"/api/v1/osv-imports/{run.pk}/")

    assert listed.status_code == read.status_code == SYSADMIN_ONLY[row_of(persona)], listed.content


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_anyone_signed_in_may_read_the_vulnerability_database_status(persona: str, world: World, api: Any) -> None:
    response = api(persona).get("/api/v1/vulnerability-database/")

    assert response.status_code == ANY_USER[row_of(persona)], response.content


def test_report_of_a_hidden_project_is_the_same_404_as_a_missing_one(scanned: dict[str, Scanned], api: Any) -> None:
    s = scanned["acme"]
    hidden = api("outsider").get(f"{_base(s, 'acme')}/scans/{s.report.pk}/")
    missing = api("outsider").get(f"/api/v1/repositories/acme/nope/-/artifacts/{s.rows.image.digest}/scans/1/")

    assert hidden.status_code == missing.status_code == 404
    assert body_without_request_id(hidden) == body_without_request_id(missing)


def test_a_report_is_only_found_under_its_own_artifact(scanned: dict[str, Scanned], api: Any) -> None:
    s = scanned["acme"]
    other = s.rows.index.digest

    response = api("padmin").get(f"/api/v1/repositories/acme/app/-/artifacts/{other}/scans/{s.report.pk}/")
    findings = api("padmin").get(f"/api/v1/repositories/acme/app/-/artifacts/{other}/scans/{s.report.pk}/findings/")

    assert response.status_code == findings.status_code == 404
