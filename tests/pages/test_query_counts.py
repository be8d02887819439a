"""List pages cost a fixed number of queries however many rows exist (no N+1)."""

from __future__ import annotations

from audit.models import ActorKind, AuditAction, AuditEvent
from repositories.models import Membership, Project
from tests.factories import UserFactory

ROWS = 1000
MAX_QUERIES = 8  # measured: 3–5 per page today


def _bulk_users(prefix: str, count: int):
    from accounts.models import User

    hashed = UserFactory.build(username="template").password  # one hash for all rows: fast
    User.objects.bulk_create([User(username=f"{prefix}{i:04}", password=hashed) for i in range(count)])
    return User.objects.filter(username__startswith=prefix)


def test_project_list_queries_are_bounded(world, django_assert_max_num_queries):
    projects = Project.objects.bulk_create(
        [Project(name=f"bulk-{i:04}", is_public=i % 2 == 0) for i in range(ROWS)]
    )
    Membership.objects.bulk_create(
        [Membership(project=p, user=world.users["developer"], role="guest") for p in projects[1::2]]
    )
    client = world.client("developer")
    client.get("/projects/")  # warm the session

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get("/projects/", {"sort": "members"})

    assert response.context["total"].count == ROWS + 2


def test_project_list_for_an_admin_sorted_by_role_is_bounded(world, django_assert_max_num_queries):
    Project.objects.bulk_create([Project(name=f"bulk-{i:04}") for i in range(ROWS)])
    client = world.client("sysadmin")
    client.get("/projects/")

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get("/projects/", {"sort": "role", "q": "bulk"})

    assert response.context["total"].count == ROWS


def test_members_list_queries_are_bounded(world, django_assert_max_num_queries):
    users = _bulk_users("member", ROWS)
    Membership.objects.bulk_create(
        [Membership(project=world.private, user=u, role="developer") for u in users]
    )
    client = world.client("padmin")
    client.get("/projects/acme/members/")

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get("/projects/acme/members/", {"page": 3})

    assert response.context["page"].paginator.count == ROWS + 5
    assert len(response.context["page"].object_list) == 50


def test_audit_list_queries_are_bounded(world, django_assert_max_num_queries):
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor_kind=ActorKind.USER,
                actor_name="padmin",
                action=AuditAction.PROJECT_UPDATE,
                project=world.private,
                project_name="acme",
                target_name=f"t{i}",
                prev_hash="0" * 64,
                hash="0" * 64,
            )
            for i in range(ROWS)
        ]
    )
    admin = world.client("sysadmin")
    guest = world.client("guest")
    admin.get("/audit/")
    guest.get("/projects/acme/logs/")

    with django_assert_max_num_queries(MAX_QUERIES):
        system = admin.get("/audit/")
    with django_assert_max_num_queries(MAX_QUERIES):
        project = guest.get("/projects/acme/logs/")

    assert len(system.context["events"]) == 50 and len(project.context["events"]) == 50


def test_user_list_queries_are_bounded(world, django_assert_max_num_queries):
    _bulk_users("person", ROWS)
    client = world.client("sysadmin")
    cursor = client.get("/users/").context["page"].next

    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get("/users/", {"cursor": cursor})

    assert response.context["total"].count == ROWS + 7
