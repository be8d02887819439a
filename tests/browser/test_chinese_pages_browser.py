"""The main pages in Chinese (zh-Hans) in Chromium: translated, and nothing overflows
or is clipped (Chinese labels are shorter than English but wrap differently).

With WHARF_SCREENSHOT_DIR set, each page is also saved there as zh-<name>.png."""

from __future__ import annotations

import os
import re
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from accounts.models import User
from accounts.registry_auth.keys import create_key_pair
from repositories.models import Project, Tag
from repositories.services import retention, retention_runs
from tests.factories import PASSWORD, UserFactory
from tests.i18n.catalogues import compile_catalogues
from tests.retention_runs.helpers import ACTOR, rule

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:No directory at"),
]

# Elements whose text must fit: buttons, tabs, navigation links, badges, table headers.
CLIPPED = """() => [...document.querySelectorAll('.btn, .nav-link, .badge, th, .dropdown-item, h1, h2')]
  .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1
               && getComputedStyle(e).overflow !== 'visible')
  .map(e => e.tagName + ' ' + e.textContent.trim().slice(0, 40))"""
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
# A navigation link that wraps onto two lines is taller than one line of text.
WRAPPED_NAV = """() => [...document.querySelectorAll('.navbar .nav-link')]
  .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height > 2.2 * parseFloat(getComputedStyle(e).lineHeight))
  .map(e => e.textContent.trim())"""
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _pages() -> dict[str, str]:
    tag = Tag.objects.select_related("artifact").get(repository__name="demo/web", name="v1.2.0")
    # A policy keeping the latest push of `v*` tags, and its dry run: the preview's and the
    # run's reasons are built in Python and must be Chinese too.
    project = Project.objects.get(name="demo")
    retention.save_policy(project, ACTOR, enabled=False, schedule="", allow_empty_repository=False,
                          rules=[rule(n=1, tags=["v*"])])
    run = retention_runs.run_now(project, ACTOR, dry_run=True)
    return {
        "projects": "/projects/",
        "project": "/projects/demo/",
        "repository": "/projects/demo/repositories/web/",
        "artifact": f"/projects/demo/repositories/web/-/artifacts/{tag.artifact.digest}/",
        "retention": "/projects/demo/retention/",
        "retention-run": f"/projects/demo/retention/runs/{run.pk}/",
        "members": "/projects/demo/members/",
        "audit": "/audit/",
        "sync-runs": "/sync/",
        "replication": "/replication/",
    }


@pytest.mark.parametrize("width", [1280, 1000, 800])
def test_the_main_pages_in_chinese_fit_in_chromium(
    transactional_db: Any,
    live_server: Any,
    page: Any,
    wharf_registry: Any,
    width: int,
    settings: Any,
    tmp_path: Path,
) -> None:
    # The token service signs with a key `registry_config` would have made.
    settings.WHARF_TOKEN_KEY, settings.WHARF_TOKEN_CERT = tmp_path / "key.pem", tmp_path / "cert.pem"
    create_key_pair(settings.WHARF_TOKEN_KEY, settings.WHARF_TOKEN_CERT)
    compile_catalogues()
    call_command("seed_demo", stdout=StringIO())
    UserFactory(username="root", is_superuser=True, is_staff=True, language="zh-hans")
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/projects/$"))

    shots = os.environ.get("WHARF_SCREENSHOT_DIR")
    problems = []
    for name, path in _pages().items():
        answer = page.goto(f"{live_server.url}{path}")
        assert answer is not None and answer.status == 200, (path, answer and answer.status)
        assert page.locator("html").get_attribute("lang") == "zh-hans"
        assert CHINESE.search(page.locator("main").inner_text()), path
        if name == "retention":  # the preview comes by htmx; open every repository's reasons
            page.wait_for_selector("#preview-repositories")
            page.evaluate("document.querySelectorAll('details.preview-repository').forEach(d => d.open = true)")
        if (overflow := page.evaluate(OVERFLOW)) > 0:
            problems.append(f"{path}: the page is {overflow}px wider than the window")
        problems += [f"{path}: clipped {what}" for what in page.evaluate(CLIPPED)]
        problems += [f"{path}: navigation link on two lines: {what}" for what in page.evaluate(WRAPPED_NAV)]
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            suffix = "" if width == 1280 else f"-{width}"
            page.screenshot(path=str(Path(shots) / f"zh-{name}{suffix}.png"), full_page=True)
    assert not problems, "\n".join(problems)

    if width == 1280:
        # The account menu's switcher: English, saved on the user, takes effect at once.
        page.goto(f"{live_server.url}/projects/")
        page.click("#user-menu")
        if shots:
            page.screenshot(path=str(Path(shots) / "zh-menu.png"))
        page.click("#language-form button[value=en]")
        page.wait_for_url(re.compile(r"/projects/$"))
        assert page.locator("main h1").inner_text() == "Projects"
        assert page.locator("html").get_attribute("lang") == "en"
        assert User.objects.get(username="root").language == "en"
