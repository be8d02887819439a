"""Every scan page and POST × every persona × (private `acme`, public `pub`).

Expectations follow accounts/permissions.py, written out by hand: every role and
the public holds VIEW_SCANS; RUN_SCANS is Maintainer and up; MANAGE_ALLOWLIST and
UPDATE_PROJECT (scan on push) are Project Admin; the system overview and the
system-wide allowlist are for system admins. Outsiders get 404 on the private
project, anonymous visitors the login page."""

from __future__ import annotations

import pytest

from repositories.models import AllowlistEntry, ScanReport
from tests.conftest import MATRIX_PERSONAS, row_of
from tests.pages.scan_content import make_scans
from tests.support.shared_rows import fresh, shared

VIEW_SCANS = {
    "sysadmin": 200,
    "padmin": 200,
    "maintainer": 200,
    "developer": 200,
    "guest": 200,
    "limited": 200,
    "outsider": {"acme": 404, "pub": 200},
}
RUN_SCANS = {
    "sysadmin": 200,
    "padmin": 200,
    "maintainer": 200,
    "developer": 403,
    "guest": 403,
    "limited": 403,
    "outsider": {"acme": 404, "pub": 403},
}
PROJECT_ADMINS = {  # MANAGE_ALLOWLIST and UPDATE_PROJECT
    "sysadmin": 200,
    "padmin": 200,
    "maintainer": 403,
    "developer": 403,
    "guest": 403,
    "limited": 403,
    "outsider": {"acme": 404, "pub": 403},
}
SYSTEM_ADMINS = {
    "sysadmin": 200,
    "padmin": 403,
    "maintainer": 403,
    "developer": 403,
    "guest": 403,
    "limited": 403,
    "outsider": 403,
}
HTMX = {"HTTP_HX_REQUEST": "true"}


def _expected(table: dict, persona: str, project: str = "") -> int:
    if persona == "anonymous":
        return 302
    value = table[row_of(persona)]
    return value[project] if isinstance(value, dict) else value


def _make_scans(world):
    return {"acme": make_scans(world.private), "pub": make_scans(world.public)}


@pytest.fixture(scope="module")
def _module_scans(module_rows, _module_world):
    return shared(module_rows, "scans", lambda: _make_scans(_module_world)) if _module_world else None


@pytest.fixture
def scans(world, _module_scans):
    return fresh(_module_scans, lambda: _make_scans(world))


def _pages(scans, project):
    image = scans[project].content.image
    base = f"/projects/{project}/repositories/app/"
    vulns = f"{base}-/artifacts/{image.digest}/vulnerabilities/"
    return [
        (vulns, VIEW_SCANS),
        (vulns + "?severity=critical&fixable=yes&package=open&id=CVE&sort=-cvss_score", VIEW_SCANS),
        (vulns + "export.csv", VIEW_SCANS),
        (vulns + "export.json?severity=high", VIEW_SCANS),
        (vulns + "status/", VIEW_SCANS),
        (f"{base}-/artifacts/{image.digest}/sbom.cdx.json", VIEW_SCANS),
        (f"{base}-/compare/?from=v2.0&to=v1.0", VIEW_SCANS),
        (f"/projects/{project}/security/", VIEW_SCANS),
    ]


PAGE_IDS = ["vulnerabilities", "filtered", "csv", "json", "status", "sbom", "compare", "security-tab"]


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize("which", range(len(PAGE_IDS)), ids=PAGE_IDS)
def test_scan_pages_answer_each_persona_as_the_role_table_says(world, scans, project, persona, which):
    url, table = _pages(scans, project)[which]
    response = world.client(persona).get(url)
    assert response.status_code == _expected(table, persona, project), url


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_system_admins_see_the_security_overview(world, scans, persona):
    response = world.client(persona).get("/security/")
    assert response.status_code == _expected(SYSTEM_ADMINS, persona)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_scan_now_needs_run_scans(world, scans, project, persona):
    image = scans[project].content.image
    before = ScanReport.objects.filter(artifact=image).count()
    url = f"/projects/{project}/repositories/app/-/artifacts/{image.digest}/vulnerabilities/scan/"
    response = world.client(persona).post(url, **HTMX)
    expected = _expected(RUN_SCANS, persona, project)
    assert response.status_code == expected
    assert ScanReport.objects.filter(artifact=image).count() == before + (1 if expected == 200 else 0)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_adding_to_a_project_allowlist_needs_manage_allowlist(world, scans, project, persona):
    url = f"/projects/{project}/security/allowlist/"
    response = world.client(persona).post(url, {"vulnerability_id": "CVE-2026-0002", "reason": "accepted"}, **HTMX)
    expected = _expected(PROJECT_ADMINS, persona, project)
    assert response.status_code == expected
    added = AllowlistEntry.objects.filter(project__name=project, vulnerability_id="CVE-2026-0002").exists()
    assert added == (expected == 200)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_removing_from_a_project_allowlist_needs_manage_allowlist(world, scans, project, persona):
    entry = AllowlistEntry.objects.create(
        project=world.private if project == "acme" else world.public, vulnerability_id="CVE-2026-0002", reason="x"
    )
    url = f"/projects/{project}/security/allowlist/{entry.pk}/remove/"
    response = world.client(persona).post(url, **HTMX)
    expected = _expected(PROJECT_ADMINS, persona, project)
    assert response.status_code == expected
    assert AllowlistEntry.objects.filter(pk=entry.pk).exists() == (expected != 200)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_scan_on_push_needs_update_project(world, scans, project, persona):
    url = f"/projects/{project}/security/scan-on-push/"
    response = world.client(persona).post(url, {"enabled": "on"}, **HTMX)
    assert response.status_code == _expected(PROJECT_ADMINS, persona, project)


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_system_admins_change_the_system_allowlist(world, scans, persona):
    client = world.client(persona)
    response = client.post("/security/allowlist/", {"vulnerability_id": "CVE-2026-0009", "reason": "x"}, **HTMX)
    expected = _expected(SYSTEM_ADMINS, persona)
    assert response.status_code == expected
    entry = AllowlistEntry.objects.filter(project__isnull=True, vulnerability_id="CVE-2026-0009").first()
    assert (entry is not None) == (expected == 200)
    if entry is None:
        entry = AllowlistEntry.objects.create(vulnerability_id="CVE-2026-0009", reason="x")
    response = client.post(f"/security/allowlist/{entry.pk}/remove/", **HTMX)
    assert response.status_code == expected
    assert AllowlistEntry.objects.filter(pk=entry.pk).exists() == (expected != 200)


def test_an_allowlist_entry_of_another_project_cannot_be_removed_through_this_one(world, scans):
    other = AllowlistEntry.objects.create(project=world.public, vulnerability_id="CVE-2026-0002", reason="x")
    response = world.client("padmin").post(f"/projects/acme/security/allowlist/{other.pk}/remove/", **HTMX)
    assert response.status_code == 404
    assert AllowlistEntry.objects.filter(pk=other.pk).exists()


def test_the_security_tab_shows_only_to_those_who_may_view_scans(world, scans):
    html = world.client("limited").get("/projects/acme/").content.decode()
    assert 'href="/projects/acme/security/"' in html
