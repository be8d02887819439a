"""List endpoints run a fixed number of queries however much data there is."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import ApiToken, User
from accounts.permissions import Role
from audit.models import GENESIS_HASH, AuditAction, AuditEvent
from repositories.models import Membership, Project
from tests.conftest import World

MANY = 1000
# Session, user, the project (nested routes), COUNT(*) for the page numbers and the
# page itself; what must never happen is one query per row.
MAX_LIST_QUERIES = 5


@pytest.fixture
def crowd(world: World) -> World:
    """1,000 projects (half public, the developer a member of every third one, each
    with two members), 1,000 users, 1,000 audit events and 100 tokens."""
    projects = Project.objects.bulk_create(
        Project(name=f"bulk-{i:04}", is_public=i % 2 == 0, created_by=world.users["padmin"])
        for i in range(MANY)
    )
    users = User.objects.bulk_create(User(username=f"bulk-user-{i:04}") for i in range(MANY))
    Membership.objects.bulk_create(
        [Membership(project=p, user=world.users["developer"], role=Role.DEVELOPER) for p in projects[::3]]
        + [Membership(project=p, user=users[i], role=Role.GUEST) for i, p in enumerate(projects)]
        + [Membership(project=world.private, user=u, role=Role.GUEST) for u in users]
    )
    # Direct inserts bypass the hash chain, which these tests do not read.
    AuditEvent.objects.bulk_create(
        AuditEvent(
            actor_kind="system",
            action=AuditAction.PROJECT_UPDATE,
            project=world.private,
            project_name="acme",
            prev_hash=GENESIS_HASH,
            hash=GENESIS_HASH,
        )
        for _ in range(MANY)
    )
    ApiToken.objects.bulk_create(
        ApiToken(user=world.users["developer"], name=f"t{i}", key_hash=f"{i:064}", hint="x")
        for i in range(100)
    )
    return world


@pytest.mark.parametrize("persona", ["sysadmin", "developer", "outsider"])
@pytest.mark.parametrize("page_size", [50, 500])
def test_project_list_queries_are_bounded(
    crowd: World, api: Any, django_assert_max_num_queries: Any, persona: str, page_size: int
) -> None:
    client = api(persona)

    with django_assert_max_num_queries(MAX_LIST_QUERIES):
        response = client.get("/api/v1/projects/", {"page_size": page_size, "ordering": "-created_at"})

    body = response.json()
    assert len(body["results"]) == page_size
    assert all(p["created_by"] in ("padmin", None) for p in body["results"])


def test_project_list_counts_visible_projects_once(crowd: World, api: Any) -> None:
    # Public projects the developer also belongs to must not appear twice.
    assert api("developer").get("/api/v1/projects/").json()["count"] == 2 + 500 + 167
    assert api("outsider").get("/api/v1/projects/").json()["count"] == 1 + 500


@pytest.mark.parametrize(
    ("persona", "url"),
    [
        ("guest", "/api/v1/projects/acme/members/?page_size=500"),
        ("guest", "/api/v1/projects/acme/audit-events/?page_size=500"),
        ("sysadmin", "/api/v1/audit-events/?page_size=500"),
        ("sysadmin", "/api/v1/users/?page_size=500"),
        ("developer", "/api/v1/tokens/?page_size=500"),
    ],
)
def test_other_list_queries_are_bounded(
    crowd: World, api: Any, django_assert_max_num_queries: Any, persona: str, url: str
) -> None:
    client = api(persona)

    with django_assert_max_num_queries(MAX_LIST_QUERIES):
        response = client.get(url)

    assert response.status_code == 200
    assert len(response.json()["results"]) >= 100
