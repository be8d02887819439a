"""The Robots tab and the system robots page: what they show and what they do."""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.utils import timezone

from accounts.models import RobotAccount, hash_token_secret
from audit.models import AuditAction, AuditEvent
from tests.conftest import World
from tests.robots.helpers import make_robot, make_system_robot, token_status

CREATE = {"name": "ci", "description": "Builds", "actions": ["pull", "push"], "expiry": "default"}


def _secret_in(html: str) -> str:
    match = re.search(r'id="robot-secret-value" value="([^"]+)"', html)
    assert match, "no secret on the page"
    return match.group(1)


def test_created_robot_secret_is_shown_once_with_quoted_login_commands(world: World) -> None:
    # Clients log in where they pull: the gate's address when Wharf runs one (REGISTRY_PUBLIC_HOST).
    host = settings.REGISTRY_PUBLIC_HOST
    client = world.client("padmin")
    response = client.post("/projects/acme/robots/", CREATE)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    secret = _secret_in(html)
    # The `$` of the login name is single-quoted (HTML-escaped in the page) so a shell keeps it.
    assert f"docker login {host} -u &#x27;robot$acme+ci&#x27;" in html
    assert f"skopeo login --tls-verify=false {host} -u &#x27;robot$acme+ci&#x27;" in html
    robot = RobotAccount.objects.get()
    assert robot.secret_hash == hash_token_secret(secret) and secret not in robot.secret_hash
    again = client.get("/projects/acme/robots/")
    assert secret not in again.content.decode() and "robot-secret-value" not in again.content.decode()
    assert "robot$acme+ci" in again.content.decode()
    assert token_status("robot$acme+ci", secret) == 200


def test_secret_never_goes_into_a_flash_message(world: World) -> None:
    client = world.client("padmin")
    secret = _secret_in(client.post("/projects/acme/robots/", CREATE).content.decode())
    elsewhere = client.get("/projects/acme/").content.decode()
    assert secret not in elsewhere


def test_robot_is_created_with_chosen_permissions_patterns_and_expiry(world: World) -> None:
    data = {
        **CREATE,
        "actions": ["pull", "delete"],
        "repository_patterns": "app-*\n\n  tools/* ",
        "expiry": "days",
    }
    world.client("padmin").post("/projects/acme/robots/", {**data, "expires_in_days": "7"})
    robot = RobotAccount.objects.get()
    assert robot.actions == {"pull", "delete"}
    assert robot.repository_patterns == ["app-*", "tools/*"]
    assert robot.description == "Builds"
    assert abs(robot.expires_at - (timezone.now() + dt.timedelta(days=7))) < dt.timedelta(minutes=1)
    assert robot.created_by == world.users["padmin"]


def test_default_expiry_is_30_days_and_never_means_none(world: World) -> None:
    client = world.client("padmin")
    client.post("/projects/acme/robots/", CREATE)
    client.post("/projects/acme/robots/", {**CREATE, "name": "forever", "expiry": "never"})
    default, forever = RobotAccount.objects.get(name="ci"), RobotAccount.objects.get(name="forever")
    assert abs(default.expires_at - (timezone.now() + dt.timedelta(days=30))) < dt.timedelta(minutes=1)
    assert forever.expires_at is None
    assert "never" in client.get("/projects/acme/robots/").content.decode()


def test_invalid_robot_shows_errors_inline_and_creates_nothing(world: World) -> None:
    client = world.client("padmin")
    response = client.post("/projects/acme/robots/", {**CREATE, "name": "Bad Name!", "actions": []})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Choose at least one permission." in html  # no permission ticked
    assert "robot-secret-value" not in html
    assert not RobotAccount.objects.exists()
    custom = client.post("/projects/acme/robots/", {**CREATE, "expiry": "days"})
    assert custom.status_code == 400 and "Give the number of days" in custom.content.decode()


def test_service_validation_errors_land_on_the_form(world: World) -> None:
    client = world.client("padmin")
    bad_name = client.post("/projects/acme/robots/", {**CREATE, "name": "Bad Name!"})
    assert bad_name.status_code == 400
    assert "Use lowercase letters and digits" in bad_name.content.decode()
    client.post("/projects/acme/robots/", CREATE)
    duplicate = client.post("/projects/acme/robots/", CREATE)
    assert duplicate.status_code == 400
    assert "already has a robot account with this name" in duplicate.content.decode()
    assert RobotAccount.objects.count() == 1


def test_developer_sees_robots_but_no_create_form_or_actions(world: World) -> None:
    make_robot(world, "pull", description="Nightly mirror")
    html = world.client("developer").get("/projects/acme/robots/").content.decode()
    assert "robot$acme+ci" in html and "Nightly mirror" in html
    assert "robot-create-form" not in html and "/regenerate/" not in html


def test_list_shows_patterns_expired_badge_disabled_and_last_used(world: World) -> None:
    robot, _ = make_robot(world, "pull", "push", repository_patterns=["app-*"])
    RobotAccount.objects.filter(pk=robot.pk).update(
        expires_at=timezone.now() - dt.timedelta(days=1),
        enabled=False,
        last_used_at=timezone.make_aware(dt.datetime(2026, 1, 2, 3, 4)),
    )
    html = world.client("padmin").get("/projects/acme/robots/").content.decode()
    assert "<code>app-*</code>" in html
    assert "Expired" in html and "Disabled" in html and "2026-01-02 03:04" in html


