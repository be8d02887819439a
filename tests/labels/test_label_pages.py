"""Label pages: who may see, make and put labels, per persona on the private `acme`
and the public `pub`; the tag list's label filter, column and bulk action; form errors."""

from __future__ import annotations

import pytest

from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from repositories.models import ArtifactLabel, Label
from repositories.services import labels as service
from tests.api.conftest import fill_project
from tests.conftest import PERSONAS

ACTOR = Actor.system("test")

# persona: (status on private `acme`, status on public `pub`); 302 = the login page.
VIEW = {"sysadmin": (200, 200), "padmin": (200, 200), "maintainer": (200, 200), "developer": (200, 200),
        "guest": (200, 200), "limited": (200, 200), "outsider": (404, 200), "anonymous": (302, 302)}
MANAGE = {"sysadmin": (200, 200), "padmin": (200, 200), "maintainer": (403, 403), "developer": (403, 403),
          "guest": (403, 403), "limited": (403, 403), "outsider": (404, 403), "anonymous": (302, 302)}
PUSH = {"sysadmin": (200, 200), "padmin": (200, 200), "maintainer": (200, 200), "developer": (200, 200),
        "guest": (403, 403), "limited": (403, 403), "outsider": (404, 403), "anonymous": (302, 302)}
SYSTEM = {"sysadmin": 200, "anonymous": 302}


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
def test_labels_tab_follows_view_repositories(world, labels, persona, project):
    response = world.client(persona).get(f"/projects/{project}/labels/")

    assert response.status_code == expected(VIEW, persona, project)
    if response.status_code == 200:
        html = response.content.decode()
        assert 'data-label="qa"' in html and "release" in html
        assert ('id="label-create-form"' in html) == (expected(MANAGE, persona, project) == 200)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_only_project_admins_create_project_labels(world, persona, project):
    response = world.client(persona).post(f"/projects/{project}/labels/", {"name": "new", "color": "#123456"})

    want = expected(MANAGE, persona, project)
    assert response.status_code == (302 if want == 200 else want)
    assert Label.objects.filter(name="new", project__name=project).exists() == (want == 200)


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_only_project_admins_edit_and_delete_project_labels(world, labels, persona, project):
    label = labels[project]
    client = world.client(persona)
    want = expected(MANAGE, persona, project)

    assert client.get(f"/projects/{project}/labels/{label.pk}/edit/").status_code == want
    edited = client.post(f"/projects/{project}/labels/{label.pk}/edit/", {"name": "qa2", "color": "#000000"})
    assert edited.status_code == (302 if want == 200 else want)
    deleted = client.post(f"/projects/{project}/labels/{label.pk}/delete/")
    assert deleted.status_code == (302 if want == 200 else want)
    assert Label.objects.filter(pk=label.pk).exists() == (want != 200)


def test_a_global_label_cannot_be_edited_through_a_project(world, labels):
    response = world.client("padmin").post(
        f"/projects/acme/labels/{labels['global'].pk}/edit/", {"name": "mine", "color": "#000000"}
    )

    assert response.status_code == 404
    assert Label.objects.get(pk=labels["global"].pk).name == "release"


def test_another_projects_label_is_not_found_here(world, labels):
    response = world.client("padmin").get(f"/projects/acme/labels/{labels['pub'].pk}/edit/")

    assert response.status_code == 404


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("url", ["/labels/", "/labels/{pk}/edit/", "/labels/{pk}/delete/"])
def test_global_label_pages_are_for_system_admins(world, labels, persona, url):
    response = world.client(persona).get(url.format(pk=labels["global"].pk))

    assert response.status_code == SYSTEM.get(persona, 403)


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_system_admins_create_global_labels(world, persona):
    response = world.client(persona).post("/labels/", {"name": "g", "color": "#abcdef"})

    assert response.status_code == {"sysadmin": 302, "anonymous": 302}.get(persona, 403)
    assert Label.objects.filter(name="g", project=None).exists() == (persona == "sysadmin")


def test_a_bad_colour_is_a_form_error_not_a_500(world):
    response = world.client("padmin").post(
        "/projects/acme/labels/", {"name": "bad", "color": "nope"}, headers={"HX-Request": "true"}
    )

    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    assert "six hexadecimal digits" in response.content.decode()
    assert not Label.objects.filter(name="bad").exists()


def test_a_duplicate_name_is_a_form_error(world, labels):
    response = world.client("padmin").post("/projects/acme/labels/", {"name": "qa", "color": "#000000"})

    assert response.status_code == 200
    assert "already has a label with this name" in response.content.decode()


@pytest.mark.parametrize("project", ["acme", "pub"])
@pytest.mark.parametrize("persona", PERSONAS)
def test_pushers_put_labels_on_an_artifact(world, rows, labels, persona, project):
    image = rows[project].image
    url = f"/projects/{project}/repositories/app/-/artifacts/{image.digest}/labels/"

    response = world.client(persona).post(url, {"label": labels["global"].pk, "action": "add"})

    want = expected(PUSH, persona, project)
    assert response.status_code == (302 if want == 200 else want)
    assert ArtifactLabel.objects.filter(artifact=image).exists() == (want == 200)


