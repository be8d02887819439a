"""End-to-end in Chromium: a project admin edits a retention rule and the live preview
follows, without anything being saved; adding and moving rules swaps the form in place.
Leaves screenshots of the editor with its preview and of a run page in test-artifacts/."""

from __future__ import annotations

import pytest

from audit.context import Actor
from repositories.models import RetentionRule, RetentionRun, RetentionRunItem
from repositories.services.retention import save_immutable_rules, save_policy
from tests.browser.conftest import ARTIFACTS, log_in
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.retention_runs.helpers import immutable, rows, rule

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:No directory at"),
]


def test_editing_a_rule_updates_the_preview_without_saving(transactional_db, live_server, page):
    project = ProjectFactory(name="acme")
    MembershipFactory(project=project, user=UserFactory(username="ada"), role="project_admin")
    rows(project, "app", {f"v{i}": 10 - i for i in range(1, 7)})
    rows(project, "team-a/api", {"latest": 1, "release-1": 30})
    save_policy(
        project,
        Actor.system("test"),
        enabled=False,
        schedule="",
        allow_empty_repository=False,
        rules=[rule(n=5)],
    )
    save_immutable_rules(
        project,
        Actor.system("test"),
        rules=[immutable(tags=["release-*"])],
        revert_protected_overwrites=False,
    )

    log_in(page, live_server, "ada")
    page.goto(f"{live_server.url}/projects/acme/retention/")
    page.evaluate("window.__noReload = true")

    app = page.locator('details[data-repository="acme/app"] summary')
    app.wait_for()
    assert "1 deleted" in app.inner_text()

    page.fill('input[name="rules-0-n"]', "2")
    page.wait_for_function(
        "document.querySelector('details[data-repository=\"acme/app\"] summary')?.innerText.includes('4 deleted')"
    )
    page.click('details[data-repository="acme/app"] summary')
    assert "deleted: retained by no rule" in page.locator('details[data-repository="acme/app"]').inner_text()
    assert RetentionRule.objects.get().n == 5  # nothing saved

    page.click("#add-rule")
    page.locator("#rule-2").wait_for()
    page.fill('input[name="rules-1-tag_include"]', "v1 v2")
    page.select_option('select[name="rules-1-template"]', "always")
    page.fill('input[name="rules-1-n"]', "")
    page.wait_for_function(
        "document.querySelector('details[data-repository=\"acme/app\"] summary')?.innerText.includes('2 deleted')"
    )
    page.locator(
        'details[data-repository="team-a/api"], details[data-repository="acme/team-a/api"]'
    ).first.click()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "retention-editor.png"), full_page=True)
    assert RetentionRule.objects.count() == 1
    assert page.evaluate("window.__noReload") is True  # all in place

    page.click("#save-policy")
    page.locator("#messages").get_by_text("Retention policy saved.").wait_for()
    assert list(RetentionRule.objects.order_by("position").values_list("template", "n")) == [
        ("latest_pushed_n", 2),
        ("always", None),
    ]

    run = RetentionRun.objects.create(
        project=project, policy={}, status="failed", dry_run=False, message="The registry stopped answering."
    )
    RetentionRunItem.objects.create(
        run=run,
        repository_name="acme/app",
        digest="sha256:" + "a" * 64,
        tags=["v1"],
        action="delete",
        reason="deleted: retained by no rule",
        outcome="deleted",
    )
    RetentionRunItem.objects.create(
        run=run,
        repository_name="acme/app",
        digest="sha256:" + "b" * 64,
        tags=["v2"],
        action="delete",
        reason="deleted: retained by no rule",
        outcome="failed",
        error="registry unreachable",
    )
    page.goto(f"{live_server.url}/projects/acme/retention/runs/{run.pk}/")
    page.screenshot(path=str(ARTIFACTS / "retention-run.png"), full_page=True)


def test_a_repository_past_the_row_budget_lists_its_rows_when_opened(transactional_db, live_server, page, monkeypatch):
    """Past the preview's row budget a repository fetches its rows when opened, for the
    rules as they stand in the form (unsaved), and again after an edit while it is open."""
    from repositories.views import retention_policy

    monkeypatch.setattr(retention_policy, "PREVIEW_ROWS", 1)
    project = ProjectFactory(name="acme")
    MembershipFactory(project=project, user=UserFactory(username="ada"), role="project_admin")
    rows(project, "app", {"v1": 3})
    rows(project, "web", {f"w{i}": 10 - i for i in range(1, 5)})
    save_policy(
        project, Actor.system("test"), enabled=False, schedule="", allow_empty_repository=False, rules=[rule(n=3)]
    )

    log_in(page, live_server, "ada")
    page.goto(f"{live_server.url}/projects/acme/retention/")
    web = page.locator('details[data-repository="acme/web"]')
    web.locator("summary").wait_for()
    assert web.locator(".preview-reason").count() == 0  # not listed until opened

    web.locator("summary").click()
    web.locator(".preview-reason").first.wait_for()
    assert web.locator(".preview-reason").count() == 4
    assert "deleted: retained by no rule" in web.inner_text()  # w1, the oldest, of 4 with n=3

    page.fill('input[name="rules-0-n"]', "1")  # re-rendered while open: listed again, for n=1
    page.wait_for_function(
        "[...document.querySelectorAll('details[data-repository=\"acme/web\"] .preview-reason')]"
        ".filter(e => e.innerText.includes('retained by no rule')).length === 3"
    )
    assert RetentionRule.objects.get().n == 3  # nothing saved