def test_disable_and_enable_are_audited_and_disabled_robot_is_refused(world: World) -> None:
    robot, secret = make_robot(world, "pull")
    client = world.client("padmin")
    client.post(f"/projects/acme/robots/{robot.pk}/enabled/", {"enabled": "0"})
    robot.refresh_from_db()
    assert not robot.enabled
    assert token_status("robot$acme+ci", secret) == 401
    client.post(f"/projects/acme/robots/{robot.pk}/enabled/", {"enabled": "1"})
    robot.refresh_from_db()
    assert robot.enabled and token_status("robot$acme+ci", secret) == 200
    robot_events = AuditEvent.objects.filter(target_type="robot", target_name="robot$acme+ci").order_by("id")
    actions = list(robot_events.values_list("action", flat=True))
    assert actions == [
        AuditAction.ROBOT_CREATE,
        AuditAction.ROBOT_DISABLE,
        AuditAction.REGISTRY_TOKEN_REFUSED,  # the disabled robot's token request
        AuditAction.ROBOT_ENABLE,
    ]


def test_regenerate_asks_first_then_shows_the_new_secret_once_and_the_old_one_stops_working(
    world: World,
) -> None:
    robot, old = make_robot(world, "pull")
    client = world.client("padmin")
    confirm = client.get(f"/projects/acme/robots/{robot.pk}/regenerate/", headers={"HX-Request": "true"})
    assert confirm.status_code == 200 and "Regenerate secret" in confirm.content.decode()
    assert "<html" not in confirm.content.decode()  # the dialog alone, for the modal
    assert token_status("robot$acme+ci", old) == 200
    response = client.post(f"/projects/acme/robots/{robot.pk}/regenerate/", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert "modal-dialog" in html and "<html" not in html
    new = _secret_in(html)
    assert new != old
    assert token_status("robot$acme+ci", old) == 401
    assert token_status("robot$acme+ci", new) == 200
    assert new not in client.get("/projects/acme/robots/").content.decode()
    assert (
        AuditEvent.objects.filter(action=AuditAction.ROBOT_REGENERATE, target_name="robot$acme+ci").count()
        == 1
    )


def test_regenerate_without_javascript_is_a_page(world: World) -> None:
    robot, _ = make_robot(world, "pull")
    response = world.client("padmin").post(f"/projects/acme/robots/{robot.pk}/regenerate/")
    assert response.status_code == 200 and "<html" in response.content.decode()
    assert "robot-secret-value" in response.content.decode()


def test_delete_asks_first_then_deletes_and_audits(world: World) -> None:
    robot, secret = make_robot(world, "pull")
    client = world.client("padmin")
    confirm = client.get(f"/projects/acme/robots/{robot.pk}/delete/")
    assert "Delete robot$acme+ci?" in confirm.content.decode()
    assert RobotAccount.objects.filter(pk=robot.pk).exists()
    response = client.post(f"/projects/acme/robots/{robot.pk}/delete/", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response["HX-Redirect"] == "/projects/acme/robots/"
    assert not RobotAccount.objects.filter(pk=robot.pk).exists()
    assert token_status("robot$acme+ci", secret) == 401
    event = AuditEvent.objects.get(action=AuditAction.ROBOT_DELETE)
    assert event.target_name == "robot$acme+ci" and event.project_id == world.private.pk
    assert event.actor_name == "padmin"


def test_create_is_audited_with_the_actor(world: World) -> None:
    world.client("padmin").post("/projects/acme/robots/", CREATE)
    event = AuditEvent.objects.get(action=AuditAction.ROBOT_CREATE)
    assert event.actor_name == "padmin" and event.target_name == "robot$acme+ci"
    assert event.details["actions"] == ["pull", "push"]


def test_robots_tab_appears_for_those_who_may_view_robots(world: World) -> None:
    assert "/projects/acme/robots/" in world.client("developer").get("/projects/acme/").content.decode()
    assert "/projects/acme/robots/" not in world.client("guest").get("/projects/acme/").content.decode()


def test_expired_robot_is_refused_at_the_token_service(world: World) -> None:
    robot, secret = make_robot(world, "pull")
    RobotAccount.objects.filter(pk=robot.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert token_status("robot$acme+ci", secret) == 401


def test_system_admin_creates_a_robot_spanning_projects(world: World) -> None:
    client = world.client("sysadmin")
    response = client.post(
        "/robots/", {"name": "mirror", "actions": ["pull"], "expiry": "never", "projects": ["acme", "pub"]}
    )
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    html = response.content.decode()
    secret = _secret_in(html)
    assert "-u &#x27;robot$mirror&#x27;" in html
    robot = RobotAccount.objects.get()
    assert robot.project is None and robot.project_names == ["acme", "pub"]
    assert token_status("robot$mirror", secret, "repository:acme/app:pull") == 200
    assert secret not in client.get("/robots/").content.decode()


def test_system_robot_needs_known_projects(world: World) -> None:
    response = world.client("sysadmin").post(
        "/robots/", {"name": "mirror", "actions": ["pull"], "expiry": "never", "projects": ["nope"]}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not RobotAccount.objects.exists()


def test_system_page_lists_only_system_robots(world: World) -> None:
    make_robot(world, "pull", name="project-bot")
    make_system_robot(world, "acme", "pub")
    html = world.client("sysadmin").get("/robots/").content.decode()
    assert "robot$mirror" in html and "acme, pub" in html
    assert "project-bot" not in html


def test_project_tab_does_not_list_system_robots(world: World) -> None:
    make_system_robot(world, "acme")
    assert "robot$mirror" not in world.client("padmin").get("/projects/acme/robots/").content.decode()
