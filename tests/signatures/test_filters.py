"""The signature filter and field: one rule (`filter_by_signature`) for the tag list
page, the tags endpoint and the artifacts endpoint; no verdict reads as unsigned."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from repositories.models import ArtifactSignature
from tests.api.conftest import JsonClient, fill_project
from tests.conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(world: World) -> object:
    rows = fill_project(world.private)
    ArtifactSignature.objects.create(artifact=rows.image, status="signed", key_name="release")
    ArtifactSignature.objects.create(
        artifact=rows.index, status="invalid", reason="tampered", detail="changed"
    )
    return rows


@pytest.mark.parametrize(
    ("status", "tags"),
    [("signed", ["latest", "v1"]), ("invalid", ["multi"]), ("unsigned", []), ("", ["latest", "multi", "v1"])],
)
def test_the_tags_endpoint_filters_by_signature(
    rows: object, api: Callable[[str], JsonClient], status: str, tags: list[str]
) -> None:
    body = api("guest").get(f"/api/v1/repositories/acme/app/-/tags/?signature={status}").json()
    assert sorted(r["name"] for r in body["results"]) == tags


def test_tags_and_artifacts_carry_the_verdict(rows: object, api: Callable[[str], JsonClient]) -> None:
    client = api("guest")
    tags = {
        r["name"]: r["signature"]
        for r in client.get("/api/v1/repositories/acme/app/-/tags/").json()["results"]
    }
    assert tags["v1"]["status"] == "signed" and tags["v1"]["key"] == "release"
    assert tags["multi"] | {"checked_at": None} == {
        "status": "invalid",
        "key": "",
        "reason": "tampered",
        "detail": "changed",
        "checked_at": None,
    }
    nested = client.get("/api/v1/repositories/acme/team/app/sub/-/tags/").json()["results"]
    assert nested[0]["signature"]["status"] == "unsigned"
    unsigned = client.get("/api/v1/repositories/acme/team/app/sub/-/artifacts/?signature=unsigned").json()
    assert len(unsigned["results"]) == 1
    signed = client.get("/api/v1/repositories/acme/app/-/artifacts/?signature=signed").json()["results"]
    assert [a["signature"]["key"] for a in signed] == ["release"]


def test_a_bad_signature_filter_is_a_400(rows: object, api: Callable[[str], JsonClient]) -> None:
    response = api("guest").get("/api/v1/repositories/acme/app/-/tags/?signature=maybe")
    assert response.status_code == 400 and "signature" in response.json()


def test_the_tag_list_shows_badges_and_filters(rows: object, world: World) -> None:
    client = world.client("guest")
    page = client.get("/projects/acme/repositories/app/").content.decode()
    assert page.count('data-signature="signed"') == 2 and page.count('data-signature="invalid"') == 1
    invalid = client.get("/projects/acme/repositories/app/?signature=invalid").content.decode()
    assert 'data-tag="multi"' in invalid and 'data-tag="v1"' not in invalid
    artifact = client.get(
        f"/projects/acme/repositories/app/-/artifacts/{rows.index.digest}/"
    ).content.decode()  # type: ignore[attr-defined]
    assert "payload changed after signing" in artifact
