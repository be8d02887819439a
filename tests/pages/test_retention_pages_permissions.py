"""Every retention page and POST × every persona × (private `acme`, public `pub`).

Expectations follow accounts/permissions.py, written out by hand: Guest and up see
retention (`VIEW_RETENTION`), Maintainer and up run it (`RUN_RETENTION`) and restore
(`DELETE_ARTIFACT`), Project Admins edit the policy and the immutable rules
(`MANAGE_RETENTION`, `MANAGE_IMMUTABLE`). Outsiders get 404 on the private project
and 403 on the public one (the public permissions hold no retention permission);
anonymous visitors the login page.
"""

from __future__ import annotations

import pytest

from audit.context import Actor
from repositories.models import ImmutableRule, RecycleBinEntry, Repository, RetentionPolicy, RetentionRun
from repositories.services.retention import save_policy
from repositories.views import recycle as recycle_views
from tests.conftest import MATRIX_PERSONAS, row_of
from tests.retention_runs.helpers import rows, rule
from tests.support.shared_rows import fresh, shared

VIEWERS = {  # Perm.VIEW_RETENTION
    "sysadmin": 200,
    "padmin": 200,
    "maintainer": 200,
    "developer": 200,
    "guest": 200,
    "limited": 403,
    "outsider": {"acme": 404, "pub": 403},
}
RUNNERS = {  # Perm.RUN_RETENTION, and Perm.DELETE_ARTIFACT (restore): the same roles
    "sysadmin": 200,
    "padmin": 200,
    "maintainer": 200,
    "developer": 403,
    "guest": 403,
    "limited": 403,
    "outsider": {"acme": 404, "pub": 403},
}
MANAGERS = {  # Perm.MANAGE_RETENTION and Perm.MANAGE_IMMUTABLE
    "sysadmin": 200,
    "padmin": 200,
    "maintainer": 403,
    "developer": 403,
    "guest": 403,
    "limited": 403,
    "outsider": {"acme": 404, "pub": 403},
}


def _expected(table: dict, persona: str, project: str) -> int:
    if persona == "anonymous":
        return 302
    value = table[row_of(persona)]
    return value[project] if isinstance(value, dict) else value


def _policy_post(n: int = 1) -> dict[str, str]:
    return {
        "schedule": "0 3 * * *",
        "enabled": "on",
        "rules-count": "1",
        "rules-0-repository_include": "**",
        "rules-0-tag_include": "**",
        "rules-0-template": "latest_pushed_n",
        "rules-0-n": str(n),
    }


@pytest.fixture(scope="module")
def _module_retention(module_rows, _module_world):
    return shared(module_rows, "retention", lambda: _make_retention(_module_world)) if _module_world else None


@pytest.fixture
def retention(world, _module_retention):
    """Per project: a saved policy, one finished dry run and one recycle bin entry
    (made once per module when it can be: tests/support/shared_rows.py)."""
    return fresh(_module_retention, lambda: _make_retention(world))


def _make_retention(world):
    made = {}
    for project in (world.private, world.public):
        rows(project, "app", {"v1": 3, "v2": 2, "v3": 1})
        save_policy(
            project,
            Actor.system("test"),
            enabled=False,
            schedule="",
            allow_empty_repository=False,
            rules=[rule(n=2)],
        )
        run = RetentionRun.objects.create(
            project=project, dry_run=True, status=RetentionRun.Status.SUCCEEDED, policy={}
        )
        entry = RecycleBinEntry.objects.create(
            project=project,
            repository_name=f"{project.name}/app",
            digest="sha256:" + "ab" * 32,
            media_type="application/vnd.oci.image.manifest.v1+json",
            manifest=b"{}",
            tags={"old": "2026-01-01T00:00:00+00:00"},
            source=RecycleBinEntry.Source.MANUAL,
            deleted_by="maintainer",
        )
        made[project.name] = {"run": run, "entry": entry}
    return made


def _pages(retention, project):
    base = f"/projects/{project}/retention/"
    run = retention[project]["run"].pk
    entry = retention[project]["entry"].pk
    return [
        (base, VIEWERS),
        (base + "runs/", VIEWERS),
        (base + f"runs/{run}/", VIEWERS),
        (base + f"runs/{run}/?outcome=deleted", VIEWERS),
        (base + f"runs/{run}/status/", VIEWERS),
        (base + "immutable/", VIEWERS),
        (base + "deleted/", VIEWERS),
        (base + "runs/confirm/", RUNNERS),
        (base + f"deleted/{entry}/restore/", RUNNERS),
    ]


