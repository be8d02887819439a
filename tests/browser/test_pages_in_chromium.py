"""End-to-end: log in, create a project, add a member with the htmx form."""

from __future__ import annotations

import re

import pytest

from accounts.permissions import Role
from audit.models import AuditAction, AuditEvent
from repositories.models import Membership
from tests.factories import PASSWORD, UserFactory

pytestmark = [
    pytest.mark.browser,
    # live_server builds its handler before the fixture points STATIC_ROOT at a real folder.
    pytest.mark.filterwarnings("ignore:No directory at"),
]


def _log_in(page, live_server, username):
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/projects/$"))


def test_logging_in_through_the_form_lands_on_the_projects_page(transactional_db, live_server, page):
    UserFactory(username="alice")

    page.goto(f"{live_server.url}/projects/")
    assert "/login/" in page.url
    _log_in(page, live_server, "alice")

    assert page.locator("h1").inner_text() == "Projects"
    assert page.locator("#user-menu").inner_text().strip() == "alice"
    assert page.evaluate("typeof htmx") == "object"
    # Bootstrap's stylesheet loaded: without it the navbar would be display: block.
    assert page.evaluate("getComputedStyle(document.querySelector('.navbar')).display") == "flex"
    assert page.evaluate("typeof bootstrap") == "object"
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, target_name="alice").exists()


def test_a_user_creates_a_project_and_becomes_its_admin(transactional_db, live_server, page):
    bob = UserFactory(username="bob")
    _log_in(page, live_server, "bob")

    page.click("text=New project")
    page.fill("#id_name", "Bad Name!")
    page.click("button:has-text('Create project')")
    assert page.locator(".invalid-feedback").first.is_visible()

    page.fill("#id_name", "bobs-app")
    page.fill("#id_description", "Bob's <app>")
    page.check("#id_is_public")
    page.click("button:has-text('Create project')")
    page.wait_for_url(re.compile(r"/projects/bobs-app/$"))

    assert "Project bobs-app created" in page.locator("#messages").inner_text()
    assert "Bob's <app>" in page.locator("main").inner_text()
    assert Membership.objects.get(project__name="bobs-app", user=bob).role == Role.PROJECT_ADMIN


def test_adding_a_member_with_htmx_updates_the_table_in_place_and_is_audited(
    transactional_db, live_server, page
):
    UserFactory(username="root", is_superuser=True, is_staff=True)
    UserFactory(username="carol")
    _log_in(page, live_server, "root")

    page.goto(f"{live_server.url}/projects/new/")
    page.fill("#id_name", "shipyard")
    page.click("button:has-text('Create project')")
    page.wait_for_url(re.compile(r"/projects/shipyard/$"))
    page.click("a.nav-link:has-text('Members')")
    page.wait_for_url(re.compile(r"/members/$"))

    # A marker on window survives only if the page is not reloaded.
    page.evaluate("window.__noReload = true")
    page.fill("#id_username", "nobody")
    page.click("#member-add-form button[type=submit]")
    page.wait_for_selector("#member-add-form .invalid-feedback")
    assert "There is no user called" in page.locator("#member-add-form").inner_text()

    page.fill("#id_username", "carol")
    page.select_option("#id_role", "maintainer")
    page.click("#member-add-form button[type=submit]")
    page.wait_for_selector('tr[data-username="carol"]')

    assert page.evaluate("window.__noReload") is True
    assert page.locator("#members-total").inner_text() == "2"
    assert "carol is now Maintainer" in page.locator("#messages").inner_text()
    assert page.locator('tr[data-username="carol"] select').input_value() == "maintainer"

    page.goto(f"{live_server.url}/audit/")
    table = page.locator("#audit-events").inner_text()
    assert "Project created" in table and "shipyard" in table
    assert "Member added" in table and "carol" in table


def test_the_theme_toggle_is_remembered(transactional_db, live_server, page):
    UserFactory(username="dana")
    _log_in(page, live_server, "dana")
    before = page.evaluate("document.documentElement.dataset.bsTheme")

    page.click("#user-menu")
    page.click("[data-theme-toggle]")
    page.reload()

    after = page.evaluate("document.documentElement.dataset.bsTheme")
    assert {before, after} == {"light", "dark"}
    assert page.evaluate("localStorage.getItem('wharf-theme')") == after


def test_removing_a_member_asks_in_the_modal(transactional_db, live_server, page):
    UserFactory(username="root", is_superuser=True, is_staff=True)
    erin = UserFactory(username="erin")
    from audit.context import Actor
    from repositories.services.projects import add_member, create_project

    project = create_project(actor=Actor.system(), name="dock")
    add_member(project, actor=Actor.system(), username="erin", role="guest")
    _log_in(page, live_server, "root")
    page.goto(f"{live_server.url}/projects/dock/members/")

    page.click('tr[data-username="erin"] a:has-text("Remove")')
    page.wait_for_selector("#modal.show")
    assert "Remove erin?" in page.locator("#modal").inner_text()
    page.click("#modal button:has-text('Remove member')")
    page.wait_for_selector('tr[data-username="erin"]', state="detached")

    assert not Membership.objects.filter(user=erin).exists()
