"""Retention rules that select on labels, through the policy form, the preview and the API."""

from __future__ import annotations

import html
import re

import pytest

from audit.context import Actor
from repositories.models import RetentionRule, Tag
from repositories.services import labels as label_service
from tests.pages.test_retention_pages import invalid, policy_post
from tests.retention_runs.helpers import rows

ACTOR = Actor.system("test")


@pytest.fixture
def labelled(world):
    """acme/app v1..v3 (pushed 3, 2, 1 days ago); v1's artifact carries `release`."""
    made = rows(world.private, "app", {"v1": 3, "v2": 2, "v3": 1})
    release = label_service.create_label(project=None, name="release", color="#1f883d", actor=ACTOR)
    v1 = Tag.objects.select_related("artifact__repository").get(name="v1").artifact
    label_service.add_label(release, [v1], project=world.private, actor=ACTOR)
    return made


def test_the_policy_form_saves_label_selectors(world, labelled):
    data = policy_post({"n": "1"}, {"template": "always", "n": "", "label_with": "release, qa ", "label_without": "dev"})

    response = world.client("padmin").post("/projects/acme/retention/", data)

    assert response.status_code == 302
    saved = RetentionRule.objects.get(policy__project=world.private, position=2)
    assert (saved.label_with, saved.label_without) == (["release", "qa"], ["dev"])
    editor = world.client("padmin").get("/projects/acme/retention/").content.decode()
    assert 'value="release, qa"' in editor


def test_a_label_both_required_and_excluded_is_shown_on_its_field(world, labelled):
    data = policy_post({"template": "always", "n": "", "label_with": "release", "label_without": "release"})

    body = world.client("padmin").post("/projects/acme/retention/", data).content.decode()

    assert invalid(body, "rules-0-label_without")
    assert "both required and excluded" in body
    assert not RetentionRule.objects.filter(policy__project=world.private).exists()


def test_the_preview_keeps_the_labelled_artifact_and_says_why(world, labelled):
    data = policy_post({"n": "1"}, {"template": "always", "n": "", "label_with": "release"})

    body = world.client("padmin").post("/projects/acme/retention/preview/", data).content.decode()

    reasons = re.findall(r'<span class="preview-reason">([^<]*)</span>', body)
    assert any("labelled `release`" in html.unescape(r) for r in reasons), reasons


def test_the_api_takes_and_answers_label_selectors(world, labelled, api):
    rules = [
        {"repositories": {"include": ["**"]}, "tags": {"include": ["**"]}, "template": "latest_pushed_n", "n": 1},
        {"repositories": {"include": ["**"]}, "tags": {"include": ["**"]}, "labels": {"with": ["release"]},
         "template": "always", "n": None},
    ]
    body = {"enabled": False, "schedule": "", "allow_empty_repository": False, "rules": rules}

    saved = api("padmin").request("PUT", "/api/v1/projects/acme/retention-policy/", body)
    preview = api("padmin").post("/api/v1/projects/acme/retention-policy/preview/?detail=true", body)

    assert saved.status_code == 200, saved.content
    assert saved.json()["rules"][1]["labels"] == {"with": ["release"], "without": []}
    assert "labels" not in saved.json()["rules"][0]
    assert preview.status_code == 200, preview.content
    assert "labelled `release`" in preview.content.decode()


def test_a_bad_label_selector_is_a_400_on_its_path(world, api):
    rules = [{"repositories": {"include": ["**"]}, "tags": {"include": ["**"]},
              "labels": {"with": ["x"], "without": ["x"]}, "template": "always"}]
    body = {"enabled": False, "schedule": "", "allow_empty_repository": False, "rules": rules}

    response = api("padmin").request("PUT", "/api/v1/projects/acme/retention-policy/", body)

    assert response.status_code == 400
    assert "rules.1.labels.without" in response.json()


def test_the_preview_api_answers_the_advice_from_stored_layers(world, api):
    from datetime import timedelta

    from django.utils import timezone

    from repositories.models import Artifact
    from repositories.services.usage import store_blobs

    made = rows(world.private, "app", {"v1": 3, "v2": 2, "v3": 1})
    shared = {"digest": "sha256:" + "a" * 64, "size": 1000}
    for name, artifact in made.items():
        own = {"digest": "sha256:" + name.encode().hex().ljust(64, "0"), "size": 7}
        Artifact.objects.filter(pk=artifact.pk).update(layers=[shared, own], manifest=b"{}")
    store_blobs(Artifact.objects.filter(pk__in=[a.pk for a in made.values()]))  # as sync does
    Artifact.objects.filter(pk=made["v1"].pk).update(last_pull_at=timezone.now() - timedelta(days=1))
    body = {"enabled": False, "schedule": "", "allow_empty_repository": False,
            "rules": [{"repositories": {"include": ["**"]}, "tags": {"include": ["**"]},
                       "template": "latest_pushed_n", "n": 1}]}

    response = api("padmin").post("/api/v1/projects/acme/retention-policy/preview/?advice=true", body)

    advice = response.json()["advice"]
    # v1 and v2 go: their own layers (7 each) and manifests (2 bytes each); the shared layer stays with v3.
    assert advice["bytes_freed"] == 18
    assert advice["pulled_within_days"] == {"7": 1, "30": 1, "90": 1}
    assert [w["tags"] for w in advice["warnings"]] == [["v1"]]
    page = world.client("padmin").post("/projects/acme/retention/preview/", {
        "schedule": "", "rules-count": "1", "rules-0-repository_include": "**", "rules-0-tag_include": "**",
        "rules-0-template": "latest_pushed_n", "rules-0-n": "1"}).content.decode()
    assert 'id="retention-advice"' in page and 'id="advice-warnings"' in page
