"""Labels in the API: the permission matrix on both projects, 400s with field errors,
the tag list's `?label=` filter, and the schema."""

from __future__ import annotations

import pytest

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from repositories.models import ArtifactLabel, Label
from repositories.services import labels as service
from tests.api.conftest import fill_project
from tests.conftest import PERSONAS

ACTOR = Actor.system("test")

# persona: (status on private `acme`, status on public `pub`)
VIEW = {"sysadmin": (200, 200), "padmin": (200, 200), "maintainer": (200, 200), "developer": (200, 200),
        "guest": (200, 200), "limited": (200, 200), "outsider": (404, 200), "anonymous": (401, 401)}
MANAGE = {"sysadmin": (201, 201), "padmin": (201, 201), "maintainer": (403, 403), "developer": (403, 403),
          "guest": (403, 403), "limited": (403, 403), "outsider": (404, 403), "anonymous": (401, 401)}
PUSH = {"sysadmin": (201, 201), "padmin": (201, 201), "maintainer": (201, 201), "developer": (201, 201),
        "guest": (403, 403), "limited": (403, 403), "outsider": (404, 403), "anonymous": (401, 401)}


def expected(table, persona, project):
    return table[persona][0 if project == "acme" else 1]


@pytest.fixture
def rows(world):
    return {"acme": fill_project(world.private), "pub": fill_project(world.public)}


@pytest.fixture
def labels(world):
    return {
        "global": service.create_label(project=None, name="release", color="#1f883d", actor=ACTOR),
        "acme": service.create_label(project=world.private, name="qa", color="#0000ff", actor=ACTOR),
        "pub": service.create_label(project=world.public, name="qa", color="#ff0000", actor=ACTOR),
    }


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_project_labels_list_follows_view_repositories(api, labels, persona, project):
    response = api(persona).get(f"/api/v1/projects/{project}/labels/?include_global=true")

    assert response.status_code == expected(VIEW, persona, project)
    if response.status_code == 200:
        names = sorted((row["name"], row["scope"]) for row in response.json()["results"])
        assert names == [("qa", "project"), ("release", "global")]


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_project_label_writes_need_manage_labels(api, labels, persona, project):
    client = api(persona)
    want = expected(MANAGE, persona, project)

    created = client.post(f"/api/v1/projects/{project}/labels/", {"name": "new", "color": "#123456"})
    patched = client.patch(f"/api/v1/projects/{project}/labels/{labels[project].pk}/", {"color": "#654321"})
    deleted = client.delete(f"/api/v1/projects/{project}/labels/{labels[project].pk}/")

    assert created.status_code == want
    assert patched.status_code == (200 if want == 201 else want)
    assert deleted.status_code == (204 if want == 201 else want)
    assert Label.objects.filter(name="new").exists() == (want == 201)


@pytest.mark.parametrize("persona", PERSONAS)
def test_global_labels_are_read_by_all_and_changed_by_system_admins(api, labels, persona):
    client = api(persona)
    listed = client.get("/api/v1/labels/")
    created = client.post("/api/v1/labels/", {"name": "g", "color": "#abcdef"})
    patched = client.patch(f"/api/v1/labels/{labels['global'].pk}/", {"description": "x"})

    if persona == "anonymous":
        assert (listed.status_code, created.status_code, patched.status_code) == (401, 401, 401)
        return
    assert listed.status_code == 200
    assert [row["name"] for row in listed.json()["results"]] == ["release"]  # never a project's label
    want = (201, 200) if persona == "sysadmin" else (403, 403)
    assert (created.status_code, patched.status_code) == want


def test_a_project_label_is_not_reachable_as_a_global_one(api, labels):
    assert api("sysadmin").get(f"/api/v1/labels/{labels['acme'].pk}/").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "color": "red"}, "color"),
        ({"name": "x", "color": "#12345g"}, "color"),
        ({"name": "", "color": "#123456"}, "name"),
        ({"name": "x" * 129, "color": "#123456"}, "name"),
        ({"name": "qa", "color": "#123456"}, "__all__"),  # duplicate name in the project
    ],
)
def test_bad_label_input_is_a_400_with_field_errors(api, labels, body, field):
    response = api("padmin").post("/api/v1/projects/acme/labels/", body)

    assert response.status_code == 400
    assert field in response.json() or (field == "__all__" and response.json())


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_artifact_labels_need_push_to_change(api, rows, labels, persona, project):
    client = api(persona)
    base = f"/api/v1/repositories/{project}/app/-/artifacts/{rows[project].image.digest}/labels/"
    want = expected(PUSH, persona, project)

    added = client.post(base, {"label": labels["global"].pk})
    listed = client.get(base)

    assert added.status_code == want
    assert listed.status_code == expected(VIEW, persona, project)
    if want == 201:
        assert [row["name"] for row in added.json()] == ["release"]
        assert client.delete(f"{base}{labels['global'].pk}/").status_code == 204
        assert not ArtifactLabel.objects.exists()
        assert AuditEvent.objects.filter(action=AuditAction.LABEL_REMOVE).count() == 1


def test_another_projects_label_is_a_400_on_the_artifact(api, rows, labels):
    base = f"/api/v1/repositories/acme/app/-/artifacts/{rows['acme'].image.digest}/labels/"

    response = api("padmin").post(base, {"label": labels["pub"].pk})

    assert response.status_code == 400
    assert "label" in response.json()
    assert not ArtifactLabel.objects.exists()


def test_removing_a_label_the_artifact_lacks_is_a_404(api, rows, labels):
    base = f"/api/v1/repositories/acme/app/-/artifacts/{rows['acme'].image.digest}/labels/"

    assert api("padmin").delete(f"{base}{labels['acme'].pk}/").status_code == 404


def test_tag_list_filters_by_label(api, world, rows, labels):
    service.add_label(labels["acme"], [rows["acme"].image], project=world.private, actor=ACTOR)

    response = api("guest").get(f"/api/v1/repositories/acme/app/-/tags/?label={labels['acme'].pk}")
    bad = api("guest").get("/api/v1/repositories/acme/app/-/tags/?label=zero")

    assert response.status_code == 200
    assert sorted(row["name"] for row in response.json()["results"]) == ["latest", "v1"]
    assert bad.status_code == 400 and "label" in bad.json()
