"""Every repository, artifact and sync page and POST × every persona × (private
`acme`, public `pub`). Expectations follow accounts/permissions.py, written out:
outsiders get 404 on the private project, roles lacking the permission 403,
anonymous visitors the login page. Deletes here use a stand-in for the registry
call (the real registry is exercised in test_repository_pages_registry.py): this
module tests who may, not what the registry does."""

from __future__ import annotations

import pytest

from repositories.models import Artifact, SyncRun, Tag
from repositories.views import artifacts as artifact_views
from repositories.views import tags as tag_views
from tests.conftest import MATRIX_PERSONAS, row_of
from tests.pages.repository_content import make_content
from tests.support.shared_rows import fresh, shared

VIEW_REPOSITORIES = {
    "sysadmin": 200,
    "padmin": 200,
    "maintainer": 200,
    "developer": 200,
    "guest": 200,
    "limited": 200,
    "outsider": {"acme": 404, "pub": 200},
}
MAINTAINERS = {  # Perm.DELETE_ARTIFACT and Perm.SYNC
    "sysadmin": 200,
    "padmin": 200,
    "maintainer": 200,
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


def _expected(table: dict, persona: str, project: str = "") -> int:
    if persona == "anonymous":
        return 302
    value = table[row_of(persona)]
    return value[project] if isinstance(value, dict) else value


def _make_content(world):
    return {"acme": make_content(world.private), "pub": make_content(world.public)}


@pytest.fixture(scope="module")
def _module_content(module_rows, _module_world):
    return shared(module_rows, "content", lambda: _make_content(_module_world)) if _module_world else None


@pytest.fixture
def content(world, _module_content):
    return fresh(_module_content, lambda: _make_content(world))


def _pages(content, project):
    c = content[project]
    base = f"/projects/{project}/repositories/app/"
    return [
        (f"/projects/{project}/repositories/", VIEW_REPOSITORIES),
        (base, VIEW_REPOSITORIES),
        (base + "?tag=v1.*&sort=-size", VIEW_REPOSITORIES),
        (f"{base}-/artifacts/{c.image.digest}/", VIEW_REPOSITORIES),
        (f"{base}-/artifacts/{c.index.digest}/", VIEW_REPOSITORIES),
        (f"{base}-/artifacts/{c.broken.digest}/", VIEW_REPOSITORIES),
        (f"{base}-/tags/v1.0/delete/", MAINTAINERS),
        (f"{base}-/tags/delete/?tag=v1.0&tag=latest", MAINTAINERS),
        (f"{base}-/artifacts/{c.image.digest}/delete/", MAINTAINERS),
    ]


PAGE_IDS = ["tab", "repository", "filtered", "artifact", "index", "broken", "tag-confirm", "bulk-confirm", "artifact-confirm"]


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize("which", range(len(PAGE_IDS)), ids=PAGE_IDS)
def test_repository_page_status_follows_the_role_table(world, content, persona, project, which):
    url, table = _pages(content, project)[which]

    response = world.client(persona).get(url)

    expected = _expected(table, persona, project)
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("persona", ["sysadmin", "developer"])
def test_unknown_repository_artifact_or_another_projects_repository_is_404(world, content, persona):
    client = world.client(persona)

    assert client.get("/projects/acme/repositories/nope/").status_code == 404
    assert client.get("/projects/acme/repositories/app/-/artifacts/sha256:0000/").status_code == 404
    # pub's artifact through acme's repository is not found: the digest is per repository.
    assert client.get(f"/projects/acme/repositories/app/-/artifacts/{content['pub'].image.digest}/").status_code == 404


@pytest.fixture
def fake_registry(monkeypatch):
    """Stand-ins for the two delete services that change only Wharf's rows."""
    calls: list[str] = []

    def fake_delete_tag(tag, *, actor):
        calls.append(f"tag {tag.repository.name}:{tag.name}")
        Tag.objects.filter(pk=tag.pk).delete()

    def fake_delete_artifact(artifact, *, actor):
        calls.append(f"artifact {artifact.digest}")
        Artifact.objects.filter(pk=artifact.pk).delete()

    monkeypatch.setattr(tag_views, "delete_tag", fake_delete_tag)
    monkeypatch.setattr(artifact_views, "delete_artifact", fake_delete_artifact)
    return calls


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_maintainers_and_up_may_delete_a_tag(world, content, fake_registry, persona, project):
    response = world.client(persona).post(f"/projects/{project}/repositories/app/-/tags/v1.0/delete/")

    expected = _expected(MAINTAINERS, persona, project)
    assert response.status_code == (302 if expected == 200 else expected)
    deleted = not Tag.objects.filter(repository=content[project].repository, name="v1.0").exists()
    assert deleted == (expected == 200)
    assert fake_registry == ([f"tag {project}/app:v1.0"] if expected == 200 else [])


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_maintainers_and_up_may_bulk_delete_tags(world, content, fake_registry, persona, project):
    response = world.client(persona).post(
        f"/projects/{project}/repositories/app/-/tags/delete/", {"tag": ["v1.0", "latest"]}
    )

    expected = _expected(MAINTAINERS, persona, project)
    assert response.status_code == (302 if expected == 200 else expected)
    left = set(Tag.objects.filter(repository=content[project].repository).values_list("name", flat=True))
    assert ({"v1.0", "latest"} & left) == (set() if expected == 200 else {"v1.0", "latest"})


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_maintainers_and_up_may_delete_an_artifact(world, content, fake_registry, persona, project):
    image = content[project].image

    response = world.client(persona).post(f"/projects/{project}/repositories/app/-/artifacts/{image.digest}/delete/")

    expected = _expected(MAINTAINERS, persona, project)
    assert response.status_code == (302 if expected == 200 else expected)
    assert Artifact.objects.filter(pk=image.pk).exists() == (expected != 200)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_maintainers_and_up_may_sync_a_project(world, content, persona, project):
    response = world.client(persona).post(f"/projects/{project}/repositories/-/sync/")

    expected = _expected(MAINTAINERS, persona, project)
    assert response.status_code == (302 if expected == 200 else expected)
    runs = SyncRun.objects.filter(scope=SyncRun.Scope.PROJECT, project__name=project)
    assert runs.count() == (1 if expected == 200 else 0)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_maintainers_and_up_may_sync_a_repository(world, content, persona, project):
    response = world.client(persona).post(f"/projects/{project}/repositories/app/-/sync/")

    expected = _expected(MAINTAINERS, persona, project)
    assert response.status_code == (302 if expected == 200 else expected)
    runs = SyncRun.objects.filter(scope=SyncRun.Scope.REPOSITORY, repository_name=f"{project}/app")
    assert runs.count() == (1 if expected == 200 else 0)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_a_projects_sync_status_is_for_those_who_may_sync_there(world, persona, project):
    run = SyncRun.objects.create(scope=SyncRun.Scope.PROJECT, project=world.private if project == "acme" else world.public)

    response = world.client(persona).get(f"/sync/{run.pk}/status/")

    assert response.status_code == _expected(MAINTAINERS, persona, project)


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_sync_run_pages_are_for_system_admins(world, persona):
    run = SyncRun.objects.create(scope=SyncRun.Scope.REGISTRY)
    client = world.client(persona)
    expected = _expected(SYSTEM_ADMINS, persona)

    for url in ("/sync/", f"/sync/{run.pk}/", f"/sync/{run.pk}/status/"):
        assert client.get(url).status_code == expected, url


@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_system_admins_may_sync_the_whole_registry(world, persona):
    response = world.client(persona).post("/sync/run/")

    expected = _expected(SYSTEM_ADMINS, persona)
    assert response.status_code == (302 if expected == 200 else expected)
    assert SyncRun.objects.filter(scope=SyncRun.Scope.REGISTRY).count() == (1 if expected == 200 else 0)