def test_artifact_page_shows_its_labels_and_the_add_form_to_pushers(world, rows, labels):
    image = rows["acme"].image
    service.add_label(labels["acme"], [image], project=world.private, actor=ACTOR)
    url = f"/projects/acme/repositories/app/-/artifacts/{image.digest}/"

    developer = world.client("developer").get(url).content.decode()
    guest = world.client("guest").get(url).content.decode()

    assert 'data-label="qa"' in developer and 'data-label="qa"' in guest
    assert 'id="artifact-label-add"' in developer and 'id="artifact-label-add"' not in guest
    # The project's label of `pub` is never offered in `acme`.
    assert f'value="{labels["pub"].pk}"' not in developer


def test_artifact_label_htmx_answers_the_section(world, rows, labels):
    image = rows["acme"].image
    url = f"/projects/acme/repositories/app/-/artifacts/{image.digest}/labels/"

    response = world.client("developer").post(
        url, {"label": labels["acme"].pk, "action": "add"}, headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="artifact-labels"')
    assert 'data-label="qa"' in html


def test_another_projects_label_is_refused_on_the_artifact_page(world, rows, labels):
    image = rows["acme"].image
    url = f"/projects/acme/repositories/app/-/artifacts/{image.digest}/labels/"

    world.client("padmin").post(url, {"label": labels["pub"].pk, "action": "add"})

    assert not ArtifactLabel.objects.exists()


@pytest.mark.parametrize("persona", ["developer", "guest"])
def test_bulk_label_from_the_tag_list(world, rows, labels, persona):
    response = world.client(persona).post(
        "/projects/acme/repositories/app/-/tags/label/",
        {"tag": ["v1", "multi", "latest"], "label": labels["global"].pk, "action": "add"},
    )

    if persona == "guest":
        assert response.status_code == 403
        assert not ArtifactLabel.objects.exists()
        return
    assert response.status_code == 302
    labelled = set(ArtifactLabel.objects.values_list("artifact_id", flat=True))
    assert labelled == {rows["acme"].image.pk, rows["acme"].index.pk}
    event = AuditEvent.objects.get(action=AuditAction.LABEL_ADD)
    assert event.project_id == world.private.pk and event.actor_name == "developer"


def test_bulk_label_dialog_lists_the_selected_tags(world, rows, labels):
    response = world.client("developer").get(
        "/projects/acme/repositories/app/-/tags/label/?tag=v1&tag=multi", headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="tag" value="v1"' in html and 'name="tag" value="multi"' in html
    assert f'value="{labels["acme"].pk}"' in html and f'value="{labels["pub"].pk}"' not in html


def test_tag_list_filters_by_label_and_shows_chips(world, rows, labels):
    service.add_label(labels["acme"], [rows["acme"].index], project=world.private, actor=ACTOR)
    client = world.client("guest")

    everything = client.get("/projects/acme/repositories/app/")
    filtered = client.get(f"/projects/acme/repositories/app/?label={labels['acme'].pk}")

    assert {t.name for t in everything.context["page"].rows} == {"v1", "latest", "multi"}
    assert [t.name for t in filtered.context["page"].rows] == ["multi"]
    assert 'class="tag-labels"' in filtered.content.decode()
    # A guest may not label: no selection boxes unless they may delete.
    assert 'id="label-selected"' not in everything.content.decode()
    assert 'id="label-selected"' in world.client("developer").get("/projects/acme/repositories/app/").content.decode()


def test_tag_and_artifact_api_rows_carry_their_wharf_labels_in_one_query(world, rows, labels, api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    service.add_label(labels["acme"], [rows["acme"].index], project=world.private, actor=ACTOR)
    service.add_label(labels["global"], [rows["acme"].index, rows["acme"].image], project=world.private, actor=ACTOR)
    client = api("guest")
    base = "/api/v1/repositories/acme/app/-"

    with CaptureQueriesContext(connection) as queries:
        tags = client.get(f"{base}/tags/").json()["results"]
    label_queries = [q for q in queries.captured_queries if "artifactlabel" in q["sql"].lower()]
    artifacts = client.get(f"{base}/artifacts/").json()["results"]
    one = client.get(f"{base}/tags/multi/").json()

    def names(row):
        return [(label["name"], label["scope"]) for label in row["wharf_labels"]]

    by_tag = {row["name"]: names(row) for row in tags}
    assert by_tag == {"multi": [("qa", "project"), ("release", "global")], "v1": [("release", "global")],
                      "latest": [("release", "global")]}
    assert len(label_queries) == 1, "one query for the page's labels, not one per row"
    assert {row["digest"]: names(row) for row in artifacts}[rows["acme"].index.digest] == by_tag["multi"]
    assert names(one) == by_tag["multi"]
    assert tags[0]["wharf_labels"][0].keys() == {"id", "name", "color", "scope"}
