"""What the Repositories tab, a repository's page and an artifact's page show, and
how their htmx renderings and delete confirmations behave. Rows are made with the
ORM (tests/pages/repository_content.py); the registry itself is in
test_repository_pages_registry.py."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from repositories.models import Artifact, Repository, SyncRun, Tag
from repositories.services.artifacts import RegistryActionFailed
from repositories.views import artifacts as artifact_views
from repositories.views import tags as tag_views
from tests.pages.repository_content import ESCAPED, HOSTILE, make_content
from tests.support.keyset_pages import nth_page

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def content(world):
    return make_content(world.private)


def _text(response) -> str:
    return response.content.decode()


def _tag_names(response) -> list[str]:
    return [t.name for t in response.context["page"].rows]


# --- the Repositories tab -------------------------------------------------------------


def test_repositories_tab_appears_for_those_who_may_view_repositories(world, content):
    response = world.client("limited").get("/projects/acme/")

    assert 'href="/projects/acme/repositories/"' in _text(response)


def test_repositories_tab_lists_counts_size_last_push_and_pulls(world, content):
    response = world.client("guest").get("/projects/acme/repositories/")

    html = _text(response)
    row = re.search(r'<tr>\s*<td class="text-break">.*?</tr>', html, re.S).group(0)
    assert 'href="/projects/acme/repositories/app/"' in row
    assert ">6<" in row  # tags
    assert "11.8\xa0MB" in row  # 12,345,678 bytes
    assert "3\xa0hours ago" in row
    assert ">42<" in row


def _names(response) -> list[str]:
    return [r.name for r in response.context["page"].object_list]


@pytest.fixture
def three_repositories(world):
    Repository.objects.bulk_create(
        [
            Repository(project=world.private, name="acme/alpha", size=300, tag_count=1, pull_count=5),
            Repository(project=world.private, name="acme/beta", size=100, tag_count=9, pull_count=50),
            Repository(project=world.private, name="acme/gamma", size=200, tag_count=5, pull_count=0),
        ]
    )


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["acme/alpha", "acme/beta", "acme/gamma"]),
        ("-name", ["acme/gamma", "acme/beta", "acme/alpha"]),
        ("-size", ["acme/alpha", "acme/gamma", "acme/beta"]),
        ("size", ["acme/beta", "acme/gamma", "acme/alpha"]),
        ("-tags", ["acme/beta", "acme/gamma", "acme/alpha"]),
        ("tags", ["acme/alpha", "acme/gamma", "acme/beta"]),
        ("-pulls", ["acme/beta", "acme/alpha", "acme/gamma"]),
        ("pulls", ["acme/gamma", "acme/alpha", "acme/beta"]),
        ("bogus", ["acme/alpha", "acme/beta", "acme/gamma"]),
    ],
)
def test_repositories_sort_both_ways(world, three_repositories, sort, expected):
    response = world.client("guest").get("/projects/acme/repositories/", {"sort": sort})

    assert _names(response) == expected


def test_repositories_sort_by_last_push_puts_never_pushed_last(world, content, three_repositories):
    response = world.client("guest").get("/projects/acme/repositories/", {"sort": "-pushed"})

    assert _names(response)[0] == "acme/app"


def test_search_as_you_type_answers_htmx_with_the_table_alone(world, three_repositories):
    response = world.client("guest").get("/projects/acme/repositories/", {"q": "ET"}, **HTMX)

    html = _text(response)
    assert _names(response) == ["acme/beta"]
    assert html.lstrip().startswith('<div id="repository-table"')
    assert "<nav" not in html
    assert "HX-Request" in response["Vary"]


def test_repositories_are_paged(world):
    Repository.objects.bulk_create(
        [Repository(project=world.private, name=f"acme/r{i:02}") for i in range(30)]
    )

    response = nth_page(world.client("guest"), "/projects/acme/repositories/", {"sort": "name"}, 2)

    assert _names(response) == [f"acme/r{i:02}" for i in range(25, 30)]
    assert f"sort=name&amp;cursor={response.context['page'].previous}" in _text(response)


def test_sync_button_and_status_only_for_those_who_may_sync(world, content):
    SyncRun.objects.create(scope=SyncRun.Scope.PROJECT, project=world.private, status="failed", message="registry down")

    maintainer = _text(world.client("maintainer").get("/projects/acme/repositories/"))
    developer = _text(world.client("developer").get("/projects/acme/repositories/"))

    assert "Sync now" in maintainer and "registry down" in maintainer
    assert "Sync now" not in developer and "registry down" not in developer


def test_sync_status_polls_while_a_run_is_queued_and_stops_when_it_ends(world):
    run = SyncRun.objects.create(scope=SyncRun.Scope.PROJECT, project=world.private)
    client = world.client("maintainer")

    polling = _text(client.get("/projects/acme/repositories/"))
    assert f'hx-get="/sync/{run.pk}/status/" hx-trigger="every 2s"' in polling

    SyncRun.objects.filter(pk=run.pk).update(
        status="succeeded", tags_seen=12, repositories_seen=2, artifacts_added=3, errors=[{"where": "acme/x", "message": HOSTILE}]
    )
    done = _text(client.get(f"/sync/{run.pk}/status/", **HTMX))
    assert "every 2s" not in done
    assert "Succeeded" in done and "12 tags" in done and "+3" in done
    assert ESCAPED in done and HOSTILE not in done


def test_sync_now_with_htmx_answers_with_the_status_box_of_the_queued_run(world):
    response = world.client("maintainer").post("/projects/acme/repositories/-/sync/", **HTMX)

    run = SyncRun.objects.get()
    assert (run.scope, run.project, run.trigger) == ("project", world.private, "user")
    html = _text(response)
    assert html.lstrip().startswith('<div id="sync-status"')
    assert "every 2s" in html and f"Sync #{run.pk} queued." in html


def test_sync_now_twice_reuses_the_queued_run(world):
    client = world.client("maintainer")
    client.post("/projects/acme/repositories/-/sync/")

    response = client.post("/projects/acme/repositories/-/sync/", follow=True)

    assert SyncRun.objects.count() == 1
    assert "is already queued" in _text(response)


# --- a repository's page: tags ----------------------------------------------------------


def test_tags_table_shows_digest_platform_chips_pull_command_and_counts(world, content, settings):
    settings.REGISTRY_PUBLIC_HOST = "registry.example.com"

    response = world.client("guest").get("/projects/acme/repositories/app/")

    html = _text(response)
    assert _tag_names(response) == ["broken", "latest", "v1.0", "v1.1", "v1x0", "v2.0"]
    latest = re.search(r'<tr data-tag="latest">.*?</tr>', html, re.S).group(0)
    assert latest.count("platform-chip") == 2
    assert "linux/amd64" in latest and "linux/arm64/v8" in latest
    assert f'data-copy-text="{content.index.digest}"' in latest
    assert f">{content.index.short_digest}<" in latest
    assert 'data-copy-text="docker pull registry.example.com/acme/app:latest"' in latest
    assert f'href="/projects/acme/repositories/app/-/artifacts/{content.index.digest}/"' in latest
    v10 = re.search(r'<tr data-tag="v1.0">.*?</tr>', html, re.S).group(0)
    assert "4.8\xa0MB" in v10 and ">7<" in v10 and "never" in v10


def test_guests_see_no_checkboxes_or_delete_buttons(world, content):
    html = _text(world.client("guest").get("/projects/acme/repositories/app/"))

    assert 'name="tag" value=' not in html
    assert "Delete selected" not in html and "tag-delete" not in html


def test_maintainers_get_checkboxes_and_a_delete_per_tag(world, content):
    html = _text(world.client("maintainer").get("/projects/acme/repositories/app/"))

    assert 'name="tag" value="v1.0"' in html
    assert 'hx-get="/projects/acme/repositories/app/-/tags/v1.0/delete/" hx-target="#modal"' in html
    assert "Delete selected" in html and "Sync this repository" in html


@pytest.mark.parametrize(
    ("glob", "expected"),
    [
        ("v1.*", ["v1.0", "v1.1"]),  # `.` is literal: v1x0 does not match
        ("v?.0", ["v1.0", "v2.0"]),
        ("*st", ["latest"]),
        ("v1", ["v1.0", "v1.1", "v1x0"]),  # no glob character: a substring, for typing
        ("[a-l]*", ["broken", "latest"]),
        ("v[!2]?0", ["v1.0", "v1x0"]),
        ("{latest,broken}", ["broken", "latest"]),
        ("v1.(0|1)", []),  # regex syntax is refused (no tag contains `(`), never run
        ("\\", []),
    ],
)
def test_tag_filter_is_a_glob_translated_safely(world, content, glob, expected):
    response = world.client("guest").get("/projects/acme/repositories/app/", {"tag": glob})

    assert response.status_code == 200
    assert _tag_names(response) == expected


@pytest.mark.parametrize(
    ("glob", "message"),
    [("v1[", "Close the `[` with a `]`."), ("a b", "` ` cannot appear in a tag name."), ("\\", "escapes nothing")],
)
def test_an_unusable_tag_filter_shows_why_and_no_rows(world, content, glob, message):
    response = world.client("guest").get("/projects/acme/repositories/app/", {"tag": glob}, **HTMX)

    html = _text(response)
    assert response.status_code == 200 and _tag_names(response) == []
    error = re.search(r'<div[^>]*id="tag-filter-error".*?</div>', html, re.S).group(0)
    assert message in error
    assert "Correct the filter to see tags." in html


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("-pushed", ["latest", "v1.1", "v1.0", "broken", "v1x0", "v2.0"]),
        ("pushed", ["v2.0", "v1x0", "broken", "v1.0", "v1.1", "latest"]),
        ("-size", ["latest", "v1.1", "v1.0", "v2.0", "v1x0", "broken"]),  # ties by name, same direction
        ("-name", ["v2.0", "v1x0", "v1.1", "v1.0", "latest", "broken"]),
    ],
)
def test_tags_sort_both_ways(world, content, sort, expected):
    response = world.client("guest").get("/projects/acme/repositories/app/", {"sort": sort})

    assert _tag_names(response) == expected


def test_tag_filter_with_htmx_answers_with_the_tag_section_alone(world, content):
    response = world.client("guest").get("/projects/acme/repositories/app/", {"tag": "v2*"}, **HTMX)

    html = _text(response)
    assert html.lstrip().startswith('<div id="tags-section"')
    assert _tag_names(response) == ["v2.0"]


def test_tags_are_paged_by_cursor_keeping_the_filter(world, content):
    Tag.objects.bulk_create(
        [Tag(repository=content.repository, name=f"build-{i:03}", artifact=content.other) for i in range(60)]
    )
    client = world.client("guest")

    first = client.get("/projects/acme/repositories/app/", {"tag": "build-*"})
    links = dict(first.context["page_links"])
    second = client.get("/projects/acme/repositories/app/" + links["Next"])
    back = client.get("/projects/acme/repositories/app/" + dict(second.context["page_links"])["Previous"])
    last = client.get("/projects/acme/repositories/app/" + links["Last"])

    assert _tag_names(first) == [f"build-{i:03}" for i in range(50)]
    assert links["First"] is None and links["Previous"] is None and links["Next"].startswith("?tag=build-%2A&cursor=")
    assert _tag_names(second) == [f"build-{i:03}" for i in range(50, 60)]
    assert dict(second.context["page_links"])["Next"] is None
    assert _tag_names(back) == _tag_names(first)
    assert _tag_names(last) == [f"build-{i:03}" for i in range(10, 60)]
    assert "60 tags matching" in _text(first) and 'data-page="next"' in _text(first)


def test_an_old_page_number_redirects_to_the_first_page(world, content):
    response = world.client("guest").get("/projects/acme/repositories/app/", {"tag": "v1*", "page": 7})

    assert response.status_code == 302
    assert response["Location"] == "/projects/acme/repositories/app/?tag=v1%2A"


def test_a_cursor_that_is_not_one_starts_the_first_page(world, content):
    response = world.client("guest").get("/projects/acme/repositories/app/", {"cursor": "not-a-cursor"})

    assert response.status_code == 200
    assert _tag_names(response)[0] == "broken"


# --- deleting tags through the pages (registry calls stubbed; see the registry module) --


@pytest.fixture
def recorded_deletes(monkeypatch):
    calls: list[str] = []

    def fake_delete_tag(tag, *, actor):
        calls.append(tag.name)
        if tag.name == "v1.1":
            raise RegistryActionFailed("The registry did not delete acme/app:v1.1: DENIED", transient=False)
        Tag.objects.filter(pk=tag.pk).delete()

    monkeypatch.setattr(tag_views, "delete_tag", fake_delete_tag)
    return calls


def test_bulk_delete_confirmation_lists_the_selected_tags_in_the_modal(world, content):
    response = world.client("maintainer").get(
        "/projects/acme/repositories/app/-/tags/delete/", {"tag": ["v1.0", "latest"]}, **HTMX
    )

    html = _text(response)
    assert html.lstrip().startswith('<div class="modal-dialog')
    assert "Delete 2 tags?" in html
    assert f"latest  ({content.index.short_digest})" in html
    assert '<input type="hidden" name="tag" value="v1.0">' in html
    assert '<input type="hidden" name="tag" value="latest">' in html


def test_bulk_delete_confirmation_without_javascript_is_a_page(world, content):
    response = world.client("maintainer").get("/projects/acme/repositories/app/-/tags/delete/", {"tag": "v2.0"})

    html = _text(response)
    assert "Delete tag v2.0?" in html and 'class="confirm-page"' in html and "<nav" in html


def test_bulk_delete_with_nothing_selected_says_so_and_offers_no_button(world, content):
    html = _text(world.client("maintainer").get("/projects/acme/repositories/app/-/tags/delete/"))

    assert "No tag was selected." in html and "confirm-delete-button" not in html


def test_confirming_a_tag_deleted_meanwhile_sends_the_browser_back_to_the_repository(world, content):
    response = world.client("maintainer").get("/projects/acme/repositories/app/-/tags/gone/delete/", **HTMX)

    assert response["HX-Redirect"] == "/projects/acme/repositories/app/"


def test_bulk_delete_reports_each_failure_and_keeps_those_tags(world, content, recorded_deletes):
    response = world.client("maintainer").post(
        "/projects/acme/repositories/app/-/tags/delete/",
        {"tag": ["v1.0", "v1.1", "gone", "latest"], "next": "tag=v1*"},
        follow=True,
    )

    html = _text(response)
    assert response.redirect_chain[0][0] == "/projects/acme/repositories/app/?tag=v1*"
    assert "Deleted 2 tags from acme/app: v1.0, latest." in html
    assert "The registry did not delete acme/app:v1.1: DENIED" in html
    assert "Tag gone no longer exists in acme/app." in html
    assert set(Tag.objects.values_list("name", flat=True)) == {"v1.1", "v2.0", "v1x0", "broken"}


def test_deleting_a_tag_with_htmx_rerenders_the_table_keeping_its_filter_and_closes_the_modal(
    world, content, recorded_deletes
):
    response = world.client("maintainer").post(
        "/projects/acme/repositories/app/-/tags/v1.0/delete/",
        HTTP_HX_CURRENT_URL="http://testserver/projects/acme/repositories/app/?tag=v*&sort=-name",
        **HTMX,
    )

    assert response["HX-Retarget"] == "#tags-section"
    assert response["HX-Trigger"] == "wharf:close-modal"
    assert _tag_names(response) == ["v2.0", "v1x0", "v1.1"]
    html = _text(response)
    assert 'hx-swap-oob="true"' in html and "Deleted 1 tag from acme/app: v1.0." in html


def test_a_registry_that_stops_answering_stops_the_batch(world, content, monkeypatch):
    def unreachable(tag, *, actor):
        raise RegistryActionFailed(f"The registry did not delete acme/app:{tag.name}: connection refused", transient=True)

    monkeypatch.setattr(tag_views, "delete_tag", unreachable)

    response = world.client("maintainer").post(
        "/projects/acme/repositories/app/-/tags/delete/", {"tag": ["v1.0", "v1.1", "latest"]}, follow=True
    )

    html = _text(response)
    assert "acme/app:v1.0: connection refused" in html
    assert "Stopped: 2 more tag(s) not attempted: v1.1, latest." in html
    assert Tag.objects.count() == 6


# --- an artifact's page ---------------------------------------------------------------


def test_artifact_page_shows_facts_layers_config_history_labels_annotations_and_tags(world, content):
    response = world.client("guest").get(f"/projects/acme/repositories/app/-/artifacts/{content.image.digest}/")

    html = _text(response)
    assert f'<code id="artifact-digest">{content.image.digest}</code>' in html
    assert "application/vnd.oci.image.manifest.v1+json" in html
    assert "linux/amd64" in html and "4.8\xa0MB" in html
    layers = re.search(r'<table[^>]*id="layers".*?</table>', html, re.S).group(0)
    assert layers.count("<tr>") == 3 and "2.4\xa0MB" in layers and "tar+gzip" in layers
    config = re.search(r'<dl[^>]*id="config".*?</dl>', html, re.S).group(0)
    for expected in ("/bin/app", "--serve", "/srv/app", "8080/tcp", "/data", "GREETING=hello", ">app<"):
        assert expected in config
    history = re.search(r'<table[^>]*id="history".*?</table>', html, re.S).group(0)
    assert "ADD file:abc in /" in history and "empty" in history
    assert "Demo app" in re.search(r'id="labels".*?</table>', html, re.S).group(0)
    assert "org.opencontainers.image.version" in re.search(r'id="annotations".*?</table>', html, re.S).group(0)
    tags = re.search(r'<ul[^>]*id="artifact-tags".*?</ul>', html, re.S).group(0)
    assert ">v1.0<" in tags and ">v1.1<" in tags
    referrers = re.search(r'<table[^>]*id="referrers".*?</table>', html, re.S).group(0)
    assert content.signature.short_digest in referrers and "application/vnd.example.signature" in referrers


def test_artifact_page_pretty_prints_the_manifest(world, content):
    response = world.client("guest").get(f"/projects/acme/repositories/app/-/artifacts/{content.image.digest}/")

    assert '  &quot;schemaVersion&quot;: 2,\n  &quot;mediaType&quot;' in _text(response)


def test_index_page_links_each_platform_to_its_child(world, content):
    response = world.client("guest").get(f"/projects/acme/repositories/app/-/artifacts/{content.index.digest}/")

    platforms = re.search(r'<table[^>]*id="platforms".*?</table>', _text(response), re.S).group(0)
    for child in content.index.children.all():
        assert f'href="/projects/acme/repositories/app/-/artifacts/{child.digest}/"' in platforms
    assert "linux/arm64/v8" in platforms


def test_child_page_links_back_to_its_index_and_signature_to_its_subject(world, content):
    child = content.index.children.first()
    client = world.client("guest")

    child_html = _text(client.get(f"/projects/acme/repositories/app/-/artifacts/{child.digest}/"))
    signature_html = _text(client.get(f"/projects/acme/repositories/app/-/artifacts/{content.signature.digest}/"))

    assert f'href="/projects/acme/repositories/app/-/artifacts/{content.index.digest}/"' in child_html
    subject = re.search(r'id="artifact-subject".*?</dd>', signature_html, re.S).group(0)
    assert f'href="/projects/acme/repositories/app/-/artifacts/{content.image.digest}/"' in subject


def test_unreadable_manifest_shows_its_error_and_the_raw_text(world, content):
    html = _text(world.client("guest").get(f"/projects/acme/repositories/app/-/artifacts/{content.broken.digest}/"))

    assert 'id="artifact-error"' in html and "manifest is larger than 4 MiB" in html
    assert "not json at all &lt;b&gt;" in html


def test_a_very_large_manifest_is_cut(world, content):
    Artifact.objects.filter(pk=content.other.pk).update(
        manifest=json.dumps({"annotations": {f"k{i}": "v" * 100 for i in range(2000)}}).encode()
    )

    html = _text(world.client("guest").get(f"/projects/acme/repositories/app/-/artifacts/{content.other.digest}/"))

    assert "(first 100,000 characters)" in html
    assert "k1999" not in html


def test_registry_data_is_escaped_everywhere(world, content):
    Tag.objects.create(repository=content.repository, name=HOSTILE, artifact=content.image)
    client = world.client("maintainer")
    pages = [
        "/projects/acme/repositories/",
        "/projects/acme/repositories/app/",
        f"/projects/acme/repositories/app/-/artifacts/{content.image.digest}/",
        f"/projects/acme/repositories/app/-/artifacts/{content.broken.digest}/",
        f"/projects/acme/repositories/app/-/artifacts/{content.image.digest}/delete/",
    ]

    for url in pages:
        html = _text(client.get(url))
        assert HOSTILE not in html, url
    artifact_html = _text(client.get(pages[2]))
    assert artifact_html.count(ESCAPED) >= 4  # label, annotation, cmd, history


def test_huge_values_are_truncated_with_the_rest_behind_an_expander(world, content):
    html = _text(world.client("guest").get(f"/projects/acme/repositories/app/-/artifacts/{content.image.digest}/"))

    assert "x" * 50_000 not in html
    assert '<details class="long-value"><summary>' + "x" * 199 + "…</summary>" in html


# --- deleting an artifact through the page -------------------------------------------


def test_artifact_delete_confirmation_lists_every_tag_that_goes_with_it(world, content):
    html = _text(
        world.client("maintainer").get(
            f"/projects/acme/repositories/app/-/artifacts/{content.image.digest}/delete/", **HTMX
        )
    )

    assert f"Delete artifact {content.image.short_digest}?" in html
    assert "These tags go with it:" in html
    assert '<li class="text-break">v1.0</li>' in html and '<li class="text-break">v1.1</li>' in html


def test_deleting_an_artifact_with_htmx_redirects_to_the_repository(world, content, monkeypatch):
    deleted = []
    monkeypatch.setattr(artifact_views, "delete_artifact", lambda a, *, actor: deleted.append(a.digest))

    response = world.client("maintainer").post(
        f"/projects/acme/repositories/app/-/artifacts/{content.image.digest}/delete/", **HTMX
    )

    assert response["HX-Redirect"] == "/projects/acme/repositories/app/"
    assert deleted == [content.image.digest]


def test_a_refused_artifact_delete_is_a_flash_error_on_the_artifact_page(world, content, monkeypatch):
    def refuse(artifact, *, actor):
        raise RegistryActionFailed("The registry did not delete it: UNSUPPORTED", transient=False)

    monkeypatch.setattr(artifact_views, "delete_artifact", refuse)
    client: Client = world.client("maintainer")

    response = client.post(f"/projects/acme/repositories/app/-/artifacts/{content.image.digest}/delete/", follow=True)

    assert response.redirect_chain[-1][0] == f"/projects/acme/repositories/app/-/artifacts/{content.image.digest}/"
    assert "The registry did not delete it: UNSUPPORTED" in _text(response)
    assert Artifact.objects.filter(pk=content.image.pk).exists()


# --- sync runs for system admins -------------------------------------------------------


def test_sync_runs_page_lists_runs_and_the_detail_shows_errors(world):
    run = SyncRun.objects.create(
        scope=SyncRun.Scope.REGISTRY,
        status="failed",
        requests=17,
        tags_seen=40,
        message="The registry at http://x could not be reached",
        errors=[{"where": "acme/app", "message": HOSTILE}],
    )
    client = world.client("sysadmin")

    listing = _text(client.get("/sync/"))
    detail = _text(client.get(f"/sync/{run.pk}/"))

    assert f'href="/sync/{run.pk}/"' in listing and "could not be reached" in listing and ">17<" in listing
    assert 'href="/sync/"' in _text(client.get("/projects/"))  # the nav link
    errors = re.search(r'id="run-errors".*?</ol>', detail, re.S).group(0)
    assert "acme/app" in errors and ESCAPED in errors and HOSTILE not in detail


def test_sync_whole_registry_queues_a_registry_run_and_shows_it(world):
    response = world.client("sysadmin").post("/sync/run/", follow=True)

    run = SyncRun.objects.get()
    assert (run.scope, run.requested_by) == ("registry", world.users["sysadmin"])
    assert response.redirect_chain[-1][0] == f"/sync/{run.pk}/"
    assert f"Sync #{run.pk} queued." in _text(response)
