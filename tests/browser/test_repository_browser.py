"""End-to-end in Chromium: a repository's page against the real registry: copy the
pull command, then delete a tag through the modal and see its row go, in place."""

from __future__ import annotations

import pytest

from repositories.models import Tag
from repositories.services.sync import sync_now
from tests.browser.conftest import log_in
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.support.images import build_image, push

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:No directory at"),
]


def test_a_maintainer_copies_a_pull_command_and_deletes_a_tag_through_the_modal(
    transactional_db, live_server, page, wharf_registry, settings
):
    settings.REGISTRY_PUBLIC_HOST = "registry.example.com"
    project = ProjectFactory(name="acme")
    MembershipFactory(project=project, user=UserFactory(username="mona"), role="maintainer")
    image = build_image()
    push(wharf_registry.client(), "acme/app", image, tag="v1")
    push(wharf_registry.client(), "acme/app", image, tag="v2")
    assert sync_now().status == "succeeded"

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    log_in(page, live_server, "mona")
    page.goto(f"{live_server.url}/projects/acme/repositories/app/")
    page.evaluate("window.__noReload = true")

    copy = page.locator('tr[data-tag="v1"] button.copy-pull')
    assert copy.get_attribute("data-copy-text") == "docker pull registry.example.com/acme/app:v1"
    copy.click()
    assert page.evaluate("navigator.clipboard.readText()") == "docker pull registry.example.com/acme/app:v1"

    page.click('tr[data-tag="v1"] a.tag-delete')
    dialog = page.locator("#modal .modal-dialog")
    dialog.wait_for(state="visible")
    assert "Delete tag v1?" in dialog.inner_text()
    page.click("#confirm-delete-button")

    page.locator('tr[data-tag="v1"]').wait_for(state="detached")
    page.locator("#modal").wait_for(state="hidden")
    assert page.locator('tr[data-tag="v2"]').is_visible()
    assert "Deleted 1 tag from acme/app: v1." in page.locator("#messages").inner_text()
    assert page.evaluate("window.__noReload") is True  # updated in place, no reload
    assert list(Tag.objects.values_list("name", flat=True)) == ["v2"]
    assert wharf_registry.client().tags("acme/app") == ["v2"]
