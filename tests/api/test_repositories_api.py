"""Reading repositories, tags and artifacts through the API (rows made with the ORM;
the permission matrix is in test_repository_permissions.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from repositories.models import Artifact, Project, PushedAtSource, Repository, Tag
from tests.api.conftest import RepoRows, digest_of
from tests.conftest import World

APP = "/api/v1/repositories/acme/app"


def _names(response: Any, key: str = "name") -> list[str]:
    assert response.status_code == 200, response.content
    return [row[key] for row in response.json()["results"]]


# Repositories


def test_repository_list_shows_counts_sizes_and_short_names(content: dict[str, RepoRows], api: Any) -> None:
    rows = api("guest").get("/api/v1/projects/acme/repositories/").json()["results"]

    assert rows[0] == {
        "name": "acme/app",
        "short_name": "app",
        "project": "acme",
        "description": "The app",
        "tag_count": 3,
        "artifact_count": 2,
        "size": 1234 + 4000,
        "pull_count": 7,
        "last_push_at": rows[0]["last_push_at"],
        "last_pull_at": None,
    }
    assert rows[0]["last_push_at"] is not None
    assert rows[1]["name"] == "acme/team/app/sub" and rows[1]["short_name"] == "team/app/sub"


def test_repository_list_searches_names_and_stays_in_its_project(content: Any, api: Any) -> None:
    client = api("guest")

    assert _names(client.get("/api/v1/projects/acme/repositories/", {"q": "TEAM"})) == ["acme/team/app/sub"]
    assert _names(client.get("/api/v1/projects/acme/repositories/", {"q": "pub"})) == []


@pytest.mark.parametrize(
    ("field", "ascending", "descending"),
    [
        ("name", ["a", "b", "c", "never"], ["never", "c", "b", "a"]),
        # Never pushed sorts last both ways.
        ("last_push_at", ["a", "b", "c", "never"], ["c", "b", "a", "never"]),
        ("size", ["never", "a", "b", "c"], ["c", "b", "a", "never"]),
        ("pull_count", ["never", "a", "b", "c"], ["c", "b", "a", "never"]),
        # Ties (a and never both have 0 tags) are broken by name, in the list's direction
        # (one (project, tag_count, name) index serves both directions).
        ("tag_count", ["a", "never", "b", "c"], ["c", "b", "never", "a"]),
    ],
)
def test_repository_list_sorts_by_each_column_both_ways(
    field: str, ascending: list[str], descending: list[str], world: World, api: Any
) -> None:
    now = timezone.now()
    for i, name in enumerate(["a", "b", "c"]):
        Repository.objects.create(
            project=world.private,
            name=f"acme/{name}",
            size=i,
            pull_count=i,
            tag_count=i,
            last_push_at=now + timedelta(minutes=i),
        )
    Repository.objects.create(project=world.private, name="acme/never", size=-1, pull_count=-1, tag_count=0)
    client = api("guest")
    url = "/api/v1/projects/acme/repositories/"

    assert _names(client.get(url, {"ordering": field}), "short_name") == ascending
    assert _names(client.get(url, {"ordering": f"-{field}"}), "short_name") == descending


def test_repository_list_pages(world: World, api: Any) -> None:
    Repository.objects.bulk_create(Repository(project=world.private, name=f"acme/r{i:02}") for i in range(7))

    first = api("guest").get("/api/v1/projects/acme/repositories/", {"page_size": 5}).json()
    body = api("guest").get(first["next"]).json()

    assert body["count"] == 7
    assert [r["name"] for r in body["results"]] == ["acme/r05", "acme/r06"]


def test_nested_repository_is_read_by_its_full_name(content: Any, api: Any) -> None:
    response = api("limited").get("/api/v1/repositories/acme/team/app/sub/")

    assert response.status_code == 200
    assert response.json()["name"] == "acme/team/app/sub"
    assert _names(api("limited").get("/api/v1/repositories/acme/team/app/sub/-/tags/")) == ["v2"]


def test_single_component_name_and_its_namespaced_twin_are_distinct(world: World, api: Any) -> None:
    library = Project.objects.create(name="library", is_public=True)
    Repository.objects.create(project=library, name="alpine", description="bare")
    Repository.objects.create(project=library, name="library/alpine", description="namespaced")
    client = api("outsider")

    assert client.get("/api/v1/repositories/alpine/").json()["description"] == "bare"
    assert client.get("/api/v1/repositories/library/alpine/").json()["description"] == "namespaced"
    assert _names(client.get("/api/v1/projects/library/repositories/"), "short_name") == ["alpine", "alpine"]


def test_unknown_repository_is_404_even_for_a_system_admin(content: Any, api: Any) -> None:
    assert api("sysadmin").get("/api/v1/repositories/acme/nope/").status_code == 404
    assert api("sysadmin").get("/api/v1/repositories/acme/nope/-/tags/").status_code == 404


# Tags


def test_tag_list_shows_digest_kind_platforms_and_pull_command(
    content: dict[str, RepoRows], api: Any, settings: Any
) -> None:
    settings.REGISTRY_PUBLIC_HOST = "registry.example.org"
    rows = {t["name"]: t for t in api("guest").get(f"{APP}/-/tags/").json()["results"]}
    image = content["acme"].image

    assert list(rows) == ["latest", "multi", "v1"]
    assert rows["v1"]["digest"] == image.digest
    assert rows["v1"]["short_digest"] == image.digest[7:19]
    assert rows["v1"]["kind"] == "image" and rows["v1"]["size"] == 1234 and rows["v1"]["pull_count"] == 7
    assert [p["platform"] for p in rows["v1"]["platforms"]] == ["linux/amd64"]
    assert rows["multi"]["kind"] == "index"
    assert [p["platform"] for p in rows["multi"]["platforms"]] == ["linux/amd64", "linux/arm64/v8"]
    assert rows["multi"]["pull_command"] == "docker pull registry.example.org/acme/app:multi"


def test_tags_and_artifacts_say_whether_their_push_time_is_known(content: dict[str, RepoRows], api: Any) -> None:
    image = content["acme"].image
    created = timezone.now() - timedelta(days=40)
    Artifact.objects.filter(pk=image.pk).update(created=created, pushed_at=created, pushed_at_source=PushedAtSource.CREATED)
    Tag.objects.filter(name="v1").update(pushed_at=created, pushed_at_source=PushedAtSource.CREATED)
    Tag.objects.filter(name="multi").update(pushed_at_source=PushedAtSource.PUSH)
    client = api("guest")

    rows = {t["name"]: t for t in client.get(f"{APP}/-/tags/").json()["results"]}
    artifact = client.get(f"{APP}/-/artifacts/{image.digest}/").json()

    assert (rows["v1"]["pushed_at_source"], rows["multi"]["pushed_at_source"]) == ("created", "push")
    assert rows["v1"]["created"] == rows["v1"]["pushed_at"] and rows["v1"]["created"] is not None
    assert rows["multi"]["created"] is None
    assert artifact["pushed_at_source"] == "created"
    assert {t["name"]: t["pushed_at_source"] for t in artifact["tags"]}["v1"] == "created"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("v*", ["v1"]),
        ("*t*", ["latest", "multi"]),
        ("?1", ["v1"]),
        ("[lm]*", ["latest", "multi"]),
        ("[!lm]*", ["v1"]),
        ("latest", ["latest"]),
        ("LATEST", []),
        ("lat", ["latest"]),  # no glob character: a substring, as on the page
        ("l[a]t", []),  # with one, the whole name
        ("{v1,multi}", ["multi", "v1"]),
        ("", ["latest", "multi", "v1"]),
    ],
)
def test_tag_list_filters_by_glob(pattern: str, expected: list[str], content: Any, api: Any) -> None:
    assert _names(api("guest").get(f"{APP}/-/tags/", {"pattern": pattern})) == expected


@pytest.mark.parametrize("pattern", ["v1/x", "v%", "a b", "v1[", "x" * 256])
def test_glob_with_characters_no_tag_has_is_a_400(pattern: str, content: Any, api: Any) -> None:
    response = api("guest").get(f"{APP}/-/tags/", {"pattern": pattern})

    assert response.status_code == 400
    assert "pattern" in response.json()


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("name", ["latest", "multi", "v1"]),
        ("-name", ["v1", "multi", "latest"]),
        ("pushed_at", ["latest", "v1", "multi"]),
        ("-pushed_at", ["multi", "v1", "latest"]),  # ties by name, in the same direction
        ("last_pull_at", ["latest", "v1", "multi"]),
        ("-last_pull_at", ["multi", "v1", "latest"]),
    ],
)
def test_tag_list_sorts(ordering: str, expected: list[str], content: dict[str, RepoRows], api: Any) -> None:
    now = timezone.now()
    Tag.objects.filter(name="v1").update(last_pull_at=now - timedelta(hours=1))
    Tag.objects.filter(name="multi").update(last_pull_at=now)  # `latest` never pulled: the oldest pull

    assert _names(api("guest").get(f"{APP}/-/tags/", {"ordering": ordering})) == expected


def test_tag_detail_and_missing_tag(content: Any, api: Any) -> None:
    client = api("guest")

    assert client.get(f"{APP}/-/tags/latest/").json()["name"] == "latest"
    missing = client.get(f"{APP}/-/tags/nope/")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/json"


def test_tag_of_another_repository_is_not_found_here(content: Any, api: Any) -> None:
    # `v2` exists, but in acme/team/app/sub.
    assert api("guest").get(f"{APP}/-/tags/v2/").status_code == 404


# Artifacts


def test_artifact_list_shows_top_level_artifacts_with_their_tags(content: dict[str, RepoRows], api: Any) -> None:
    rows = api("guest").get(f"{APP}/-/artifacts/").json()["results"]

    assert [(r["kind"], r["tags"]) for r in rows] == [("index", ["multi"]), ("image", ["latest", "v1"])]
    assert [p["platform"] for p in rows[0]["platforms"]] == ["linux/amd64", "linux/arm64/v8"]


def test_artifact_list_can_include_children_and_filter_by_kind(content: dict[str, RepoRows], api: Any) -> None:
    client = api("guest")

    everything = client.get(f"{APP}/-/artifacts/", {"include_children": "true"}).json()
    images = client.get(f"{APP}/-/artifacts/", {"kind": "image"}).json()
    indexes = client.get(f"{APP}/-/artifacts/", {"kind": "index"}).json()

    assert everything["count"] == 4
    assert [r["digest"] for r in images["results"]] == [content["acme"].image.digest]
    assert [r["digest"] for r in indexes["results"]] == [content["acme"].index.digest]


def test_artifact_detail_shows_config_layers_labels_and_tags(
    content: dict[str, RepoRows], api: Any, settings: Any
) -> None:
    settings.REGISTRY_PUBLIC_HOST = "registry.example.org"
    image = content["acme"].image

    body = api("guest").get(f"{APP}/-/artifacts/{image.digest}/").json()

    assert body["labels"] == {"org.opencontainers.image.title": "app"}
    assert body["config"]["entrypoint"] == ["/app"] and body["config"]["cmd"] is None
    assert body["config"]["working_dir"] == "/srv" and body["config"]["exposed_ports"] == ["8080/tcp"]
    assert body["config"]["history"][0]["created_by"] == "COPY app /app"
    assert body["layers"] == [
        {"digest": digest_of("layer"), "size": 1000, "media_type": "application/vnd.oci.image.layer.v1.tar+gzip"}
    ]
    assert [t["name"] for t in body["tags"]] == ["latest", "v1"]
    assert body["tags"][0]["pull_command"] == "docker pull registry.example.org/acme/app:latest"
    assert body["pull_command"] == f"docker pull registry.example.org/acme/app@{image.digest}"
    assert body["children"] == [] and body["parent_digest"] is None
    assert "manifest" not in body


def test_index_child_is_readable_by_digest_and_names_its_parent(content: dict[str, RepoRows], api: Any) -> None:
    rows = content["acme"]

    index = api("guest").get(f"{APP}/-/artifacts/{rows.index.digest}/").json()
    child = api("guest").get(f"{APP}/-/artifacts/{rows.children[1].digest}/").json()

    assert [c["platform"] for c in index["children"]] == ["linux/amd64", "linux/arm64/v8"]
    assert index["config"] is None
    assert child["parent_digest"] == rows.index.digest and child["platform"] == "linux/arm64/v8"


def test_manifest_is_served_as_text_with_bad_bytes_replaced(content: dict[str, RepoRows], api: Any) -> None:
    image = content["acme"].image
    Artifact.objects.filter(pk=image.pk).update(manifest=b'{"a":"caf\xc3\xa9 \xff"}')

    body = api("guest").get(f"{APP}/-/artifacts/{image.digest}/manifest/").json()

    assert body == {
        "digest": image.digest,
        "media_type": image.media_type,
        "size": 15,
        "manifest": '{"a":"café \ufffd"}',
    }


def test_unknown_digest_is_404(content: Any, api: Any) -> None:
    assert api("guest").get(f"{APP}/-/artifacts/{digest_of('nothing')}/").status_code == 404
    assert api("guest").get(f"{APP}/-/artifacts/{digest_of('nothing')}/manifest/").status_code == 404


def test_hostile_registry_strings_come_back_intact(content: dict[str, RepoRows], api: Any) -> None:
    image = content["acme"].image
    huge = "<script>alert(1)</script>" + "x" * 1_000_000
    Artifact.objects.filter(pk=image.pk).update(
        labels={"<b>": huge, "emoji 🐳": "\u202etxt.exe", "n": 5},
        annotations={"a": ["not", "a", "string"]},
        config={"env": "not-a-list", "cmd": [1, None], "history": ["junk", {"created_by": None}]},
        layers=[{"digest": 3}, "junk"],
    )

    response = api("guest").get(f"{APP}/-/artifacts/{image.digest}/")

    assert response.status_code == 200
    body = response.json()
    assert body["labels"]["<b>"] == huge
    assert body["labels"]["emoji 🐳"] == "\u202etxt.exe" and body["labels"]["n"] == "5"
    assert body["annotations"] == {"a": "['not', 'a', 'string']"}
    assert body["config"]["env"] == ["not-a-list"] and body["config"]["cmd"] == ["1", "None"]
    assert body["config"]["history"] == [{"created": None, "created_by": "", "comment": "", "empty_layer": False}]
    assert body["layers"] == [{"digest": "3", "size": 0, "media_type": ""}]


@pytest.mark.parametrize(
    "body",
    [{}, {"tags": []}, {"tags": "v1"}, {"tags": ["no/slash"]}, {"tags": ["-dash-first"]}, {"tags": ["x"] * 501}],
)
def test_bulk_delete_rejects_bad_bodies_with_400_and_deletes_nothing(
    body: dict[str, Any], content: Any, api: Any
) -> None:
    response = api("maintainer").post(f"{APP}/-/tags/bulk-delete/", body)

    assert response.status_code == 400, response.content
    assert "tags" in response.json()
    assert Tag.objects.filter(repository__name="acme/app").count() == 3