PAGE_IDS = [
    "policy",
    "runs",
    "run",
    "run-filtered",
    "run-status",
    "immutable",
    "deleted",
    "run-confirm",
    "restore-confirm",
]


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
@pytest.mark.parametrize("which", range(len(PAGE_IDS)), ids=PAGE_IDS)
def test_retention_page_status_follows_the_role_table(world, retention, persona, project, which):
    url, table = _pages(retention, project)[which]

    response = world.client(persona).get(url)

    expected = _expected(table, persona, project)
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_the_retention_tab_is_shown_to_those_who_may_view_retention(world, retention, persona, project):
    response = world.client(persona).get(f"/projects/{project}/")

    if response.status_code != 200:
        return  # anonymous on acme / outsider on acme: the project page itself is refused
    shown = f'href="/projects/{project}/retention/"' in response.content.decode()
    assert shown == (_expected(VIEWERS, persona, project) == 200)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_project_admins_may_save_the_policy(world, retention, persona, project):
    response = world.client(persona).post(f"/projects/{project}/retention/", _policy_post(n=7))

    expected = _expected(MANAGERS, persona, project)
    assert response.status_code == (302 if expected == 200 else expected)
    saved_n = RetentionPolicy.objects.get(project__name=project).rules.get().n
    assert saved_n == (7 if expected == 200 else 2)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_project_admins_may_preview_an_unsaved_policy(world, retention, persona, project):
    response = world.client(persona).post(f"/projects/{project}/retention/preview/", _policy_post(n=1))

    expected = _expected(MANAGERS, persona, project)
    assert response.status_code == expected
    if expected == 200:
        assert "2 deleted" in response.content.decode()


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_project_admins_may_list_one_repository_of_a_preview(world, retention, persona, project):
    repository = Repository.objects.filter(project__name=project).values_list("name", flat=True).first()
    response = world.client(persona).post(
        f"/projects/{project}/retention/preview/?repository={repository}", _policy_post(n=1)
    )

    expected = _expected(MANAGERS, persona, project)
    assert response.status_code == expected
    if expected == 200:
        assert "preview-reason" in response.content.decode()


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_project_admins_may_save_immutable_rules(world, retention, persona, project):
    data = {
        "immutable-count": "1",
        "immutable-0-repository_include": "**",
        "immutable-0-tag_include": "v1",
        "immutable-0-enabled": "on",
    }

    response = world.client(persona).post(f"/projects/{project}/retention/immutable/", data)

    expected = _expected(MANAGERS, persona, project)
    assert response.status_code == (302 if expected == 200 else expected)
    assert ImmutableRule.objects.filter(project__name=project).exists() == (expected == 200)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_maintainers_and_up_may_start_a_dry_run(world, retention, persona, project):
    response = world.client(persona).post(f"/projects/{project}/retention/runs/start/", {"dry_run": "1"})

    expected = _expected(RUNNERS, persona, project)
    assert response.status_code == (302 if expected == 200 else expected)
    runs = RetentionRun.objects.filter(project__name=project).count()
    assert runs == (2 if expected == 200 else 1)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_maintainers_and_up_may_stop_a_run(world, retention, persona, project):
    queued = RetentionRun.objects.create(
        project=world.private if project == "acme" else world.public, policy={}
    )

    response = world.client(persona).post(f"/projects/{project}/retention/runs/{queued.pk}/stop/")

    expected = _expected(RUNNERS, persona, project)
    assert response.status_code == (302 if expected == 200 else expected)
    queued.refresh_from_db()
    assert (queued.status == RetentionRun.Status.STOPPED) == (expected == 200)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", MATRIX_PERSONAS)
def test_only_maintainers_and_up_may_restore(world, retention, persona, project, monkeypatch):
    restored = []
    monkeypatch.setattr(recycle_views, "restore", lambda entry, actor: restored.append(entry.pk))
    entry = retention[project]["entry"]

    response = world.client(persona).post(f"/projects/{project}/retention/deleted/{entry.pk}/restore/")

    expected = _expected(RUNNERS, persona, project)
    assert response.status_code == (302 if expected == 200 else expected)
    assert restored == ([entry.pk] if expected == 200 else [])
