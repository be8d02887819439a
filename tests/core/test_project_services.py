"""Project and membership services: validation, invariants, and one audit event per change."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.permissions import Role
from audit.context import Actor
from audit.models import AuditAction, AuditEvent
from repositories.models import Membership, Project
from repositories.services import projects as svc
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return UserFactory(username="alice")


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_creator_becomes_project_admin_and_both_are_audited(alice) -> None:
    project = svc.create_project(actor=Actor.for_user(alice), name="team-app", creator=alice)
    assert Membership.objects.get(project=project, user=alice).role == Role.PROJECT_ADMIN
    assert actions() == [AuditAction.PROJECT_CREATE, AuditAction.MEMBER_ADD]
    event = AuditEvent.objects.get(action=AuditAction.PROJECT_CREATE)
    assert (event.actor_name, event.project_id, event.target_name) == ("alice", project.pk, "team-app")


@pytest.mark.parametrize(
    "name", ["Bad Name!", "UPPER", "a", "-lead", "trail-", "double--dash", "a/b", "x" * 65, "", "emoji😀", "new"]
)
def test_invalid_project_names_are_refused_with_a_clear_message(alice, name: str) -> None:
    with pytest.raises(ValidationError) as exc:
        svc.create_project(actor=Actor.for_user(alice), name=name, creator=alice)
    assert "name" in exc.value.message_dict
    assert not Project.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize("name", ["ab", "team-app", "a.b_c-d", "x" * 64, "0day"])
def test_valid_project_names_are_accepted(alice, name: str) -> None:
    assert svc.create_project(actor=Actor.for_user(alice), name=name).name == name


def test_duplicate_project_name_is_refused(alice) -> None:
    svc.create_project(actor=Actor.for_user(alice), name="dup")
    with pytest.raises(ValidationError, match="already exists"):
        svc.create_project(actor=Actor.for_user(alice), name="dup")
    assert Project.objects.count() == 1


def test_update_records_what_changed_and_skips_no_op(alice) -> None:
    project = ProjectFactory(name="p1")
    svc.update_project(project, actor=Actor.for_user(alice), is_public=True, description="hello")
    svc.update_project(project, actor=Actor.for_user(alice), is_public=True)
    event = AuditEvent.objects.get(action=AuditAction.PROJECT_UPDATE)
    assert event.details == {"is_public": {"from": False, "to": True}, "description": {"from": "", "to": "hello"}}
    assert AuditEvent.objects.count() == 1


def test_delete_keeps_the_projects_history(alice) -> None:
    project = svc.create_project(actor=Actor.for_user(alice), name="gone", creator=alice)
    project_id = project.pk
    svc.delete_project(project, actor=Actor.for_user(alice))
    assert not Project.objects.filter(pk=project_id).exists()
    assert AuditEvent.objects.filter(project_id=project_id).count() == 3
    assert actions()[-1] == AuditAction.PROJECT_DELETE


def test_add_member_errors_name_the_field(alice) -> None:
    project = ProjectFactory()
    with pytest.raises(ValidationError) as unknown:
        svc.add_member(project, actor=Actor.system(), username="nobody", role=Role.GUEST)
    assert unknown.value.message_dict == {"username": ["There is no user called “nobody”."]}
    with pytest.raises(ValidationError) as bad_role:
        svc.add_member(project, actor=Actor.system(), username="alice", role="owner")
    assert "role" in bad_role.value.message_dict
    svc.add_member(project, actor=Actor.system(), username="alice", role=Role.GUEST)
    with pytest.raises(ValidationError, match="already a member"):
        svc.add_member(project, actor=Actor.system(), username="alice", role=Role.DEVELOPER)
    assert actions() == [AuditAction.MEMBER_ADD]


def test_deactivated_user_cannot_be_added() -> None:
    UserFactory(username="gone", is_active=False)
    with pytest.raises(ValidationError, match="deactivated"):
        svc.add_member(ProjectFactory(), actor=Actor.system(), username="gone", role=Role.GUEST)


def test_last_project_admin_can_be_neither_demoted_nor_removed(alice) -> None:
    admin = MembershipFactory(user=alice, role=Role.PROJECT_ADMIN)
    with pytest.raises(ValidationError, match="at least one Project Admin"):
        svc.change_member_role(admin, actor=Actor.system(), role=Role.DEVELOPER)
    with pytest.raises(ValidationError, match="at least one Project Admin"):
        svc.remove_member(admin, actor=Actor.system())
    second = MembershipFactory(project=admin.project, role=Role.PROJECT_ADMIN)
    svc.change_member_role(admin, actor=Actor.system(), role=Role.DEVELOPER)
    svc.remove_member(admin, actor=Actor.system())
    assert list(Membership.objects.all()) == [second]
    assert actions() == [AuditAction.MEMBER_CHANGE, AuditAction.MEMBER_REMOVE]
    change = AuditEvent.objects.get(action=AuditAction.MEMBER_CHANGE)
    assert change.details == {"from": Role.PROJECT_ADMIN, "to": Role.DEVELOPER}
