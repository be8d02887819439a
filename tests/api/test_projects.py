"""`/api/v1/projects/`: what a project looks like, filtering and ordering."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from repositories.models import Membership, Project
from tests.conftest import World
from tests.factories import ProjectFactory


def _names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [p["name"] for p in response.json()["results"]]


def test_members_see_their_private_projects_and_all_public_ones(world: World, api: Any) -> None:
    ProjectFactory(name="secret")

    assert _names(api("developer").get("/api/v1/projects/")) == ["acme", "pub"]
    assert _names(api("outsider").get("/api/v1/projects/")) == ["pub"]
    assert _names(api("sysadmin").get("/api/v1/projects/")) == ["acme", "pub", "secret"]


def test_project_shows_member_count_role_and_creator(world: World, api: Any) -> None:
    Project.objects.filter(pk=world.private.pk).update(
        created_by=world.users["padmin"], description="Acme Inc."
    )

    body = api("guest").get("/api/v1/projects/").json()

    assert body["count"] == 2
    acme, pub = body["results"]
    assert acme == {
        "name": "acme",
        "description": "Acme Inc.",
        "is_public": False,
        "created_at": acme["created_at"],
        "created_by": "padmin",
        "member_count": 5,
        "my_role": "guest",
    }
    assert pub["created_by"] is None
    assert pub["my_role"] == "guest"


def test_member_count_counts_every_member_not_just_the_caller(world: World, api: Any) -> None:
    # for_user() joins memberships for the caller; the count must not be limited by that join.
    Membership.objects.filter(project=world.public).exclude(user=world.users["limited"]).delete()

    (pub,) = [p for p in api("limited").get("/api/v1/projects/").json()["results"] if p["name"] == "pub"]

    assert pub["member_count"] == 1
    assert pub["my_role"] == "limited_guest"


def test_outsider_has_no_role(world: World, api: Any) -> None:
    assert api("outsider").get("/api/v1/projects/pub/").json()["my_role"] is None


def test_filters_by_name_and_visibility(world: World, api: Any) -> None:
    ProjectFactory(name="acme-tools", is_public=True)
    client = api("sysadmin")

    assert _names(client.get("/api/v1/projects/", {"q": "ACME"})) == ["acme", "acme-tools"]
    assert _names(client.get("/api/v1/projects/", {"is_public": "true"})) == ["acme-tools", "pub"]
    assert _names(client.get("/api/v1/projects/", {"is_public": "false"})) == ["acme"]


def test_orders_by_name_or_creation(world: World, api: Any) -> None:
    Project.objects.filter(pk=world.public.pk).update(created_at=timezone.now() - timedelta(days=1))
    client = api("sysadmin")

    assert _names(client.get("/api/v1/projects/", {"ordering": "-name"})) == ["pub", "acme"]
    assert _names(client.get("/api/v1/projects/", {"ordering": "created_at"})) == ["pub", "acme"]
    assert _names(client.get("/api/v1/projects/", {"ordering": "-created_at"})) == ["acme", "pub"]


def test_list_is_paginated(world: World, api: Any) -> None:
    body = api("sysadmin").get("/api/v1/projects/", {"page_size": 1}).json()

    assert body["count"] == 2
    assert [p["name"] for p in body["results"]] == ["acme"]
    assert "cursor=" in body["next"] and "page_size=1" in body["next"]
    second = api("sysadmin").get(body["next"]).json()
    assert [p["name"] for p in second["results"]] == ["pub"] and second["next"] is None


def test_created_project_is_returned_with_creator_as_admin(world: World, api: Any) -> None:
    response = api("outsider").post("/api/v1/projects/", {"name": "fresh", "description": "New."})

    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["description"], body["is_public"]) == ("fresh", "New.", False)
    assert (body["created_by"], body["my_role"], body["member_count"]) == ("outsider", "project_admin", 1)


def test_update_changes_description_and_visibility_but_never_the_name(world: World, api: Any) -> None:
    response = api("padmin").patch(
        "/api/v1/projects/acme/", {"description": "Now public.", "is_public": True, "name": "renamed"}
    )

    assert response.status_code == 200
    world.private.refresh_from_db()
    assert (world.private.name, world.private.description, world.private.is_public) == (
        "acme",
        "Now public.",
        True,
    )
    assert response.json()["is_public"] is True


def test_put_is_not_allowed(world: World, api: Any) -> None:
    response = api("padmin").request("PUT", "/api/v1/projects/acme/", {"description": "x"})

    assert response.status_code == 405


def test_delete_removes_the_project(world: World, api: Any) -> None:
    assert api("padmin").delete("/api/v1/projects/acme/").status_code == 204
    assert not Project.objects.filter(name="acme").exists()


def test_members_are_listed_by_username(world: World, api: Any) -> None:
    body = api("guest").get("/api/v1/projects/acme/members/").json()

    assert [(m["username"], m["role"]) for m in body["results"]] == [
        ("developer", "developer"),
        ("guest", "guest"),
        ("limited", "limited_guest"),
        ("maintainer", "maintainer"),
        ("padmin", "project_admin"),
    ]


def test_project_names_with_dots_are_routed(world: World, api: Any) -> None:
    ProjectFactory(name="team.app", is_public=True)

    assert api("outsider").get("/api/v1/projects/team.app/").json()["name"] == "team.app"
    assert api("sysadmin").get("/api/v1/projects/team.app/members/").status_code == 200
