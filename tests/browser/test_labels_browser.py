"""End-to-end in Chromium: a developer labels two tags from the tag list's bulk dialog,
filters the list by the label, and sees the chip on the artifact page; the Retention tab
shows the system default with its origin and the advisor beside the preview.
Leaves screenshots in test-artifacts/ (labels-*.png, retention-default.png)."""

from __future__ import annotations

import pytest

from audit.context import Actor
from repositories.models import ArtifactLabel
from repositories.services import labels as label_service
from repositories.services import retention_defaults
from tests.browser.conftest import ARTIFACTS, log_in
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.retention_runs.helpers import rows, rule

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:No directory at"),
]
ACTOR = Actor.system("test")


def _login(page, live_server, username):
    log_in(page, live_server, username)


def test_a_developer_labels_tags_in_bulk_and_filters_by_the_label(transactional_db, live_server, page):
    project = ProjectFactory(name="acme")
    MembershipFactory(project=project, user=UserFactory(username="dev"), role="developer")
    made = rows(project, "app", {"v1": 3, "v2": 2, "v3": 1})
    label_service.create_label(project=None, name="release", color="#1f883d", description="Shipped.", actor=ACTOR)
    label_service.create_label(project=project, name="qa-passed", color="#0969da", actor=ACTOR)

    _login(page, live_server, "dev")
    page.goto(f"{live_server.url}/projects/acme/repositories/app/")
    page.check('input[name="tag"][value="v1"]')
    page.check('input[name="tag"][value="v2"]')
    page.click("#label-selected")
    page.locator("#bulk-label").wait_for()
    page.select_option("#id_bulk_label", label="release (global)")
    page.click("#bulk-label-button")
    page.locator('tr[data-tag="v1"] .tag-labels').wait_for()
    page.locator(".modal-backdrop").wait_for(state="detached")

    assert set(ArtifactLabel.objects.values_list("artifact_id", flat=True)) == {made["v1"].pk, made["v2"].pk}
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "labels-tag-list.png"), full_page=True)

    page.select_option("#id_label", label="release")
    page.wait_for_function("document.querySelectorAll('#tags tbody tr').length === 2")
    assert "v3" not in page.locator("#tags").inner_text()

    page.goto(f"{live_server.url}/projects/acme/repositories/app/-/artifacts/{made['v3'].digest}/")
    page.select_option("#id_add_label", label="qa-passed")
    page.click("#artifact-label-add button[type=submit]")
    page.locator('#artifact-labels [data-label="qa-passed"]').wait_for()
    page.screenshot(path=str(ARTIFACTS / "labels-artifact.png"), full_page=True)
    assert ArtifactLabel.objects.filter(artifact=made["v3"]).exists()


def test_the_retention_tab_shows_the_default_and_the_advisor(transactional_db, live_server, page):
    project = ProjectFactory(name="acme")
    MembershipFactory(project=project, user=UserFactory(username="ada"), role="project_admin")
    rows(project, "app", {f"v{i}": 10 - i for i in range(1, 5)})
    retention_defaults.save_default(ACTOR, enabled=True, schedule="0 3 * * *", allow_empty_repository=False,
                                    rules=[rule(n=2)])

    _login(page, live_server, "ada")
    page.goto(f"{live_server.url}/projects/acme/retention/")
    page.locator("#retention-default").wait_for()
    page.fill('input[name="rules-0-n"]', "1") if page.locator('input[name="rules-0-n"]').count() else page.click("#add-rule")
    page.locator("#retention-advice").wait_for()

    assert "system default" in page.locator("#retention-default").inner_text().lower()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "retention-default.png"), full_page=True)
