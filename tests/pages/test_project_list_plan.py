"""The member's project list: what it shows (both databases) and how PostgreSQL plans it.

The list joins the member's own membership row (at most one per project) and asks one
subquery for a stronger role through their teams, so it needs no DISTINCT and no per-role
subquery; the planner reads the membership row through a membership index.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.permissions import Perm, Role, project_permissions
from repositories.models import Membership, Project
from tests.factories import UserFactory
from tests.support.keyset_pages import page_rows

PROJECTS = 1000
MEMBERSHIP_INDEXES = {"membership_unique_user", "membership_user_project"}


def _fill(projects: int) -> User:
    """`projects` projects (a third public), three other members in each, and the member
    under test in every fifth project, in every role in turn. Returns the member."""
    member = UserFactory(username="member")
    hashed = member.password
    others = User.objects.bulk_create(User(username=f"other{i:02}", password=hashed) for i in range(20))
    rows = Project.objects.bulk_create(
        Project(name=f"project-{i:04}", is_public=i % 3 == 0) for i in range(projects)
    )
    roles = list(Role)
    memberships = [
        Membership(project=project, user=others[(i + k) % len(others)], role=roles[(i + k) % len(roles)])
        for i, project in enumerate(rows)
        for k in range(3)
    ]
    memberships += [
        Membership(project=project, user=member, role=roles[(i // 5) % len(roles)])
        for i, project in enumerate(rows)
        if i % 5 == 0
    ]
    Membership.objects.bulk_create(memberships, batch_size=1000)
    return member


def _expected(member: User) -> dict[str, str | None]:
    """name -> role for every project `accounts.permissions` lets `member` see."""
    roles = dict(Membership.objects.filter(user=member).values_list("project__name", "role"))
    return {
        p.name: roles.get(p.name)
        for p in Project.objects.all()
        if Perm.VIEW_PROJECT in project_permissions(member, role=roles.get(p.name), is_public=p.is_public)
    }


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_member_list_shows_exactly_the_projects_and_roles_the_permission_table_allows(db: Any) -> None:
    member = _fill(120)
    expected = _expected(member)
    assert any(role is None for role in expected.values())  # public projects without a membership
    assert {role for role in expected.values() if role} == {role.value for role in Role}

    for sort in ("name", "role", "members"):
        listed = page_rows(_client(member), "/projects/", {"sort": sort})
        assert {p.name: p.my_role for p in listed} == expected, sort
        assert len(listed) == len(expected), sort  # no project twice

    api: dict[str, str | None] = {}
    url: str | None = "/api/v1/projects/?page_size=50"
    while url:
        body = _client(member).get(url).json()
        for row in body["results"]:
            assert row["name"] not in api
            api[row["name"]] = row["my_role"]
        url = body["next"]
    assert api == expected


def test_listing_and_the_role_share_one_membership_join_in_either_order(db: Any) -> None:
    member, other = UserFactory(username="member"), UserFactory(username="other")
    for queryset in (
        Project.objects.where_user_may(member, Perm.SYNC).with_role(member),
        Project.objects.with_role(member).where_user_may(member, Perm.SYNC),
        Project.objects.with_role(member).for_user(member),
    ):
        assert str(queryset.query).count("JOIN") == 1
    with pytest.raises(ValueError, match="another user"):
        Project.objects.for_user(member).with_role(other)


# --- PostgreSQL's plan --------------------------------------------------------------------------

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="EXPLAIN output is vendor-specific: this checks PostgreSQL's planner",
)


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _member_list_plans(member: User) -> list[dict[str, Any]]:
    """The plans of the page's queries over projects (its count and its rows)."""
    client = _client(member)
    client.get("/projects/")  # warm the session
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/projects/", {"sort": "role"})
    assert response.status_code == 200
    queries = [q["sql"] for q in captured.captured_queries if 'FROM "repositories_project"' in q["sql"]]
    assert len(queries) == 2, queries  # the bounded count and the page of rows
    plans = []
    with connection.cursor() as cursor:
        for sql in queries:
            assert "DISTINCT" not in sql.upper(), sql
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            row = cursor.fetchone()[0]
            plans.append((row if isinstance(row, list) else json.loads(row))[0]["Plan"])
    return plans


@postgresql_only
def test_member_list_plan_has_no_distinct_and_reads_the_membership_index(db: Any) -> None:
    member = _fill(PROJECTS)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE repositories_project")
        cursor.execute("ANALYZE repositories_membership")

    for plan in _member_list_plans(member):
        nodes = list(_nodes(plan))
        assert not [n for n in nodes if n["Node Type"] == "Unique"]
        grouped = [key for n in nodes for key in n.get("Group Key", [])]
        assert not [key for key in grouped if "repositories_project" in key]  # a DISTINCT as a GROUP BY
        memberships = [n for n in nodes if n.get("Relation Name") == "repositories_membership"]
        assert memberships
        assert not [n for n in memberships if n["Node Type"] == "Seq Scan"]
        index_nodes = [n for n in nodes if n.get("Index Name") in MEMBERSHIP_INDEXES]
        assert index_nodes
        # The member count column, and the team-role subquery where the role is read (the
        # filter, the column, the sort key): never one per role.
        assert len([n for n in nodes if n.get("Parent Relationship") == "SubPlan"]) <= 4
